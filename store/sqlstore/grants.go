package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/latchkey/latchkey/oauth"
	"github.com/latchkey/latchkey/token"
)

// The storage of the OAuth authorization server's records (package oauth's
// GrantStore, migration 00018): codes, grants, refresh tokens, consents and
// pushed authorization requests. The single-use operations are each one
// conditional statement that only one of concurrent callers, on any node,
// can change a row with: RedeemCode sets a code's used_at where it is NULL,
// RotateRefresh a refresh token's rotated_at where it is NULL (and stores
// the successor in the same transaction, so that a failure leaves the old
// token current). On PostgreSQL (READ COMMITTED) a concurrent UPDATE of the
// same row waits for the first to commit and then finds its condition
// false; SQLite has one writer.

var _ oauth.GrantStore = (*DB)(nil)

// digest returns d for a digest column, failing unless it is a SHA-256.
func (e *enc) digest(what string, d []byte) any {
	if len(d) != sha256.Size {
		e.fail(token.Errorf(token.Invalid, "invalid_request", "the digest of %s has %d bytes, want %d", what, len(d), sha256.Size))
		return nil
	}
	return d
}

// required returns t for a NOT NULL time column, failing for the zero time.
func (e *enc) required(what string, t time.Time) any {
	if t.IsZero() {
		e.fail(token.Errorf(token.Invalid, "invalid_request", "%s has no time", what))
		return nil
	}
	return e.time(t)
}

// Codes.

const codeColumns = `digest, client_id, user_id, session_id, redirect_uri, challenge, scopes, audiences,
	nonce, dpop_jkt, auth_time, amr, created_at, expires_at, used_at, grant_id`

func (db *DB) scanCode(s scanner) (*oauth.Code, error) {
	var (
		c                              oauth.Code
		d                              = db.dec()
		scopes, audiences, amr         []string
		authTime, created, exp, usedAt sql.NullInt64
	)
	err := s.Scan(&c.Digest, &c.ClientID, &c.UserID, &c.SessionID, &c.RedirectURI, &c.Challenge,
		db.d.stringsDst(&scopes), db.d.stringsDst(&audiences), &c.Nonce, &c.DPoPJKT, &authTime,
		db.d.stringsDst(&amr), &created, &exp, &usedAt, &c.GrantID)
	if err != nil {
		return nil, err
	}
	c.Scopes, c.Audiences, c.AMR = nilIfEmpty(scopes), nilIfEmpty(audiences), nilIfEmpty(amr)
	c.AuthTime, c.CreatedAt, c.ExpiresAt, c.UsedAt = d.time(authTime), d.time(created), d.time(exp), d.time(usedAt)
	return &c, nil
}

// CreateCode stores the authorization code c (UsedAt and GrantID as
// given); an existing digest gives an error wrapping token.ErrConflict, and
// a code without an expiry a token.Invalid error.
func (db *DB) CreateCode(ctx context.Context, c *oauth.Code) error {
	e := db.enc()
	args := []any{e.digest("an authorization code", c.Digest), c.ClientID, c.UserID, c.SessionID, c.RedirectURI,
		c.Challenge, e.strings(c.Scopes), e.strings(c.Audiences), c.Nonce, c.DPoPJKT, e.time(c.AuthTime),
		e.strings(c.AMR), e.time(c.CreatedAt), e.required("an authorization code's expiry", c.ExpiresAt),
		e.time(c.UsedAt), c.GrantID}
	err := e.err
	if err == nil {
		b := &batch{}
		b.add("INSERT INTO oauth_codes ("+codeColumns+") VALUES ("+placeholders(1, 16)+")", args...)
		err = db.e.write(ctx, b)
	}
	if err != nil {
		return db.errorf("create authorization code: %w", err)
	}
	return nil
}

