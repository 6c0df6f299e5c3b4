package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/latchkey/latchkey/oauth"
	"github.com/latchkey/latchkey/token"
)

// The storage of package oauth (migration 00017): the OAuth client of an
// app, one row per app principal. CreateClient writes the principal, the
// client and the event as one write; UpdateClient holds the client row's
// lock (created first if missing, as UpdateCredentials does), so that
// concurrent updates, on any node, wait for each other.

var _ oauth.Store = (*DB)(nil)

const clientColumns = `app_id, settings, secret_digest, prev_secret_digest, prev_secret_until,
	created_at, updated_at, version`

const selectClient = "SELECT " + clientColumns + " FROM oauth_clients"

// settings returns s as its JSON document (the encoding its field tags
// give: what reads back is what a JSON round trip of s gives).
func (e *enc) settings(s *oauth.Settings) any {
	b, err := json.Marshal(s)
	if err != nil {
		e.fail(fmt.Errorf("encode OAuth settings: %w", err))
		return nil
	}
	return string(b)
}

// settings decodes a stored settings document; the JWKS is compacted where
// the engine does not keep the bytes (jsonb).
func (d *dec) settings(s string) oauth.Settings {
	var out oauth.Settings
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		d.fail(fmt.Errorf("decode OAuth settings: %w", err))
		return out
	}
	if d.d.compactJSON && len(out.JWKS) > 0 {
		var buf bytes.Buffer
		if err := json.Compact(&buf, out.JWKS); err != nil {
			d.fail(fmt.Errorf("decode OAuth settings: %w", err))
		}
		out.JWKS = json.RawMessage(buf.Bytes())
	}
	return out
}

func (db *DB) scanClient(s scanner) (*oauth.Client, error) {
	var (
		c                       oauth.Client
		d                       = db.dec()
		settings                string
		until, created, updated sql.NullInt64
	)
	err := s.Scan(&c.AppID, &settings, &c.SecretDigest, &c.PrevSecretDigest, &until, &created, &updated, &c.Version)
	if err != nil {
		return nil, err
	}
	c.Settings = d.settings(settings)
	c.SecretDigest, c.PrevSecretDigest = nilIfEmpty(c.SecretDigest), nilIfEmpty(c.PrevSecretDigest)
	c.PrevSecretUntil, c.CreatedAt, c.UpdatedAt = d.time(until), d.time(created), d.time(updated)
	if d.err != nil {
		return nil, fmt.Errorf("OAuth client of %s: %w", c.AppID, d.err)
	}
	return &c, nil
}

// clientArgs returns c's column values in clientColumns order.
func (db *DB) clientArgs(c *oauth.Client) ([]any, error) {
	e := db.enc()
	args := []any{c.AppID, e.settings(&c.Settings), nullBytes(c.SecretDigest), nullBytes(c.PrevSecretDigest),
		e.time(c.PrevSecretUntil), e.time(c.CreatedAt), e.time(c.UpdatedAt), c.Version}
	return args, e.err
}

const insertClientSQL = "INSERT INTO oauth_clients (" + clientColumns + ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"

// CreateClient stores the app principal p (of type app), its client c
// (whose AppID must be p's ID; Version as given) and ev, as one write. An
// app that exists, or a client of p's ID that does, gives an error
// wrapping token.ErrConflict, and nothing is written.
func (db *DB) CreateClient(ctx context.Context, p *token.Principal, c *oauth.Client, ev *token.AuditEvent) error {
	err := func() error {
		if p.Type != token.App || c.AppID != p.ID {
			return token.Errorf(token.Invalid, "invalid_request",
				"the OAuth client of app %q cannot belong to %s %q", c.AppID, p.Type, p.ID)
		}
		pargs, err := db.principalArgs(p)
		if err != nil {
			return err
		}
		cargs, err := db.clientArgs(c)
		if err != nil {
			return err
		}
		b := &batch{}
		b.add("INSERT INTO principals ("+principalColumns+") VALUES ("+placeholders(1, 14)+")", pargs...)
		b.add(insertClientSQL, cargs...)
		if err := db.addAudit(b, ev); err != nil {
			return err
		}
		return db.e.write(ctx, b)
	}()
	if err != nil {
		return db.errorf("create OAuth app %s: %w", p.ID, err)
	}
	return nil
}

