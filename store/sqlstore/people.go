package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/people"
	"github.com/latchkey/latchkey/token"
)

// The storage of package people (migration 00016): credentials, recovery
// codes, passkeys, sessions, WebAuthn challenges and the sign-in throttle.
// The single-use operations (UseTOTPStep, UseRecoveryCode, TakeChallenge)
// are each one conditional statement, so that exactly one of concurrent
// callers, on any node, wins; the read-modify-writes (UpdateCredentials,
// UpdatePasskey, AddSessionFactor, RecordFailure) hold the row's lock.

var _ people.Store = (*DB)(nil)

// Credentials.

const credentialColumns = `user_id, password_hash, password_changed_at, totp_sealed, totp_confirmed,
	totp_created_at, totp_last_step, webauthn_id, source, external_id, updated_at, version`

const selectCredentials = "SELECT " + credentialColumns + " FROM user_credentials"

func (db *DB) scanCredentials(s scanner) (*people.Credentials, error) {
	var (
		c                               people.Credentials
		d                               = db.dec()
		pwChanged, totpCreated, updated sql.NullInt64
	)
	err := s.Scan(&c.UserID, &c.PasswordHash, &pwChanged, &c.TOTPSealed, &c.TOTPConfirmed,
		&totpCreated, &c.TOTPLastStep, &c.WebAuthnID, &c.Source, &c.ExternalID, &updated, &c.Version)
	if err != nil {
		return nil, err
	}
	c.TOTPSealed, c.WebAuthnID = nilIfEmpty(c.TOTPSealed), nilIfEmpty(c.WebAuthnID)
	c.PasswordChangedAt, c.TOTPCreatedAt, c.UpdatedAt = d.time(pwChanged), d.time(totpCreated), d.time(updated)
	return &c, nil
}

// Credentials returns the user's credentials, or an error wrapping
// token.ErrNotFound if the user never had any.
func (db *DB) Credentials(ctx context.Context, userID string) (*people.Credentials, error) {
	c, err := db.scanCredentials(db.e.reader().queryRow(ctx, selectCredentials+" WHERE user_id = $1", userID))
	if err != nil {
		return nil, db.errorf("credentials of %s: %w", userID, err)
	}
	return c, nil
}

// UpdateCredentials reads the user's credentials (a zero record with
// UserID set and Version 0 if there is none), applies fn and writes the
// result with ev, in one transaction that holds the row's lock: the row is
// created first if missing, so that concurrent first updates, on any node,
// wait for each other too. The stored Version is the one read plus one; fn
// cannot change the user ID. An error from fn aborts and is returned as it
// is; a WebAuthnID another user has gives an error wrapping
// token.ErrConflict.
func (db *DB) UpdateCredentials(ctx context.Context, userID string, fn func(*people.Credentials) error, ev *token.AuditEvent) (*people.Credentials, error) {
	var c *people.Credentials
	var fnErr error
	err := db.e.inTx(ctx, func(q querier) error {
		if _, err := q.exec(ctx, "INSERT INTO user_credentials (user_id) VALUES ($1) ON CONFLICT (user_id) DO NOTHING", userID); err != nil {
			return err
		}
		var err error
		if c, err = db.scanCredentials(q.queryRow(ctx, selectCredentials+" WHERE user_id = $1"+db.d.lockRow, userID)); err != nil {
			return err
		}
		version := c.Version
		if fnErr = fn(c); fnErr != nil {
			return fnErr
		}
		c.UserID, c.Version = userID, version+1
		e := db.enc()
		args := []any{userID, c.PasswordHash, e.time(c.PasswordChangedAt), nullBytes(c.TOTPSealed), c.TOTPConfirmed,
			e.time(c.TOTPCreatedAt), c.TOTPLastStep, nullBytes(c.WebAuthnID), c.Source, c.ExternalID, e.time(c.UpdatedAt), c.Version}
		if e.err != nil {
			return e.err
		}
		b := &batch{}
		b.add(`UPDATE user_credentials SET (password_hash, password_changed_at, totp_sealed, totp_confirmed,
			totp_created_at, totp_last_step, webauthn_id, source, external_id, updated_at, version) =
			($2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) WHERE user_id = $1`, args...)
		if err := db.addAudit(b, ev); err != nil {
			return err
		}
		return q.run(ctx, b)
	})
	if fnErr != nil {
		return nil, fnErr
	}
	if err != nil {
		return nil, db.errorf("update credentials of %s: %w", userID, err)
	}
	return c, nil
}

