package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/latchkey/latchkey/token"
)

const selectPrincipal = `SELECT type, id, name, permissions, disabled, metadata, created_at,
	updated_at, version, ratelimits FROM principals`

func scanPrincipal(s scanner) (*token.Principal, error) {
	var (
		p                token.Principal
		d                dec
		typ, perms       string
		limits           string
		disabled         int64
		metadata         sql.NullString
		created, updated sql.NullInt64
	)
	if err := s.Scan(&typ, &p.ID, &p.Name, &perms, &disabled, &metadata, &created, &updated, &p.Version, &limits); err != nil {
		return nil, dbErr(err)
	}
	p.Type = token.PrincipalType(typ)
	p.Permissions = d.strings("permissions", perms)
	p.RateLimits = d.limits("ratelimits", limits)
	p.Disabled = disabled != 0
	p.Metadata = d.raw(metadata)
	p.CreatedAt, p.UpdatedAt = d.time(created), d.time(updated)
	if d.err != nil {
		return nil, fmt.Errorf("%s %s: %w", p.Type, p.ID, d.err)
	}
	return &p, nil
}

// principalArgs returns p's columns after type and id, in selectPrincipal
// order.
func principalArgs(p *token.Principal) ([]any, error) {
	var e enc
	args := []any{p.Name, e.strings(p.Permissions), boolInt(p.Disabled), e.raw(p.Metadata),
		e.time(p.CreatedAt), e.time(p.UpdatedAt), p.Version, e.limits(p.RateLimits)}
	return args, e.err
}

// CreatePrincipal stores p and ev in one transaction. It returns an error
// wrapping token.ErrConflict if (type, id) exists.
func (db *DB) CreatePrincipal(ctx context.Context, p *token.Principal, ev *token.AuditEvent) error {
	args, err := principalArgs(p)
	if err == nil {
		err = db.inTx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO principals (type, id, name, permissions, disabled,
				metadata, created_at, updated_at, version, ratelimits) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				append([]any{string(p.Type), p.ID}, args...)...)
			if err != nil {
				return dbErr(err)
			}
			return insertAudit(ctx, tx, ev)
		})
	}
	if err != nil {
		return fmt.Errorf("sqlite: create %s %s: %w", p.Type, p.ID, err)
	}
	return nil
}

// Principal returns the principal, or an error wrapping token.ErrNotFound.
func (db *DB) Principal(ctx context.Context, typ token.PrincipalType, id string) (*token.Principal, error) {
	p, err := scanPrincipal(db.r.QueryRowContext(ctx, selectPrincipal+" WHERE type = ? AND id = ?", string(typ), id))
	if err != nil {
		return nil, fmt.Errorf("sqlite: get %s %s: %w", typ, id, err)
	}
	return p, nil
}

// ListPrincipals returns up to f.Limit principals (token.DefaultPageSize if
// it is not positive) of f.Type, or of every type if it is empty, ordered
// by ID, and the cursor of the next page ("" if none).
func (db *DB) ListPrincipals(ctx context.Context, f token.PrincipalFilter) ([]*token.Principal, string, error) {
	limit := pageLimit(f.Limit)
	rows, err := db.r.QueryContext(ctx, selectPrincipal+` WHERE (?1 = '' OR type = ?1) AND id > ?2
		ORDER BY id, type LIMIT ?3`, string(f.Type), f.After, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("sqlite: list principals: %w", err)
	}
	defer rows.Close()
	var out []*token.Principal
	for rows.Next() {
		p, err := scanPrincipal(rows)
		if err != nil {
			return nil, "", fmt.Errorf("sqlite: list principals: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("sqlite: list principals: %w", err)
	}
	out, next := page(out, limit, func(p *token.Principal) string { return p.ID })
	return out, next, nil
}

// UpdatePrincipal reads the principal, applies fn and writes the result
// with ev in one write transaction. The stored Version is the one read
// plus one; fn cannot change the type or ID. An error from fn aborts and is
// returned as it is; a missing principal gives an error wrapping
// token.ErrNotFound without calling fn.
func (db *DB) UpdatePrincipal(ctx context.Context, typ token.PrincipalType, id string, fn func(*token.Principal) error, ev *token.AuditEvent) (*token.Principal, error) {
	var p *token.Principal
	var fnErr error
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		p, err = scanPrincipal(tx.QueryRowContext(ctx, selectPrincipal+" WHERE type = ? AND id = ?", string(typ), id))
		if err != nil {
			return err
		}
		version := p.Version
		if fnErr = fn(p); fnErr != nil {
			return fnErr
		}
		p.Type, p.ID, p.Version = typ, id, version+1
		args, err := principalArgs(p)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE principals SET name = ?, permissions = ?, disabled = ?,
			metadata = ?, created_at = ?, updated_at = ?, version = ?, ratelimits = ? WHERE type = ? AND id = ?`,
			append(args, string(typ), id)...)
		if err != nil {
			return dbErr(err)
		}
		return insertAudit(ctx, tx, ev)
	})
	if fnErr != nil {
		return nil, fnErr
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: update %s %s: %w", typ, id, err)
	}
	return p, nil
}