// Client returns the client of app appID, or an error wrapping
// token.ErrNotFound.
func (db *DB) Client(ctx context.Context, appID string) (*oauth.Client, error) {
	c, err := db.scanClient(db.e.reader().queryRow(ctx, selectClient+" WHERE app_id = $1", appID))
	if err != nil {
		return nil, db.errorf("OAuth client of %s: %w", appID, err)
	}
	return c, nil
}

// UpdateClient reads the client of app appID (a zero Client with AppID set
// and Version 0 if the app has none), applies fn and writes the result
// with ev, in one transaction that holds the app principal's lock and the
// client row's: the row is created first if missing, so that concurrent
// first updates, on any node, wait for each other too. The stored Version
// is the one read plus one; fn cannot change the app ID. A missing app
// principal gives an error wrapping token.ErrNotFound without calling fn;
// an error from fn aborts and is returned as it is.
func (db *DB) UpdateClient(ctx context.Context, appID string, fn func(*oauth.Client) error, ev *token.AuditEvent) (*oauth.Client, error) {
	var c *oauth.Client
	var fnErr error
	err := db.e.inTx(ctx, func(q querier) error {
		var one int
		err := q.queryRow(ctx, "SELECT 1 FROM principals WHERE type = $1 AND id = $2"+db.d.lockShared, string(token.App), appID).Scan(&one)
		if err != nil {
			return err
		}
		n, err := q.exec(ctx, "INSERT INTO oauth_clients (app_id) VALUES ($1) ON CONFLICT (app_id) DO NOTHING", appID)
		if err != nil {
			return err
		}
		if n == 1 {
			// This transaction made (and holds) the row: the app has no
			// client yet.
			c = &oauth.Client{AppID: appID}
		} else if c, err = db.scanClient(q.queryRow(ctx, selectClient+" WHERE app_id = $1"+db.d.lockRow, appID)); err != nil {
			return err
		}
		version := c.Version
		if fnErr = fn(c); fnErr != nil {
			return fnErr
		}
		c.AppID, c.Version = appID, version+1
		args, err := db.clientArgs(c)
		if err != nil {
			return err
		}
		b := &batch{}
		b.add(`UPDATE oauth_clients SET (settings, secret_digest, prev_secret_digest, prev_secret_until,
			created_at, updated_at, version) = ($2, $3, $4, $5, $6, $7, $8) WHERE app_id = $1`, args...)
		if err := db.addAudit(b, ev); err != nil {
			return err
		}
		return q.run(ctx, b)
	})
	if fnErr != nil {
		return nil, fnErr
	}
	if err != nil {
		return nil, db.errorf("update OAuth client of %s: %w", appID, err)
	}
	return c, nil
}

// DeleteClient removes the client of app appID (the app principal stays)
// with ev; an error wrapping token.ErrNotFound, and no event, if it has
// none.
func (db *DB) DeleteClient(ctx context.Context, appID string, ev *token.AuditEvent) error {
	err := db.e.inTx(ctx, func(q querier) error {
		n, err := q.exec(ctx, "DELETE FROM oauth_clients WHERE app_id = $1", appID)
		if err != nil {
			return err
		}
		if n == 0 {
			return token.ErrNotFound
		}
		b := &batch{}
		if err := db.addAudit(b, ev); err != nil {
			return err
		}
		return q.run(ctx, b)
	})
	if err != nil {
		return db.errorf("delete OAuth client of %s: %w", appID, err)
	}
	return nil
}

// ImportClient stores c exactly as given (Version included), with no
// audit event: the write of store/transfer. A client of c's app that
// exists gives an error wrapping token.ErrConflict.
func (db *DB) ImportClient(ctx context.Context, c *oauth.Client) error {
	args, err := db.clientArgs(c)
	if err == nil {
		b := &batch{}
		b.add(insertClientSQL, args...)
		err = db.e.write(ctx, b)
	}
	if err != nil {
		return db.errorf("import OAuth client of %s: %w", c.AppID, err)
	}
	return nil
}
