package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/latchkey/latchkey/token"
)

const principalColumns = `type, id, name, permissions, disabled, ratelimits, metadata,
	created_at, updated_at, version, email, email_verified, preferred_username, user_groups`

const selectPrincipal = "SELECT " + principalColumns + " FROM principals"

func (db *DB) scanPrincipal(s scanner) (*token.Principal, error) {
	var (
		p                token.Principal
		d                = db.dec()
		typ              string
		perms, groups    []string
		limits           string
		metadata         sql.NullString
		created, updated sql.NullInt64
	)
	err := s.Scan(&typ, &p.ID, &p.Name, db.d.stringsDst(&perms), &p.Disabled, &limits, &metadata, &created, &updated, &p.Version,
		&p.Email, &p.EmailVerified, &p.PreferredUsername, db.d.stringsDst(&groups))
	if err != nil {
		return nil, err
	}
	p.Type = token.PrincipalType(typ)
	p.Permissions = nilIfEmpty(perms)
	p.Groups = nilIfEmpty(groups)
	p.RateLimits = d.limits("ratelimits", limits)
	p.Metadata = d.raw(metadata)
	p.CreatedAt, p.UpdatedAt = d.time(created), d.time(updated)
	if d.err != nil {
		return nil, fmt.Errorf("%s %s: %w", p.Type, p.ID, d.err)
	}
	return &p, nil
}

// principalArgs returns p's column values in principalColumns order.
func (db *DB) principalArgs(p *token.Principal) ([]any, error) {
	e := db.enc()
	args := []any{string(p.Type), p.ID, p.Name, e.strings(p.Permissions), p.Disabled,
		e.limits(p.RateLimits), e.raw(p.Metadata), e.time(p.CreatedAt), e.time(p.UpdatedAt), p.Version,
		p.Email, p.EmailVerified, p.PreferredUsername, e.strings(p.Groups)}
	if e.err != nil {
		return nil, fmt.Errorf("%s %s: %w", p.Type, p.ID, e.err)
	}
	return args, nil
}

// CreatePrincipal stores p and ev in one transaction. It returns an error
// wrapping token.ErrConflict if (type, id) exists.
func (db *DB) CreatePrincipal(ctx context.Context, p *token.Principal, ev *token.AuditEvent) error {
	args, err := db.principalArgs(p)
	if err == nil {
		err = db.writeAudited(ctx, "INSERT INTO principals ("+principalColumns+") VALUES ("+placeholders(1, 14)+")", args, ev)
	}
	if err != nil {
		return db.errorf("create %s %s: %w", p.Type, p.ID, err)
	}
	return nil
}

// Principal returns the principal, or an error wrapping token.ErrNotFound.
func (db *DB) Principal(ctx context.Context, typ token.PrincipalType, id string) (*token.Principal, error) {
	p, err := db.scanPrincipal(db.e.reader().queryRow(ctx, selectPrincipal+" WHERE type = $1 AND id = $2", string(typ), id))
	if err != nil {
		return nil, db.errorf("get %s %s: %w", typ, id, err)
	}
	return p, nil
}

// ListPrincipals returns up to f.Limit principals (token.DefaultPageSize if
// it is not positive) of f.Type, or of every type if it is empty, ordered
// by ID, and the cursor of the next page ("" if none).
func (db *DB) ListPrincipals(ctx context.Context, f token.PrincipalFilter) ([]*token.Principal, string, error) {
	var w where
	if f.Type != "" {
		w.add("type = " + w.arg(string(f.Type)))
	}
	if f.After != "" {
		w.add("id > " + w.arg(f.After))
	}
	limit := pageLimit(f.Limit)
	q := selectPrincipal + w.String() + " ORDER BY id, type LIMIT " + w.arg(limit+1)
	out, err := queryAll(ctx, db.e.reader(), q, w.args, db.scanPrincipal)
	if err != nil {
		return nil, "", db.errorf("list principals: %w", err)
	}
	out, next := page(out, limit, func(p *token.Principal) string { return p.ID })
	return out, next, nil
}

// UpdatePrincipal reads the principal, applies fn and writes the result
// with ev in one transaction that holds its row lock. The stored Version is
// the one read plus one; fn cannot change the type or ID. An error from fn
// aborts and is returned as it is; a missing principal gives an error
// wrapping token.ErrNotFound without calling fn.
func (db *DB) UpdatePrincipal(ctx context.Context, typ token.PrincipalType, id string, fn func(*token.Principal) error, ev *token.AuditEvent) (*token.Principal, error) {
	var p *token.Principal
	var fnErr error
	err := db.e.inTx(ctx, func(q querier) error {
		var err error
		p, err = db.scanPrincipal(q.queryRow(ctx, selectPrincipal+" WHERE type = $1 AND id = $2"+db.d.lockRow, string(typ), id))
		if err != nil {
			return err
		}
		version := p.Version
		if fnErr = fn(p); fnErr != nil {
			return fnErr
		}
		p.Type, p.ID, p.Version = typ, id, version+1
		args, err := db.principalArgs(p)
		if err != nil {
			return err
		}
		b := &batch{}
		b.add(`UPDATE principals SET (name, permissions, disabled, ratelimits, metadata, created_at,
			updated_at, version, email, email_verified, preferred_username, user_groups) =
			($3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) WHERE type = $1 AND id = $2`, args...)
		if err := db.addAudit(b, ev); err != nil {
			return err
		}
		return q.run(ctx, b)
	})
	if fnErr != nil {
		return nil, fnErr
	}
	if err != nil {
		return nil, db.errorf("update %s %s: %w", typ, id, err)
	}
	return p, nil
}
