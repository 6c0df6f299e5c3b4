package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/token"
)

const selectKeyspace = `SELECT name, prefix, default_ttl_ns, max_ttl_ns, allow_permanent, scopes,
	created_at, updated_at, ratelimits, audiences, allow_api_key_header FROM keyspaces`

func scanKeyspace(s scanner) (*token.Keyspace, error) {
	var (
		ks               token.Keyspace
		d                dec
		defTTL, maxTTL   int64
		allowPermanent   int64
		scopes, limits   string
		audiences        string
		apiKeyHeader     int64
		created, updated sql.NullInt64
	)
	if err := s.Scan(&ks.Name, &ks.Prefix, &defTTL, &maxTTL, &allowPermanent, &scopes, &created, &updated, &limits, &audiences, &apiKeyHeader); err != nil {
		return nil, dbErr(err)
	}
	ks.DefaultTTL, ks.MaxTTL = time.Duration(defTTL), time.Duration(maxTTL)
	ks.AllowPermanent = allowPermanent != 0
	ks.Scopes = d.strings("scopes", scopes)
	ks.RateLimits = d.limits("ratelimits", limits)
	ks.Audiences = d.strings("audiences", audiences)
	ks.AllowAPIKeyHeader = apiKeyHeader != 0
	ks.CreatedAt, ks.UpdatedAt = d.time(created), d.time(updated)
	if d.err != nil {
		return nil, fmt.Errorf("keyspace %s: %w", ks.Name, d.err)
	}
	return &ks, nil
}

// CreateKeyspace stores ks and ev in one transaction. It returns an error
// wrapping token.ErrConflict if the name exists.
func (db *DB) CreateKeyspace(ctx context.Context, ks *token.Keyspace, ev *token.AuditEvent) error {
	var e enc
	args := []any{ks.Name, ks.Prefix, int64(ks.DefaultTTL), int64(ks.MaxTTL), boolInt(ks.AllowPermanent),
		e.strings(ks.Scopes), e.time(ks.CreatedAt), e.time(ks.UpdatedAt), e.limits(ks.RateLimits), e.strings(ks.Audiences), boolInt(ks.AllowAPIKeyHeader)}
	err := e.err
	if err == nil {
		err = db.inTx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO keyspaces (name, prefix, default_ttl_ns, max_ttl_ns,
				allow_permanent, scopes, created_at, updated_at, ratelimits, audiences, allow_api_key_header) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
			if err != nil {
				return dbErr(err)
			}
			return insertAudit(ctx, tx, ev)
		})
	}
	if err != nil {
		return fmt.Errorf("sqlite: create keyspace %s: %w", ks.Name, err)
	}
	return nil
}

// Keyspace returns the named keyspace, or an error wrapping
// token.ErrNotFound.
func (db *DB) Keyspace(ctx context.Context, name string) (*token.Keyspace, error) {
	ks, err := scanKeyspace(db.r.QueryRowContext(ctx, selectKeyspace+" WHERE name = ?", name))
	if err != nil {
		return nil, fmt.Errorf("sqlite: get keyspace %s: %w", name, err)
	}
	return ks, nil
}

// ListKeyspaces returns every keyspace ordered by name.
func (db *DB) ListKeyspaces(ctx context.Context) ([]*token.Keyspace, error) {
	rows, err := db.r.QueryContext(ctx, selectKeyspace+" ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("sqlite: list keyspaces: %w", err)
	}
	defer rows.Close()
	var out []*token.Keyspace
	for rows.Next() {
		ks, err := scanKeyspace(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list keyspaces: %w", err)
		}
		out = append(out, ks)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list keyspaces: %w", err)
	}
	return out, nil
}

// UpdateKeyspace reads keyspace name, applies fn and writes the result with
// ev in one write transaction; fn cannot rename it. An error from fn aborts
// and is returned as it is; a missing keyspace gives an error wrapping
// token.ErrNotFound without calling fn.
func (db *DB) UpdateKeyspace(ctx context.Context, name string, fn func(*token.Keyspace) error, ev *token.AuditEvent) (*token.Keyspace, error) {
	var ks *token.Keyspace
	var fnErr error
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if ks, err = scanKeyspace(tx.QueryRowContext(ctx, selectKeyspace+" WHERE name = ?", name)); err != nil {
			return err
		}
		if fnErr = fn(ks); fnErr != nil {
			return fnErr
		}
		ks.Name = name
		var e enc
		args := []any{ks.Prefix, int64(ks.DefaultTTL), int64(ks.MaxTTL), boolInt(ks.AllowPermanent),
			e.strings(ks.Scopes), e.time(ks.CreatedAt), e.time(ks.UpdatedAt), e.limits(ks.RateLimits), e.strings(ks.Audiences), boolInt(ks.AllowAPIKeyHeader), name}
		if e.err != nil {
			return e.err
		}
		_, err = tx.ExecContext(ctx, `UPDATE keyspaces SET prefix = ?, default_ttl_ns = ?, max_ttl_ns = ?,
			allow_permanent = ?, scopes = ?, created_at = ?, updated_at = ?, ratelimits = ?, audiences = ?, allow_api_key_header = ? WHERE name = ?`, args...)
		if err != nil {
			return dbErr(err)
		}
		return insertAudit(ctx, tx, ev)
	})
	if fnErr != nil {
		return nil, fnErr
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: update keyspace %s: %w", name, err)
	}
	return ks, nil
}