// RedeemCode marks the code with digest d used at now in one conditional
// UPDATE … RETURNING (used_at set where it is NULL): of concurrent callers,
// on any node, exactly one changes the row and gets the code. The others
// get the code as stored with an error wrapping oauth.ErrCodeUsed; an
// unknown digest gives an error wrapping token.ErrNotFound.
func (db *DB) RedeemCode(ctx context.Context, d []byte, now time.Time) (*oauth.Code, error) {
	e := db.enc()
	at := e.required("the redemption", now)
	if e.err != nil {
		return nil, db.errorf("redeem authorization code: %w", e.err)
	}
	c, err := db.scanCode(db.e.writer().queryRow(ctx,
		"UPDATE oauth_codes SET used_at = $2 WHERE digest = $1 AND used_at IS NULL RETURNING "+codeColumns,
		nonNilBytes(d), at))
	if err == nil {
		return c, nil
	}
	if !errors.Is(err, token.ErrNotFound) {
		return nil, db.errorf("redeem authorization code: %w", err)
	}
	// Nothing changed: the code was used before, or there is none. Mark
	// it reused: the first redemption, when it records its grant, learns
	// of this one (SetCodeGrant) if this one finds no grant to revoke yet.
	c, err = db.scanCode(db.e.writer().queryRow(ctx,
		"UPDATE oauth_codes SET reused = 1 WHERE digest = $1 RETURNING "+codeColumns, nonNilBytes(d)))
	if err != nil {
		return nil, db.errorf("redeem authorization code: %w", err)
	}
	return c, db.errorf("redeem authorization code: %w", oauth.ErrCodeUsed)
}

// SetCodeGrant records grantID as the grant the code with digest d
// created and reports whether a later redemption marked the code reused
// before; an error wrapping token.ErrNotFound if there is no such code.
// Both are one UPDATE of the row, so of this and a replay's mark, the one
// that comes second sees the other.
func (db *DB) SetCodeGrant(ctx context.Context, d []byte, grantID string) (bool, error) {
	var reused int64
	err := db.e.writer().queryRow(ctx, "UPDATE oauth_codes SET grant_id = $2 WHERE digest = $1 RETURNING reused",
		nonNilBytes(d), grantID).Scan(&reused)
	if err != nil {
		return false, db.errorf("set the grant of an authorization code: %w", err)
	}
	return reused != 0, nil
}

// Grants.

const grantColumns = `id, client_id, user_id, scopes, audiences, dpop_jkt, session_id, auth_time, amr,
	created_at, expires_at`

const selectGrant = "SELECT " + grantColumns + " FROM oauth_grants"

func (db *DB) scanGrant(s scanner) (*oauth.Grant, error) {
	var (
		g                          oauth.Grant
		d                          = db.dec()
		scopes, audiences, amr     []string
		authTime, created, expires sql.NullInt64
	)
	err := s.Scan(&g.ID, &g.ClientID, &g.UserID, db.d.stringsDst(&scopes), db.d.stringsDst(&audiences),
		&g.DPoPJKT, &g.SessionID, &authTime, db.d.stringsDst(&amr), &created, &expires)
	if err != nil {
		return nil, err
	}
	g.Scopes, g.Audiences, g.AMR = nilIfEmpty(scopes), nilIfEmpty(audiences), nilIfEmpty(amr)
	g.AuthTime, g.CreatedAt, g.ExpiresAt = d.time(authTime), d.time(created), d.time(expires)
	return &g, nil
}

const refreshColumns = "digest, grant_id, client_id, user_id, created_at, expires_at, rotated_at, successor"

const selectRefresh = "SELECT " + refreshColumns + " FROM oauth_refresh_tokens"

const insertRefreshSQL = "INSERT INTO oauth_refresh_tokens (" + refreshColumns + ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"

func (db *DB) scanRefresh(s scanner) (*oauth.RefreshToken, error) {
	var (
		rt                    oauth.RefreshToken
		d                     = db.dec()
		created, exp, rotated sql.NullInt64
	)
	err := s.Scan(&rt.Digest, &rt.GrantID, &rt.ClientID, &rt.UserID, &created, &exp, &rotated, &rt.Successor)
	if err != nil {
		return nil, err
	}
	rt.Successor = nilIfEmpty(rt.Successor)
	rt.CreatedAt, rt.ExpiresAt, rt.RotatedAt = d.time(created), d.time(exp), d.time(rotated)
	return &rt, nil
}

