package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/token"
)

// SpendCredits subtracts cost from key id's remaining credits in one
// statement, if at least cost remain. It returns the credits left and
// whether they were spent; a key without credits returns (0, true). A
// missing key gives an error wrapping token.ErrNotFound.
func (db *DB) SpendCredits(ctx context.Context, id string, cost int64, period time.Time) (remaining int64, ok bool, err error) {
	if cost < 0 {
		return 0, false, fmt.Errorf("sqlite: spend credits of key %s: negative cost %d", id, cost)
	}
	var e enc
	p := e.time(period)
	if e.err != nil {
		return 0, false, fmt.Errorf("sqlite: spend credits of key %s: %w", id, e.err)
	}
	// ?3 is the current refill period's start (NULL: no refill check).
	err = db.w.QueryRowContext(ctx, `UPDATE keys SET
		remaining = (CASE WHEN `+refillDue+` THEN refill_amount ELSE remaining END) - ?2,
		refilled_at = CASE WHEN `+refillDue+` THEN ?3 ELSE refilled_at END,
		version = version + 1
		WHERE id = ?1 AND remaining IS NOT NULL
		AND (CASE WHEN `+refillDue+` THEN refill_amount ELSE remaining END) >= ?2
		RETURNING remaining`, id, cost, p).Scan(&remaining)
	if err == nil {
		return remaining, true, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, false, fmt.Errorf("sqlite: spend credits of key %s: %w", id, err)
	}
	// Nothing was spent: tell "too few" from "unlimited" and "no such key".
	var left sql.NullInt64
	err = db.r.QueryRowContext(ctx, "SELECT CASE WHEN "+refillDue+" THEN refill_amount ELSE remaining END FROM keys WHERE id = ?1",
		id, nil, p).Scan(&left)
	switch {
	case err != nil:
		return 0, false, fmt.Errorf("sqlite: spend credits of key %s: %w", id, dbErr(err))
	case !left.Valid:
		return 0, true, nil
	}
	return left.Int64, false, nil
}

// refillDue is the SQL condition "a refill is due", with ?3 the start of
// the current refill period.
const refillDue = `(?3 IS NOT NULL AND refill_amount IS NOT NULL AND (refilled_at IS NULL OR refilled_at < ?3))`

// RecordUsage stores a batch of usage records in one transaction: the last
// use moves only forward in time, and the counts by code add up. Records of
// keys that no longer exist are dropped, so a key deleted between its use
// and the flush cannot make the batch fail for ever.
func (db *DB) RecordUsage(ctx context.Context, batch []token.Usage) error {
	if len(batch) == 0 {
		return nil
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		last, err := tx.PrepareContext(ctx, `UPDATE keys SET last_used_at = ?, last_used_ip = ?
			WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`)
		if err != nil {
			return err
		}
		defer last.Close()
		count, err := tx.PrepareContext(ctx, `INSERT INTO key_usage (key_id, code, count)
			SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM keys WHERE id = ?1)
			ON CONFLICT (key_id, code) DO UPDATE SET count = count + excluded.count`)
		if err != nil {
			return err
		}
		defer count.Close()
		for _, u := range batch {
			if !u.LastUsedAt.IsZero() {
				var e enc
				at := e.time(u.LastUsedAt)
				if e.err != nil {
					return fmt.Errorf("key %s: %w", u.KeyID, e.err)
				}
				if _, err := last.ExecContext(ctx, at, u.LastUsedIP, u.KeyID, at); err != nil {
					return fmt.Errorf("key %s: %w", u.KeyID, err)
				}
			}
			for code, n := range u.Counts {
				if n == 0 {
					continue
				}
				if _, err := count.ExecContext(ctx, u.KeyID, string(code), n); err != nil {
					return fmt.Errorf("key %s: %w", u.KeyID, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: record usage: %w", err)
	}
	return nil
}

// UsageCounts returns how often key id was verified, by result code, as
// far as usage has been flushed. A key never verified has no counts.
func (db *DB) UsageCounts(ctx context.Context, id string) (map[token.Code]int64, error) {
	rows, err := db.r.QueryContext(ctx, "SELECT code, count FROM key_usage WHERE key_id = ?", id)
	if err != nil {
		return nil, fmt.Errorf("sqlite: usage counts of key %s: %w", id, err)
	}
	defer rows.Close()
	counts := map[token.Code]int64{}
	for rows.Next() {
		var code string
		var n int64
		if err := rows.Scan(&code, &n); err != nil {
			return nil, fmt.Errorf("sqlite: usage counts of key %s: %w", id, err)
		}
		counts[token.Code(code)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: usage counts of key %s: %w", id, err)
	}
	return counts, nil
}
