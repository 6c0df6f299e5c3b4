package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/token"
)

const selectKeyspace = `SELECT name, prefix, default_ttl_ns, max_ttl_ns, allow_permanent, scopes,
	ratelimits, created_at, updated_at, audiences, allow_api_key_header FROM keyspaces`

func scanKeyspace(s scanner) (*token.Keyspace, error) {
	var (
		ks               token.Keyspace
		d                dec
		defTTL, maxTTL   int64
		scopes           []string
		audiences        []string
		limits           []byte
		created, updated *int64
	)
	err := s.Scan(&ks.Name, &ks.Prefix, &defTTL, &maxTTL, &ks.AllowPermanent, &scopes, &limits, &created, &updated, &audiences, &ks.AllowAPIKeyHeader)
	if err != nil {
		return nil, dbErr(err)
	}
	ks.DefaultTTL, ks.MaxTTL = time.Duration(defTTL), time.Duration(maxTTL)
	ks.Scopes = d.strings(scopes)
	ks.RateLimits = d.limits("ratelimits", limits)
	ks.Audiences = d.strings(audiences)
	ks.CreatedAt, ks.UpdatedAt = d.time(created), d.time(updated)
	if d.err != nil {
		return nil, fmt.Errorf("keyspace %s: %w", ks.Name, d.err)
	}
	return &ks, nil
}

// keyspaceArgs returns ks's column values in selectKeyspace order.
func keyspaceArgs(ks *token.Keyspace) ([]any, error) {
	var e enc
	args := []any{ks.Name, ks.Prefix, int64(ks.DefaultTTL), int64(ks.MaxTTL), ks.AllowPermanent,
		e.strings(ks.Scopes), e.limits(ks.RateLimits), e.time(ks.CreatedAt), e.time(ks.UpdatedAt), e.strings(ks.Audiences), ks.AllowAPIKeyHeader}
	if e.err != nil {
		return nil, fmt.Errorf("keyspace %s: %w", ks.Name, e.err)
	}
	return args, nil
}

// CreateKeyspace stores ks and ev in one transaction. It returns an error
// wrapping token.ErrConflict if the name exists.
func (db *DB) CreateKeyspace(ctx context.Context, ks *token.Keyspace, ev *token.AuditEvent) error {
	args, err := keyspaceArgs(ks)
	b := &pgx.Batch{}
	if err == nil {
		b.Queue(`INSERT INTO keyspaces (name, prefix, default_ttl_ns, max_ttl_ns, allow_permanent, scopes,
			ratelimits, created_at, updated_at, audiences, allow_api_key_header) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, args...)
		err = queueAudit(b, ev)
	}
	if err == nil {
		err = execBatch(ctx, db.pool, b)
	}
	if err != nil {
		return fmt.Errorf("postgres: create keyspace %s: %w", ks.Name, err)
	}
	return nil
}

// Keyspace returns the named keyspace, or an error wrapping
// token.ErrNotFound.
func (db *DB) Keyspace(ctx context.Context, name string) (*token.Keyspace, error) {
	ks, err := scanKeyspace(db.pool.QueryRow(ctx, selectKeyspace+" WHERE name = $1", name))
	if err != nil {
		return nil, fmt.Errorf("postgres: get keyspace %s: %w", name, err)
	}
	return ks, nil
}

// ListKeyspaces returns every keyspace ordered by name.
func (db *DB) ListKeyspaces(ctx context.Context) ([]*token.Keyspace, error) {
	out, err := queryAll(ctx, db, selectKeyspace+" ORDER BY name", nil, scanKeyspace)
	if err != nil {
		return nil, fmt.Errorf("postgres: list keyspaces: %w", err)
	}
	return out, nil
}

// UpdateKeyspace reads keyspace name, applies fn and writes the result with
// ev in one transaction that holds the keyspace's row lock; fn cannot
// rename it. An error from fn aborts and is returned as it is; a missing
// keyspace gives an error wrapping token.ErrNotFound without calling fn.
func (db *DB) UpdateKeyspace(ctx context.Context, name string, fn func(*token.Keyspace) error, ev *token.AuditEvent) (*token.Keyspace, error) {
	var ks *token.Keyspace
	var fnErr error
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		ks, err = scanKeyspace(tx.QueryRow(ctx, selectKeyspace+" WHERE name = $1 FOR UPDATE", name))
		if err != nil {
			return err
		}
		if fnErr = fn(ks); fnErr != nil {
			return fnErr
		}
		ks.Name = name
		args, err := keyspaceArgs(ks)
		if err != nil {
			return err
		}
		b := &pgx.Batch{}
		b.Queue(`UPDATE keyspaces SET (prefix, default_ttl_ns, max_ttl_ns, allow_permanent, scopes,
			ratelimits, created_at, updated_at, audiences, allow_api_key_header) = ($2, $3, $4, $5, $6, $7, $8, $9, $10, $11) WHERE name = $1`, args...)
		if err := queueAudit(b, ev); err != nil {
			return err
		}
		return execBatch(ctx, tx, b)
	})
	if fnErr != nil {
		return nil, fnErr
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: update keyspace %s: %w", name, err)
	}
	return ks, nil
}