// refreshArgs returns rt's column values in refreshColumns order.
func (e *enc) refreshArgs(rt *oauth.RefreshToken) []any {
	return []any{e.digest("a refresh token", rt.Digest), rt.GrantID, rt.ClientID, rt.UserID,
		e.time(rt.CreatedAt), e.time(rt.ExpiresAt), e.time(rt.RotatedAt), nullBytes(rt.Successor)}
}

// CreateGrant stores the grant record g and, unless rt is nil, its first
// refresh token, as one write: both or neither. An existing grant ID or
// refresh token digest gives an error wrapping token.ErrConflict.
func (db *DB) CreateGrant(ctx context.Context, g *oauth.Grant, rt *oauth.RefreshToken) error {
	e := db.enc()
	b := &batch{}
	b.add("INSERT INTO oauth_grants ("+grantColumns+") VALUES ("+placeholders(1, 11)+")",
		g.ID, g.ClientID, g.UserID, e.strings(g.Scopes), e.strings(g.Audiences), g.DPoPJKT, g.SessionID,
		e.time(g.AuthTime), e.strings(g.AMR), e.time(g.CreatedAt), e.time(g.ExpiresAt))
	if rt != nil {
		b.add(insertRefreshSQL, e.refreshArgs(rt)...)
	}
	err := e.err
	if err == nil {
		err = db.e.write(ctx, b)
	}
	if err != nil {
		return db.errorf("create grant %s: %w", g.ID, err)
	}
	return nil
}

// Grant returns the grant record id, or an error wrapping
// token.ErrNotFound.
func (db *DB) Grant(ctx context.Context, id string) (*oauth.Grant, error) {
	g, err := db.scanGrant(db.e.reader().queryRow(ctx, selectGrant+" WHERE id = $1", id))
	if err != nil {
		return nil, db.errorf("grant %s: %w", id, err)
	}
	return g, nil
}

// defaultGrantPage is the page size of Grants for a zero Limit.
const defaultGrantPage = 100

// Grants lists the grant records of f's user and/or client with IDs after
// f.After, by ID, at most f.Limit (100 for 0) of them. A filter with
// neither a user nor a client gives a token.Invalid error.
func (db *DB) Grants(ctx context.Context, f oauth.GrantFilter) ([]*oauth.Grant, error) {
	if f.UserID == "" && f.ClientID == "" {
		return nil, db.errorf("list grants: %w", token.Errorf(token.Invalid, "invalid_request",
			"a listing of grants needs a user or a client"))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultGrantPage
	}
	var w where
	if f.UserID != "" {
		w.add("user_id = " + w.arg(f.UserID))
	}
	if f.ClientID != "" {
		w.add("client_id = " + w.arg(f.ClientID))
	}
	if f.SessionID != "" {
		w.add("session_id = " + w.arg(f.SessionID))
	}
	if f.After != "" {
		w.add("id > " + w.arg(f.After))
	}
	q := selectGrant + w.String() + " ORDER BY id LIMIT " + w.arg(limit)
	out, err := queryAll(ctx, db.e.reader(), q, w.args, db.scanGrant)
	if err != nil {
		return nil, db.errorf("list grants: %w", err)
	}
	return out, nil
}

// DeleteGrants deletes the grant records ids and all their refresh
// tokens, as one write; IDs without a record are skipped.
func (db *DB) DeleteGrants(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	b := &batch{}
	_ = chunks(len(ids), func(lo, hi int) error {
		args := make([]any, hi-lo)
		for i, id := range ids[lo:hi] {
			args[i] = id
		}
		in := "(" + placeholders(1, hi-lo) + ")"
		b.add("DELETE FROM oauth_refresh_tokens WHERE grant_id IN "+in, args...)
		b.add("DELETE FROM oauth_grants WHERE id IN "+in, args...)
		return nil
	})
	if err := db.e.write(ctx, b); err != nil {
		return db.errorf("delete grants %s: %w", strings.Join(ids, ", "), err)
	}
	return nil
}

// Refresh tokens.

// RefreshToken returns the refresh token with digest d, current or not,
// or an error wrapping token.ErrNotFound.
func (db *DB) RefreshToken(ctx context.Context, d []byte) (*oauth.RefreshToken, error) {
	rt, err := db.scanRefresh(db.e.reader().queryRow(ctx, selectRefresh+" WHERE digest = $1", nonNilBytes(d)))
	if err != nil {
		return nil, db.errorf("refresh token: %w", err)
	}
	return rt, nil
}

