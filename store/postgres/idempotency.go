package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/latchkey/latchkey/token"
)

var _ token.IdempotencyStore = (*DB)(nil)

// queueAnswer renders r and adds its insertion to b, replacing an expired
// answer for the same (scope, operation); a live one makes the batch fail
// with a unique violation (token.ErrConflict), which aborts the change. A
// concurrent writer of the same answer, on any node, waits for this one's
// transaction and then fails the same way.
func queueAnswer(b *pgx.Batch, r *token.StoredAnswer) error {
	if err := r.Render(); err != nil {
		return err
	}
	var e enc
	created, expires := e.time(r.CreatedAt), e.time(r.ExpiresAt)
	if e.err != nil {
		return fmt.Errorf("idempotent answer: %w", e.err)
	}
	b.Queue(`DELETE FROM idempotency WHERE scope = $1 AND operation = $2 AND expires_at <= $3`, r.Scope, r.Operation, created)
	b.Queue(`INSERT INTO idempotency (scope, operation, fingerprint, status, body, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, r.Scope, r.Operation, r.Fingerprint, r.Status, r.Body, created, expires)
	return nil
}

// IdempotentAnswer returns the answer stored for (scope, operation), or an
// error wrapping token.ErrNotFound.
func (db *DB) IdempotentAnswer(ctx context.Context, scope, operation string) (*token.StoredAnswer, error) {
	r := &token.StoredAnswer{Scope: scope, Operation: operation}
	var created, expires *int64
	err := db.pool.QueryRow(ctx, `SELECT fingerprint, status, body, created_at, expires_at FROM idempotency
		WHERE scope = $1 AND operation = $2`, scope, operation).Scan(&r.Fingerprint, &r.Status, &r.Body, &created, &expires)
	if err != nil {
		return nil, fmt.Errorf("postgres: idempotent answer: %w", dbErr(err))
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
		return 0, fmt.Errorf("postgres: prune idempotency: %w", e.err)
	}
	tag, err := db.pool.Exec(ctx, "DELETE FROM idempotency WHERE expires_at < $1", at)
	if err != nil {
		return 0, fmt.Errorf("postgres: prune idempotency: %w", err)
	}
	return tag.RowsAffected(), nil
}

// commitOutcome marks err, the failure of a COMMIT (or of a statement run
// as its own implicit transaction), with token.ErrOutcomeUnknown unless it
// is certain that nothing was committed: the server refused (a
// *pgconn.PgError), or the request never left (pgconn.SafeToRetry).
func commitOutcome(err error) error {
	if err == nil {
		return nil
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) || pgconn.SafeToRetry(err) || errors.Is(err, token.ErrConflict) || errors.Is(err, token.ErrNotFound) {
		return err
	}
	var te *token.Error
	if errors.As(err, &te) { // a rule of ours, decided before sending
		return err
	}
	return fmt.Errorf("%w: %w", token.ErrOutcomeUnknown, err)
}