// UseTOTPStep records step as the user's last accepted TOTP step if it is
// later than the recorded one, in one conditional UPDATE: of concurrent
// callers with the same step, on any node, exactly one changes the row and
// gets true. A user without credentials gets false.
func (db *DB) UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error) {
	n, err := db.e.writer().exec(ctx,
		"UPDATE user_credentials SET totp_last_step = $2 WHERE user_id = $1 AND totp_last_step < $2", userID, step)
	if err != nil {
		return false, db.errorf("use TOTP step of %s: %w", userID, err)
	}
	return n == 1, nil
}

// CredentialsByWebAuthnID returns the credentials whose WebAuthnID is id,
// or an error wrapping token.ErrNotFound.
func (db *DB) CredentialsByWebAuthnID(ctx context.Context, id []byte) (*people.Credentials, error) {
	c, err := db.scanCredentials(db.e.reader().queryRow(ctx, selectCredentials+" WHERE webauthn_id = $1", nonNilBytes(id)))
	if err != nil {
		return nil, db.errorf("credentials by WebAuthn ID: %w", err)
	}
	return c, nil
}

// Recovery codes.

// SetRecoveryCodes replaces the user's recovery codes by digests (none to
// remove them all), with ev, as one write. A digest given twice gives an
// error wrapping token.ErrConflict.
func (db *DB) SetRecoveryCodes(ctx context.Context, userID string, digests [][]byte, ev *token.AuditEvent) error {
	b := &batch{}
	b.add("DELETE FROM recovery_codes WHERE user_id = $1", userID)
	for lo := 0; lo < len(digests); lo += chunkRows {
		hi := min(lo+chunkRows, len(digests))
		args := make([]any, 0, 2*(hi-lo))
		for _, d := range digests[lo:hi] {
			args = append(args, userID, nonNilBytes(d))
		}
		b.add("INSERT INTO recovery_codes (user_id, digest) VALUES "+values(hi-lo, "", ""), args...)
	}
	err := db.addAudit(b, ev)
	if err == nil {
		err = db.e.write(ctx, b)
	}
	if err != nil {
		return db.errorf("set recovery codes of %s: %w", userID, err)
	}
	return nil
}

// UseRecoveryCode marks the user's unused code with digest d as used (at
// the store's clock) with ev, in one transaction whose conditional UPDATE
// lets exactly one of concurrent callers, on any node, win; false, and no
// event, if there is no such unused code.
func (db *DB) UseRecoveryCode(ctx context.Context, userID string, d []byte, ev *token.AuditEvent) (bool, error) {
	var used bool
	err := db.e.inTx(ctx, func(q querier) error {
		n, err := q.exec(ctx, "UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND digest = $2 AND used_at IS NULL",
			userID, nonNilBytes(d), time.Now().UnixNano())
		if err != nil || n == 0 {
			return err
		}
		used = true
		b := &batch{}
		if err := db.addAudit(b, ev); err != nil {
			return err
		}
		return q.run(ctx, b)
	})
	if err != nil {
		return false, db.errorf("use recovery code of %s: %w", userID, err)
	}
	return used, nil
}

// RecoveryCodesLeft counts the user's unused recovery codes.
func (db *DB) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	var n int
	err := db.e.reader().queryRow(ctx, "SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL", userID).Scan(&n)
	if err != nil {
		return 0, db.errorf("count recovery codes of %s: %w", userID, err)
	}
	return n, nil
}

// Passkeys.

const passkeyColumns = "id, user_id, name, credential, created_at, last_used_at"

const selectPasskey = "SELECT " + passkeyColumns + " FROM passkeys"

func (db *DB) scanPasskey(s scanner) (*people.Passkey, error) {
	var (
		p             people.Passkey
		d             = db.dec()
		created, used sql.NullInt64
	)
	if err := s.Scan(&p.ID, &p.UserID, &p.Name, &p.Credential, &created, &used); err != nil {
		return nil, err
	}
	p.CreatedAt, p.LastUsedAt = d.time(created), d.time(used)
	return &p, nil
}