// RotateRefresh marks the refresh token with digest old rotated at now
// with the sealed answer successor and stores next (unless nil), in one
// transaction whose first statement is the compare-and-set: an UPDATE of
// old where rotated_at is NULL. If it changes nothing, the transaction
// ends with an error wrapping oauth.ErrRotated (token.ErrNotFound if old
// is unknown) and nothing changed; any later failure (next's digest
// exists: token.ErrConflict) rolls the rotation back, leaving old current.
func (db *DB) RotateRefresh(ctx context.Context, old []byte, now time.Time, successor []byte, next *oauth.RefreshToken) error {
	e := db.enc()
	at := e.required("the rotation", now)
	var nextArgs []any
	if next != nil {
		nextArgs = e.refreshArgs(next)
	}
	err := e.err
	if err == nil {
		err = db.e.inTx(ctx, func(q querier) error {
			n, err := q.exec(ctx, "UPDATE oauth_refresh_tokens SET rotated_at = $2, successor = $3 WHERE digest = $1 AND rotated_at IS NULL",
				nonNilBytes(old), at, nullBytes(successor))
			if err != nil {
				return err
			}
			if n == 0 {
				var one int
				if err := q.queryRow(ctx, "SELECT 1 FROM oauth_refresh_tokens WHERE digest = $1", nonNilBytes(old)).Scan(&one); err != nil {
					return err
				}
				return oauth.ErrRotated
			}
			if next == nil {
				return nil
			}
			_, err = q.exec(ctx, insertRefreshSQL, nextArgs...)
			return err
		})
	}
	if err != nil {
		return db.errorf("rotate refresh token: %w", err)
	}
	return nil
}

// Consents.

const consentColumns = "user_id, client_id, scopes, created_at, updated_at"

const selectConsent = "SELECT " + consentColumns + " FROM oauth_consents"

func (db *DB) scanConsent(s scanner) (*oauth.Consent, error) {
	var (
		c                oauth.Consent
		d                = db.dec()
		scopes           []string
		created, updated sql.NullInt64
	)
	if err := s.Scan(&c.UserID, &c.ClientID, db.d.stringsDst(&scopes), &created, &updated); err != nil {
		return nil, err
	}
	c.Scopes = nilIfEmpty(scopes)
	c.CreatedAt, c.UpdatedAt = d.time(created), d.time(updated)
	return &c, nil
}

// Consent returns the consent of user userID to client clientID, or an
// error wrapping token.ErrNotFound.
func (db *DB) Consent(ctx context.Context, userID, clientID string) (*oauth.Consent, error) {
	c, err := db.scanConsent(db.e.reader().queryRow(ctx, selectConsent+" WHERE user_id = $1 AND client_id = $2", userID, clientID))
	if err != nil {
		return nil, db.errorf("consent of %s to %s: %w", userID, clientID, err)
	}
	return c, nil
}

// PutConsent stores c, replacing every field of the consent of its user
// to its client if there is one, in one INSERT … ON CONFLICT.
func (db *DB) PutConsent(ctx context.Context, c *oauth.Consent) error {
	e := db.enc()
	args := []any{c.UserID, c.ClientID, e.strings(c.Scopes), e.time(c.CreatedAt), e.time(c.UpdatedAt)}
	err := e.err
	if err == nil {
		b := &batch{}
		b.add("INSERT INTO oauth_consents ("+consentColumns+") VALUES ($1, $2, $3, $4, $5)"+
			` ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes,
			created_at = excluded.created_at, updated_at = excluded.updated_at`, args...)
		err = db.e.write(ctx, b)
	}
	if err != nil {
		return db.errorf("put consent of %s to %s: %w", c.UserID, c.ClientID, err)
	}
	return nil
}

// DeleteConsent deletes the consent of user userID to client clientID;
// nil if there was none.
func (db *DB) DeleteConsent(ctx context.Context, userID, clientID string) error {
	if _, err := db.e.writer().exec(ctx, "DELETE FROM oauth_consents WHERE user_id = $1 AND client_id = $2", userID, clientID); err != nil {
		return db.errorf("delete consent of %s to %s: %w", userID, clientID, err)
	}
	return nil
}

