package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/token"
)

// addAnswer renders r and adds its insertion to b, replacing an expired
// answer for the same (scope, operation); a live one makes the write fail
// with a unique violation (token.ErrConflict), which aborts the change. A
// concurrent writer of the same answer, on any node, waits for this one's
// transaction and then fails the same way.
func (db *DB) addAnswer(b *batch, r *token.StoredAnswer) error {
	if err := r.Render(); err != nil {
		return err
	}
	e := db.enc()
	created, expires := e.time(r.CreatedAt), e.time(r.ExpiresAt)
	if e.err != nil {
		return fmt.Errorf("idempotent answer: %w", e.err)
	}
	b.add(`DELETE FROM idempotency WHERE scope = $1 AND operation = $2 AND expires_at <= $3`, r.Scope, r.Operation, created)
	b.add(`INSERT INTO idempotency (scope, operation, fingerprint, status, body, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, r.Scope, r.Operation, r.Fingerprint, r.Status, r.Body, created, expires)
	return nil
}

// IdempotentAnswer returns the answer stored for (scope, operation), or an
// error wrapping token.ErrNotFound.
func (db *DB) IdempotentAnswer(ctx context.Context, scope, operation string) (*token.StoredAnswer, error) {
	r := &token.StoredAnswer{Scope: scope, Operation: operation}
	var created, expires sql.NullInt64
	err := db.e.reader().queryRow(ctx, `SELECT fingerprint, status, body, created_at, expires_at FROM idempotency
		WHERE scope = $1 AND operation = $2`, scope, operation).Scan(&r.Fingerprint, &r.Status, &r.Body, &created, &expires)
	if err != nil {
		return nil, db.errorf("idempotent answer: %w", err)
	}
	d := db.dec()
	r.CreatedAt, r.ExpiresAt = d.time(created), d.time(expires)
	return r, nil
}

// PruneIdempotency deletes the answers that expired before before.
func (db *DB) PruneIdempotency(ctx context.Context, before time.Time) (int64, error) {
	n, err := db.e.writer().exec(ctx, "DELETE FROM idempotency WHERE expires_at < $1", lowerBound(before))
	if err != nil {
		return 0, db.errorf("prune idempotency: %w", err)
	}
	return n, nil
}