// passkeyArgs returns p's column values in passkeyColumns order.
func (db *DB) passkeyArgs(p *people.Passkey) ([]any, error) {
	e := db.enc()
	args := []any{nonNilBytes(p.ID), p.UserID, p.Name, nonNilBytes(p.Credential), e.time(p.CreatedAt), e.time(p.LastUsedAt)}
	return args, e.err
}

// AddPasskey stores p with ev; an error wrapping token.ErrConflict if its
// ID exists.
func (db *DB) AddPasskey(ctx context.Context, p *people.Passkey, ev *token.AuditEvent) error {
	args, err := db.passkeyArgs(p)
	if err == nil {
		err = db.writeAudited(ctx, "INSERT INTO passkeys ("+passkeyColumns+") VALUES ("+placeholders(1, 6)+")", args, ev)
	}
	if err != nil {
		return db.errorf("add passkey of %s: %w", p.UserID, err)
	}
	return nil
}

// Passkeys returns the user's passkeys, oldest first.
func (db *DB) Passkeys(ctx context.Context, userID string) ([]*people.Passkey, error) {
	out, err := queryAll(ctx, db.e.reader(), selectPasskey+" WHERE user_id = $1 ORDER BY created_at, id", []any{userID}, db.scanPasskey)
	if err != nil {
		return nil, db.errorf("passkeys of %s: %w", userID, err)
	}
	return out, nil
}

// Passkey returns the passkey with credential ID id, or an error wrapping
// token.ErrNotFound.
func (db *DB) Passkey(ctx context.Context, id []byte) (*people.Passkey, error) {
	p, err := db.scanPasskey(db.e.reader().queryRow(ctx, selectPasskey+" WHERE id = $1", nonNilBytes(id)))
	if err != nil {
		return nil, db.errorf("get passkey: %w", err)
	}
	return p, nil
}

// UpdatePasskey reads passkey id, applies fn and writes the result with ev
// (may be nil), in one transaction that holds the row's lock; fn cannot
// change the ID or the user. An error from fn aborts and is returned as it
// is; a missing passkey gives an error wrapping token.ErrNotFound without
// calling fn.
func (db *DB) UpdatePasskey(ctx context.Context, id []byte, fn func(*people.Passkey) error, ev *token.AuditEvent) (*people.Passkey, error) {
	var p *people.Passkey
	var fnErr error
	err := db.e.inTx(ctx, func(q querier) error {
		var err error
		if p, err = db.scanPasskey(q.queryRow(ctx, selectPasskey+" WHERE id = $1"+db.d.lockRow, nonNilBytes(id))); err != nil {
			return err
		}
		userID := p.UserID
		if fnErr = fn(p); fnErr != nil {
			return fnErr
		}
		p.ID, p.UserID = id, userID
		args, err := db.passkeyArgs(p)
		if err != nil {
			return err
		}
		b := &batch{}
		b.add("UPDATE passkeys SET (user_id, name, credential, created_at, last_used_at) = ($2, $3, $4, $5, $6) WHERE id = $1", args...)
		if err := db.addAudit(b, ev); err != nil {
			return err
		}
		return q.run(ctx, b)
	})
	if fnErr != nil {
		return nil, fnErr
	}
	if err != nil {
		return nil, db.errorf("update passkey: %w", err)
	}
	return p, nil
}