// Consents returns the consents of user userID by client ID.
func (db *DB) Consents(ctx context.Context, userID string) ([]*oauth.Consent, error) {
	out, err := queryAll(ctx, db.e.reader(), selectConsent+" WHERE user_id = $1 ORDER BY client_id", []any{userID}, db.scanConsent)
	if err != nil {
		return nil, db.errorf("consents of %s: %w", userID, err)
	}
	return out, nil
}

// Pushed authorization requests.

// PushRequest stores the pushed request p; an existing digest gives an
// error wrapping token.ErrConflict, and one without an expiry a
// token.Invalid error.
func (db *DB) PushRequest(ctx context.Context, p *oauth.PushedRequest) error {
	e := db.enc()
	args := []any{e.digest("a request_uri", p.Digest), p.ClientID, nonNilBytes(p.Params), e.required("a pushed request's expiry", p.ExpiresAt)}
	err := e.err
	if err == nil {
		b := &batch{}
		b.add("INSERT INTO oauth_pushed_requests (digest, client_id, params, expires_at) VALUES ($1, $2, $3, $4)", args...)
		err = db.e.write(ctx, b)
	}
	if err != nil {
		return db.errorf("push authorization request: %w", err)
	}
	return nil
}

// PushedRequest returns the pushed request with digest d if it has not
// expired at now (ExpiresAt after now), or an error wrapping
// token.ErrNotFound.
func (db *DB) PushedRequest(ctx context.Context, d []byte, now time.Time) (*oauth.PushedRequest, error) {
	var (
		p   oauth.PushedRequest
		exp sql.NullInt64
		dc  = db.dec()
	)
	err := db.e.reader().queryRow(ctx,
		"SELECT digest, client_id, params, expires_at FROM oauth_pushed_requests WHERE digest = $1 AND expires_at > $2",
		nonNilBytes(d), lowerBound(now)).Scan(&p.Digest, &p.ClientID, &p.Params, &exp)
	if err != nil {
		return nil, db.errorf("pushed authorization request: %w", err)
	}
	p.ExpiresAt = dc.time(exp)
	return &p, nil
}

// DeletePushedRequest deletes the pushed request with digest d in one
// DELETE: of concurrent callers, on any node, one deletes it and the
// others get an error wrapping token.ErrNotFound, as does a digest that
// was never stored or was pruned.
func (db *DB) DeletePushedRequest(ctx context.Context, d []byte) error {
	n, err := db.e.writer().exec(ctx, "DELETE FROM oauth_pushed_requests WHERE digest = $1", nonNilBytes(d))
	if err == nil && n == 0 {
		err = token.ErrNotFound
	}
	if err != nil {
		return db.errorf("delete pushed authorization request: %w", err)
	}
	return nil
}

// Pruning.

// PruneGrants deletes the codes and pushed requests that expired before
// before and the refresh tokens whose idle end is before it, then clears
// the sealed successors of refresh tokens rotated before graceEnd, in one
// transaction, and returns how many rows it deleted or changed. Grant
// records are left to DeleteGrants: their keys decide.
func (db *DB) PruneGrants(ctx context.Context, before, graceEnd time.Time) (int64, error) {
	var total int64
	err := db.e.inTx(ctx, func(q querier) error {
		total = 0
		for _, s := range []struct {
			q   string
			arg int64
		}{
			{"DELETE FROM oauth_codes WHERE expires_at < $1", lowerBound(before)},
			{"DELETE FROM oauth_pushed_requests WHERE expires_at < $1", lowerBound(before)},
			{"DELETE FROM oauth_refresh_tokens WHERE expires_at < $1", lowerBound(before)},
			{"UPDATE oauth_refresh_tokens SET successor = NULL WHERE successor IS NOT NULL AND rotated_at < $1", lowerBound(graceEnd)},
		} {
			n, err := q.exec(ctx, s.q, s.arg)
			if err != nil {
				return err
			}
			total += n
		}
		return nil
	})
	if err != nil {
		return 0, db.errorf("prune grants: %w", err)
	}
	return total, nil
}
