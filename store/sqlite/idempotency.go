package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/token"
)

var _ token.IdempotencyStore = (*DB)(nil)

// insertAnswer renders r and writes it in the caller's transaction,
// replacing an expired answer for the same (scope, operation); a live one
// gives an error wrapping token.ErrConflict, which aborts the change.
func insertAnswer(ctx context.Context, q querier, r *token.StoredAnswer) error {
	if err := r.Render(); err != nil {
		return err
	}
	var e enc
	created, expires := e.time(r.CreatedAt), e.time(r.ExpiresAt)
	if e.err != nil {
		return fmt.Errorf("idempotent answer: %w", e.err)
	}
	if _, err := q.ExecContext(ctx, `DELETE FROM idempotency WHERE scope = ? AND operation = ? AND expires_at <= ?`,
		r.Scope, r.Operation, created); err != nil {
		return fmt.Errorf("idempotent answer: %w", dbErr(err))
	}
	if _, err := q.ExecContext(ctx, `INSERT INTO idempotency (scope, operation, fingerprint, status, body, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, r.Scope, r.Operation, r.Fingerprint, r.Status, r.Body, created, expires); err != nil {
		return fmt.Errorf("idempotent answer: %w", dbErr(err))
	}
	return nil
}

// IdempotentAnswer returns the answer stored for (scope, operation), or an
// error wrapping token.ErrNotFound.
func (db *DB) IdempotentAnswer(ctx context.Context, scope, operation string) (*token.StoredAnswer, error) {
	r := &token.StoredAnswer{Scope: scope, Operation: operation}
	var created, expires sql.NullInt64
	err := db.r.QueryRowContext(ctx, `SELECT fingerprint, status, body, created_at, expires_at FROM idempotency
		WHERE scope = ? AND operation = ?`, scope, operation).Scan(&r.Fingerprint, &r.Status, &r.Body, &created, &expires)
	if err != nil {
		return nil, fmt.Errorf("sqlite: idempotent answer: %w", dbErr(err))
	}
	var d dec
	r.CreatedAt, r.ExpiresAt = d.time(created), d.time(expires)
	return r, nil
}

// PruneIdempotency deletes the answers that expired before before.
func (db *DB) PruneIdempotency(ctx context.Context, before time.Time) (int64, error) {
	var e enc
	at := e.time(before)
	if e.err != nil {
		return 0, fmt.Errorf("sqlite: prune idempotency: %w", e.err)
	}
	res, err := db.w.ExecContext(ctx, "DELETE FROM idempotency WHERE expires_at < ?", at)
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune idempotency: %w", err)
	}
	return res.RowsAffected()
}
