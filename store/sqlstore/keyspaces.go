package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/token"
)

const keyspaceColumns = `name, prefix, default_ttl_ns, max_ttl_ns, allow_permanent, scopes,
	ratelimits, created_at, updated_at, audiences, allow_api_key_header, recoverable`

const selectKeyspace = "SELECT " + keyspaceColumns + " FROM keyspaces"

func (db *DB) scanKeyspace(s scanner) (*token.Keyspace, error) {
	var (
		ks                token.Keyspace
		d                 = db.dec()
		defTTL, maxTTL    int64
		scopes, audiences []string
		limits            string
		created, updated  sql.NullInt64
	)
	err := s.Scan(&ks.Name, &ks.Prefix, &defTTL, &maxTTL, &ks.AllowPermanent, db.d.stringsDst(&scopes), &limits,
		&created, &updated, db.d.stringsDst(&audiences), &ks.AllowAPIKeyHeader, &ks.Recoverable)
	if err != nil {
		return nil, err
	}
	ks.DefaultTTL, ks.MaxTTL = time.Duration(defTTL), time.Duration(maxTTL)
	ks.Scopes = nilIfEmpty(scopes)
	ks.RateLimits = d.limits("ratelimits", limits)
	ks.Audiences = nilIfEmpty(audiences)
	ks.CreatedAt, ks.UpdatedAt = d.time(created), d.time(updated)
	if d.err != nil {
		return nil, fmt.Errorf("keyspace %s: %w", ks.Name, d.err)
	}
	return &ks, nil
}

// keyspaceArgs returns ks's column values in keyspaceColumns order.
func (db *DB) keyspaceArgs(ks *token.Keyspace) ([]any, error) {
	e := db.enc()
	args := []any{ks.Name, ks.Prefix, int64(ks.DefaultTTL), int64(ks.MaxTTL), ks.AllowPermanent,
		e.strings(ks.Scopes), e.limits(ks.RateLimits), e.time(ks.CreatedAt), e.time(ks.UpdatedAt),
		e.strings(ks.Audiences), ks.AllowAPIKeyHeader, ks.Recoverable}
	if e.err != nil {
		return nil, fmt.Errorf("keyspace %s: %w", ks.Name, e.err)
	}
	return args, nil
}

// CreateKeyspace stores ks and ev in one transaction. It returns an error
// wrapping token.ErrConflict if the name exists.
func (db *DB) CreateKeyspace(ctx context.Context, ks *token.Keyspace, ev *token.AuditEvent) error {
	args, err := db.keyspaceArgs(ks)
	if err == nil {
		err = db.writeAudited(ctx, "INSERT INTO keyspaces ("+keyspaceColumns+") VALUES ("+placeholders(1, 12)+")", args, ev)
	}
	if err != nil {
		return db.errorf("create keyspace %s: %w", ks.Name, err)
	}
	return nil
}

// Keyspace returns the named keyspace, or an error wrapping
// token.ErrNotFound.
func (db *DB) Keyspace(ctx context.Context, name string) (*token.Keyspace, error) {
	ks, err := db.scanKeyspace(db.e.reader().queryRow(ctx, selectKeyspace+" WHERE name = $1", name))
	if err != nil {
		return nil, db.errorf("get keyspace %s: %w", name, err)
	}
	return ks, nil
}

// ListKeyspaces returns every keyspace ordered by name.
func (db *DB) ListKeyspaces(ctx context.Context) ([]*token.Keyspace, error) {
	out, err := queryAll(ctx, db.e.reader(), selectKeyspace+" ORDER BY name", nil, db.scanKeyspace)
	if err != nil {
		return nil, db.errorf("list keyspaces: %w", err)
	}
	return out, nil
}

// UpdateKeyspace reads keyspace name, applies fn and writes the result with
// ev in one transaction that holds the keyspace's row lock; fn cannot
// rename it. Turning Recoverable off deletes the kept secrets of the
// keyspace's keys in that transaction. An error from fn aborts and is returned as it is; a missing
// keyspace gives an error wrapping token.ErrNotFound without calling fn.
func (db *DB) UpdateKeyspace(ctx context.Context, name string, fn func(*token.Keyspace) error, ev *token.AuditEvent) (*token.Keyspace, error) {
	var ks *token.Keyspace
	var fnErr error
	err := db.e.inTx(ctx, func(q querier) error {
		var err error
		ks, err = db.scanKeyspace(q.queryRow(ctx, selectKeyspace+" WHERE name = $1"+db.d.lockRow, name))
		if err != nil {
			return err
		}
		wasRecoverable := ks.Recoverable
		if fnErr = fn(ks); fnErr != nil {
			return fnErr
		}
		ks.Name = name
		args, err := db.keyspaceArgs(ks)
		if err != nil {
			return err
		}
		b := &batch{}
		b.add(`UPDATE keyspaces SET (prefix, default_ttl_ns, max_ttl_ns, allow_permanent, scopes,
			ratelimits, created_at, updated_at, audiences, allow_api_key_header, recoverable) =
			($2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) WHERE name = $1`, args...)
		if wasRecoverable && !ks.Recoverable {
			b.add(dropKeyspaceSecretsSQL, name)
		}
		if err := db.addAudit(b, ev); err != nil {
			return err
		}
		return q.run(ctx, b)
	})
	if fnErr != nil {
		return nil, fnErr
	}
	if err != nil {
		return nil, db.errorf("update keyspace %s: %w", name, err)
	}
	return ks, nil
}