// DeletePasskey removes the user's passkey id with ev; an error wrapping
// token.ErrNotFound, and no event, if the user has no such passkey (another
// user's is left alone).
func (db *DB) DeletePasskey(ctx context.Context, userID string, id []byte, ev *token.AuditEvent) error {
	err := db.e.inTx(ctx, func(q querier) error {
		n, err := q.exec(ctx, "DELETE FROM passkeys WHERE id = $1 AND user_id = $2", nonNilBytes(id), userID)
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
		return db.errorf("delete passkey of %s: %w", userID, err)
	}
	return nil
}

// Sessions.

const sessionColumns = `id, digest, user_id, pending, factors, ip, user_agent, created_at, last_seen_at,
	expires_at, idle_expires_at, ended_at, end_reason`

const selectSession = "SELECT " + sessionColumns + " FROM sessions"

// storedFactor is a session's factor as stored in a JSON array: its time
// in Unix nanoseconds, as every stored time.
type storedFactor struct {
	Method string `json:"method"`
	AtNS   int64  `json:"at_ns"`
}

// factors returns fs as a JSON array; nil is "[]".
func (e *enc) factors(fs []people.Factor) any {
	out := make([]storedFactor, len(fs))
	for i, f := range fs {
		at, _ := e.time(f.At).(int64)
		out[i] = storedFactor{f.Method, at}
	}
	b, err := json.Marshal(out)
	e.fail(err)
	return string(b)
}

// factors decodes a JSON array of factors; an empty one is nil.
func (d *dec) factors(s string) []people.Factor {
	var stored []storedFactor
	if err := json.Unmarshal([]byte(s), &stored); err != nil {
		d.fail(fmt.Errorf("decode factors: %w", err))
	}
	if len(stored) == 0 {
		return nil
	}
	fs := make([]people.Factor, len(stored))
	for i, f := range stored {
		fs[i] = people.Factor{Method: f.Method, At: d.time(sql.NullInt64{Int64: f.AtNS, Valid: f.AtNS != 0})}
	}
	return fs
}

func (db *DB) scanSession(s scanner) (*people.Session, error) {
	var (
		ss                              people.Session
		d                               = db.dec()
		factors                         string
		created, seen, exp, idle, ended sql.NullInt64
	)
	err := s.Scan(&ss.ID, &ss.Digest, &ss.UserID, &ss.Pending, &factors, &ss.IP, &ss.UserAgent,
		&created, &seen, &exp, &idle, &ended, &ss.EndReason)
	if err != nil {
		return nil, err
	}
	ss.Factors = d.factors(factors)
	ss.CreatedAt, ss.LastSeenAt, ss.ExpiresAt = d.time(created), d.time(seen), d.time(exp)
	ss.IdleExpiresAt, ss.EndedAt = d.time(idle), d.time(ended)
	if d.err != nil {
		return nil, fmt.Errorf("session %s: %w", ss.ID, d.err)
	}
	return &ss, nil
}

// endSessionSQL ends session $1 at $2 with reason $3 if it is live (not
// ended).
const endSessionSQL = "UPDATE sessions SET ended_at = $2, end_reason = $3 WHERE id = $1 AND ended_at IS NULL"

// CreateSession stores s with ev (nil for a pending sign-in) and, if
// replaces is not empty, ends that session (if live) at s.CreatedAt with
// reason "replaced", as one write. An existing ID or digest gives an error
// wrapping token.ErrConflict.
func (db *DB) CreateSession(ctx context.Context, s *people.Session, replaces string, ev *token.AuditEvent) error {
	e := db.enc()
	args := []any{s.ID, nonNilBytes(s.Digest), s.UserID, s.Pending, e.factors(s.Factors), s.IP, s.UserAgent,
		e.time(s.CreatedAt), e.time(s.LastSeenAt), e.time(s.ExpiresAt), e.time(s.IdleExpiresAt), e.time(s.EndedAt), s.EndReason}
	b := &batch{}
	if replaces != "" {
		b.add(endSessionSQL, replaces, e.time(s.CreatedAt), "replaced")
	}
	b.add("INSERT INTO sessions ("+sessionColumns+") VALUES ("+placeholders(1, 13)+")", args...)
	err := e.err
	if err == nil {
		err = db.addAudit(b, ev)
	}
	if err == nil {
		err = db.e.write(ctx, b)
	}
	if err != nil {
		return db.errorf("create session %s: %w", s.ID, err)
	}
	return nil
}

// SessionByDigest returns the session whose cookie digest is d (live or
// not), or an error wrapping token.ErrNotFound.
func (db *DB) SessionByDigest(ctx context.Context, d []byte) (*people.Session, error) {
	s, err := db.scanSession(db.e.reader().queryRow(ctx, selectSession+" WHERE digest = $1", nonNilBytes(d)))
	if err != nil {
		return nil, db.errorf("session by digest: %w", err)
	}
	return s, nil
}

// Session returns the session with public ID id, or an error wrapping
// token.ErrNotFound.
func (db *DB) Session(ctx context.Context, id string) (*people.Session, error) {
	s, err := db.scanSession(db.e.reader().queryRow(ctx, selectSession+" WHERE id = $1", id))
	if err != nil {
		return nil, db.errorf("get session %s: %w", id, err)
	}
	return s, nil
}

// TouchSession sets the live session's LastSeenAt and IdleExpiresAt, in
// one statement; an error wrapping token.ErrNotFound if no session id is
// live (not ended).
func (db *DB) TouchSession(ctx context.Context, id string, lastSeen, idleExpires time.Time) error {
	e := db.enc()
	seen, idle := e.time(lastSeen), e.time(idleExpires)
	err := e.err
	if err == nil {
		var n int64
		n, err = db.e.writer().exec(ctx, "UPDATE sessions SET last_seen_at = $2, idle_expires_at = $3 WHERE id = $1 AND ended_at IS NULL", id, seen, idle)
		if err == nil && n == 0 {
			err = token.ErrNotFound
		}
	}
	if err != nil {
		return db.errorf("touch session %s: %w", id, err)
	}
	return nil
}

// AddSessionFactor appends f to the live session's factors with ev, in one
// transaction that holds the row's lock; an error wrapping
// token.ErrNotFound, and no event, if no session id is live.
func (db *DB) AddSessionFactor(ctx context.Context, id string, f people.Factor, ev *token.AuditEvent) error {
	err := db.e.inTx(ctx, func(q querier) error {
		s, err := db.scanSession(q.queryRow(ctx, selectSession+" WHERE id = $1 AND ended_at IS NULL"+db.d.lockRow, id))
		if err != nil {
			return err
		}
		e := db.enc()
		factors := e.factors(append(s.Factors, f))
		if e.err != nil {
			return e.err
		}
		b := &batch{}
		b.add("UPDATE sessions SET factors = $2 WHERE id = $1", id, factors)
		if err := db.addAudit(b, ev); err != nil {
			return err
		}
		return q.run(ctx, b)
	})
	if err != nil {
		return db.errorf("add factor to session %s: %w", id, err)
	}
	return nil
}

// EndSession ends the live session id at at with reason, with ev, in one
// transaction; false, and no event, if it was ended already; an error
// wrapping token.ErrNotFound if there is no session id.
func (db *DB) EndSession(ctx context.Context, id, reason string, at time.Time, ev *token.AuditEvent) (bool, error) {
	var ended bool
	e := db.enc()
	atArg := e.time(at)
	err := e.err
	if err == nil {
		err = db.e.inTx(ctx, func(q querier) error {
			n, err := q.exec(ctx, endSessionSQL, id, atArg, reason)
			if err != nil {
				return err
			}
			if n == 0 {
				var one int
				return q.queryRow(ctx, "SELECT 1 FROM sessions WHERE id = $1", id).Scan(&one)
			}
			ended = true
			b := &batch{}
			if err := db.addAudit(b, ev); err != nil {
				return err
			}
			return q.run(ctx, b)
		})
	}
	if err != nil {
		return false, db.errorf("end session %s: %w", id, err)
	}
	return ended, nil
}

// EndUserSessions ends every live session of the user (pending sign-ins
// too) at at with reason, with ev, in one transaction, and returns how
// many it ended; when there were none, no event is written.
func (db *DB) EndUserSessions(ctx context.Context, userID, reason string, at time.Time, ev *token.AuditEvent) (int, error) {
	var ended int64
	e := db.enc()
	atArg := e.time(at)
	err := e.err
	if err == nil {
		err = db.e.inTx(ctx, func(q querier) error {
			var err error
			ended, err = q.exec(ctx, "UPDATE sessions SET ended_at = $2, end_reason = $3 WHERE user_id = $1 AND ended_at IS NULL",
				userID, atArg, reason)
			if err != nil || ended == 0 {
				return err
			}
			b := &batch{}
			if err := db.addAudit(b, ev); err != nil {
				return err
			}
			return q.run(ctx, b)
		})
	}
	if err != nil {
		return 0, db.errorf("end sessions of %s: %w", userID, err)
	}
	return int(ended), nil
}

// ListSessions returns the user's sessions that are neither ended nor past
// their absolute or idle expiry at now, newest first; pending sign-ins are
// left out.
func (db *DB) ListSessions(ctx context.Context, userID string, now time.Time) ([]*people.Session, error) {
	at := lowerBound(now)
	out, err := queryAll(ctx, db.e.reader(), selectSession+` WHERE user_id = $1 AND ended_at IS NULL AND NOT pending
		AND (expires_at IS NULL OR expires_at > $2) AND (idle_expires_at IS NULL OR idle_expires_at > $2)
		ORDER BY created_at DESC, id DESC`, []any{userID, at}, db.scanSession)
	if err != nil {
		return nil, db.errorf("list sessions of %s: %w", userID, err)
	}
	return out, nil
}

// PruneSessions deletes the sessions ended, or past their absolute or idle
// expiry, before before, and returns how many it deleted.
func (db *DB) PruneSessions(ctx context.Context, before time.Time) (int64, error) {
	n, err := db.e.writer().exec(ctx,
		"DELETE FROM sessions WHERE ended_at < $1 OR expires_at < $1 OR idle_expires_at < $1", lowerBound(before))
	if err != nil {
		return 0, db.errorf("prune sessions: %w", err)
	}
	return n, nil
}

// WebAuthn challenges.

// PutChallenge stores c; an existing ID gives an error wrapping
// token.ErrConflict.
func (db *DB) PutChallenge(ctx context.Context, c *people.Challenge) error {
	e := db.enc()
	exp := e.time(c.ExpiresAt)
	if e.err == nil && exp == nil {
		e.fail(errors.New("zero expiry"))
	}
	err := e.err
	if err == nil {
		b := &batch{}
		b.add("INSERT INTO webauthn_challenges (id, user_id, kind, data, expires_at) VALUES ($1, $2, $3, $4, $5)",
			c.ID, c.UserID, c.Kind, nonNilBytes(c.Data), exp)
		err = db.e.write(ctx, b)
	}
	if err != nil {
		return db.errorf("put challenge: %w", err)
	}
	return nil
}

// TakeChallenge deletes and returns challenge id if it has not expired at
// now, in one DELETE … RETURNING: exactly one of concurrent callers, on
// any node, gets it. An expired or missing challenge gives an error
// wrapping token.ErrNotFound (an expired one is left to PruneChallenges).
func (db *DB) TakeChallenge(ctx context.Context, id string, now time.Time) (*people.Challenge, error) {
	var (
		c   people.Challenge
		d   = db.dec()
		exp sql.NullInt64
	)
	err := db.e.writer().queryRow(ctx, `DELETE FROM webauthn_challenges WHERE id = $1 AND expires_at > $2
		RETURNING id, user_id, kind, data, expires_at`, id, lowerBound(now)).Scan(&c.ID, &c.UserID, &c.Kind, &c.Data, &exp)
	if err != nil {
		return nil, db.errorf("take challenge: %w", err)
	}
	c.ExpiresAt = d.time(exp)
	return &c, nil
}

// PruneChallenges deletes the challenges that expired before before and
// returns how many it deleted.
func (db *DB) PruneChallenges(ctx context.Context, before time.Time) (int64, error) {
	n, err := db.e.writer().exec(ctx, "DELETE FROM webauthn_challenges WHERE expires_at < $1", lowerBound(before))
	if err != nil {
		return 0, db.errorf("prune challenges: %w", err)
	}
	return n, nil
}

// Sign-in throttle.

const selectThrottle = "SELECT key, failures, last_failure, locked_until FROM signin_throttle"

func (db *DB) scanThrottle(s scanner) (*people.Throttle, error) {
	var (
		t            people.Throttle
		d            = db.dec()
		last, locked sql.NullInt64
	)
	if err := s.Scan(&t.Key, &t.Failures, &last, &locked); err != nil {
		return nil, err
	}
	t.LastFailure, t.LockedUntil = d.time(last), d.time(locked)
	return &t, nil
}

// Throttle returns the throttle record of key (a zero one with Key set if
// there is none).
func (db *DB) Throttle(ctx context.Context, key string) (*people.Throttle, error) {
	t, err := db.scanThrottle(db.e.reader().queryRow(ctx, selectThrottle+" WHERE key = $1", key))
	switch {
	case errors.Is(err, token.ErrNotFound):
		return &people.Throttle{Key: key}, nil
	case err != nil:
		return nil, db.errorf("throttle: %w", err)
	}
	return t, nil
}

// RecordFailure increments key's failure count, starting again from 1 if
// the last failure is older than window, sets LastFailure to now and
// LockedUntil to lock(failures), in one transaction that holds the row's
// lock (created first if missing): concurrent failures, on any node, are
// all counted. It returns the record written.
func (db *DB) RecordFailure(ctx context.Context, key string, now time.Time, window time.Duration, lock func(failures int) time.Time) (*people.Throttle, error) {
	var t *people.Throttle
	err := db.e.inTx(ctx, func(q querier) error {
		if _, err := q.exec(ctx, "INSERT INTO signin_throttle (key) VALUES ($1) ON CONFLICT (key) DO NOTHING", key); err != nil {
			return err
		}
		var err error
		if t, err = db.scanThrottle(q.queryRow(ctx, selectThrottle+" WHERE key = $1"+db.d.lockRow, key)); err != nil {
			return err
		}
		if t.LastFailure.IsZero() || now.Sub(t.LastFailure) > window {
			t.Failures = 0
		}
		t.Failures++
		t.LastFailure = now
		t.LockedUntil = lock(t.Failures)
		e := db.enc()
		args := []any{key, t.Failures, e.time(t.LastFailure), e.time(t.LockedUntil)}
		if e.err != nil {
			return e.err
		}
		_, err = q.exec(ctx, "UPDATE signin_throttle SET (failures, last_failure, locked_until) = ($2, $3, $4) WHERE key = $1", args...)
		return err
	})
	if err != nil {
		return nil, db.errorf("record sign-in failure: %w", err)
	}
	return t, nil
}

// ResetThrottle forgets key's failures.
func (db *DB) ResetThrottle(ctx context.Context, key string) error {
	if _, err := db.e.writer().exec(ctx, "DELETE FROM signin_throttle WHERE key = $1", key); err != nil {
		return db.errorf("reset throttle: %w", err)
	}
	return nil
}

// Transfer (store/transfer): what an export reads and an import writes
// besides people.Store.

// UnusedRecoveryCodes returns the digests of the user's unused recovery
// codes, in byte order.
func (db *DB) UnusedRecoveryCodes(ctx context.Context, userID string) ([][]byte, error) {
	out, err := queryAll(ctx, db.e.reader(), "SELECT digest FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL ORDER BY digest",
		[]any{userID}, func(s scanner) ([]byte, error) {
			var d []byte
			err := s.Scan(&d)
			return d, err
		})
	if err != nil {
		return nil, db.errorf("recovery codes of %s: %w", userID, err)
	}
	return out, nil
}

// ImportCredentials stores, as one write, the user's credentials exactly
// as given (Version included; none if c is nil), unused recovery codes by
// digest and passkeys, with no audit event. Existing credentials, a
// recovery code or a passkey ID that exists give an error wrapping
// token.ErrConflict.
func (db *DB) ImportCredentials(ctx context.Context, userID string, c *people.Credentials, codes [][]byte, passkeys []*people.Passkey) error {
	b := &batch{}
	e := db.enc()
	if c != nil {
		b.add("INSERT INTO user_credentials ("+credentialColumns+") VALUES ("+placeholders(1, 12)+")",
			userID, c.PasswordHash, e.time(c.PasswordChangedAt), nullBytes(c.TOTPSealed), c.TOTPConfirmed,
			e.time(c.TOTPCreatedAt), c.TOTPLastStep, nullBytes(c.WebAuthnID), c.Source, c.ExternalID, e.time(c.UpdatedAt), c.Version)
	}
	for _, d := range codes {
		b.add("INSERT INTO recovery_codes (user_id, digest) VALUES ($1, $2)", userID, nonNilBytes(d))
	}
	for _, p := range passkeys {
		if p.UserID != userID {
			e.fail(fmt.Errorf("a passkey of %s among those of %s", p.UserID, userID))
		}
		args, err := db.passkeyArgs(p)
		e.fail(err)
		b.add("INSERT INTO passkeys ("+passkeyColumns+") VALUES ("+placeholders(1, 6)+")", args...)
	}
	err := e.err
	if err == nil {
		err = db.e.write(ctx, b)
	}
	if err != nil {
		return db.errorf("import credentials of %s: %w", userID, err)
	}
	return nil
}
