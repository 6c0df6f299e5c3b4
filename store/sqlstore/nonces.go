package sqlstore

import (
	"context"
	"errors"
	"time"
)

// useNonceSQL records nonce $2 of key $1 until $3, replacing a record that
// expired at or before $4 (now) and leaving a live one alone: it changes
// one row exactly when the nonce is fresh. A concurrent insert of the same
// nonce, on any node, waits for this one to commit and then finds a live
// record, so exactly one of them reports fresh.
const useNonceSQL = `INSERT INTO nonces (key_id, nonce, expires_at) VALUES ($1, $2, $3)
	ON CONFLICT (key_id, nonce) DO UPDATE SET expires_at = excluded.expires_at
	WHERE nonces.expires_at <= $4`

// UseNonce records nonce for keyID until expires, in one statement. It
// reports false, having changed nothing, if the nonce is already recorded
// for keyID and has not expired (its expiry is after the time of the
// call, on this node's clock); an expired record is replaced.
func (db *DB) UseNonce(ctx context.Context, keyID, nonce string, expires time.Time) (fresh bool, err error) {
	return db.useNonce(ctx, keyID, nonce, expires, time.Now())
}

// useNonce is UseNonce at now.
func (db *DB) useNonce(ctx context.Context, keyID, nonce string, expires, now time.Time) (bool, error) {
	e := db.enc()
	exp, at := e.time(expires), e.time(now)
	if e.err == nil && (exp == nil || at == nil) {
		e.fail(errors.New("zero time"))
	}
	if e.err != nil {
		return false, db.errorf("use nonce of key %s: %w", keyID, e.err)
	}
	n, err := db.e.writer().exec(ctx, useNonceSQL, keyID, nonce, exp, at)
	if err != nil {
		return false, db.errorf("use nonce of key %s: %w", keyID, err)
	}
	return n == 1, nil
}

// PruneNonces deletes the nonces that expired before before and returns
// how many it deleted.
func (db *DB) PruneNonces(ctx context.Context, before time.Time) (int64, error) {
	n, err := db.e.writer().exec(ctx, "DELETE FROM nonces WHERE expires_at < $1", lowerBound(before))
	if err != nil {
		return 0, db.errorf("prune nonces: %w", err)
	}
	return n, nil
}
