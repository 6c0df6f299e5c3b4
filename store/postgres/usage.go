package postgres

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/token"
)

// refillDue returns the SQL condition "a refill is due", with period the
// placeholder of the current refill period's start (NULL: no refill check).
func refillDue(period string) string {
	return "(" + period + "::bigint IS NOT NULL AND refill_amount IS NOT NULL AND (refilled_at IS NULL OR refilled_at < " +
		period + "::bigint))"
}

// spendSQL spends $2 credits of key $1 in one statement, refilling first if
// a refill is due. Under READ COMMITTED, an UPDATE that waited for a
// concurrent one re-evaluates its WHERE on the row that one committed, so
// two spends can never both take the last credit.
var spendSQL = `UPDATE keys SET
	remaining = (CASE WHEN ` + refillDue("$3") + ` THEN refill_amount ELSE remaining END) - $2,
	refilled_at = CASE WHEN ` + refillDue("$3") + ` THEN $3::bigint ELSE refilled_at END,
	version = version + 1
	WHERE id = $1 AND remaining IS NOT NULL
	AND (CASE WHEN ` + refillDue("$3") + ` THEN refill_amount ELSE remaining END) >= $2
	RETURNING remaining`

// creditsSQL reads what SpendCredits would find: the credits of key $1,
// refilled if a refill is due in period $2, or NULL for unlimited.
var creditsSQL = `SELECT CASE WHEN ` + refillDue("$2") + ` THEN refill_amount ELSE remaining END
	FROM keys WHERE id = $1`

// SpendCredits subtracts cost from key id's remaining credits in one
// statement, if at least cost remain. It returns the credits left and
// whether they were spent; a key without credits returns (0, true). A
// missing key gives an error wrapping token.ErrNotFound.
func (db *DB) SpendCredits(ctx context.Context, id string, cost int64, period time.Time) (remaining int64, ok bool, err error) {
	if cost < 0 {
		return 0, false, fmt.Errorf("postgres: spend credits of key %s: negative cost %d", id, cost)
	}
	var e enc
	p := e.time(period)
	if e.err != nil {
		return 0, false, fmt.Errorf("postgres: spend credits of key %s: %w", id, e.err)
	}
	err = db.pool.QueryRow(ctx, spendSQL, id, cost, p).Scan(&remaining)
	if err == nil {
		return remaining, true, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return 0, false, fmt.Errorf("postgres: spend credits of key %s: %w", id, dbErr(err))
	}
	// Nothing was spent: tell "too few" from "unlimited" and "no such key",
	// in a new statement that sees what concurrent spends committed.
	var left *int64
	err = db.pool.QueryRow(ctx, creditsSQL, id, p).Scan(&left)
	switch {
	case err != nil:
		return 0, false, fmt.Errorf("postgres: spend credits of key %s: %w", id, dbErr(err))
	case left == nil:
		return 0, true, nil
	}
	return *left, false, nil
}

// usageRow is the aggregate of one key's records in a batch.
type usageRow struct {
	at     *int64 // latest use, nil if no record had a time
	ip     string
	codes  []string
	counts []int64
}

// RecordUsage stores a batch of usage records in one transaction: the last
// use moves only forward in time, and the counts by code add up. Records of
// keys that no longer exist are dropped, so a key deleted between its use
// and the flush cannot make the batch fail for ever. The keys' rows are
// locked in ID order first, so that flushes of several nodes cannot
// deadlock, and a concurrent DeleteKey waits for the flush or is seen by it.
func (db *DB) RecordUsage(ctx context.Context, batch []token.Usage) error {
	rows := map[string]*usageRow{}
	for _, u := range batch {
		r := rows[u.KeyID]
		if r == nil {
			r = &usageRow{}
			rows[u.KeyID] = r
		}
		if !u.LastUsedAt.IsZero() {
			var e enc
			at, _ := e.time(u.LastUsedAt).(int64)
			if e.err != nil {
				return fmt.Errorf("postgres: record usage: key %s: %w", u.KeyID, e.err)
			}
			if r.at == nil || at > *r.at {
				r.at, r.ip = &at, u.LastUsedIP
			}
		}
		for code, n := range u.Counts {
			if n != 0 {
				r.codes, r.counts = append(r.codes, string(code)), append(r.counts, n)
			}
		}
	}
	if len(rows) == 0 {
		return nil
	}
	var ids, lastIDs, lastIPs, countIDs, codes []string
	var ats, counts []int64
	for _, id := range slices.Sorted(maps.Keys(rows)) {
		r := rows[id]
		ids = append(ids, id)
		if r.at != nil {
			lastIDs, ats, lastIPs = append(lastIDs, id), append(ats, *r.at), append(lastIPs, r.ip)
		}
		for i := range r.codes {
			countIDs, codes, counts = append(countIDs, id), append(codes, r.codes[i]), append(counts, r.counts[i])
		}
	}
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(`SELECT id FROM keys WHERE id = ANY($1::text[]) ORDER BY id FOR NO KEY UPDATE`, ids)
		b.Queue(`UPDATE keys AS k SET last_used_at = u.at, last_used_ip = u.ip
			FROM unnest($1::text[], $2::bigint[], $3::text[]) AS u (id, at, ip)
			WHERE k.id = u.id AND (k.last_used_at IS NULL OR k.last_used_at < u.at)`, lastIDs, ats, lastIPs)
		b.Queue(`INSERT INTO key_usage (key_id, code, count)
			SELECT u.id, u.code, sum(u.n) FROM unnest($1::text[], $2::text[], $3::bigint[]) AS u (id, code, n)
			WHERE EXISTS (SELECT 1 FROM keys WHERE keys.id = u.id)
			GROUP BY u.id, u.code ORDER BY u.id, u.code
			ON CONFLICT (key_id, code) DO UPDATE SET count = key_usage.count + excluded.count`, countIDs, codes, counts)
		return execBatch(ctx, tx, b)
	})
	if err != nil {
		return fmt.Errorf("postgres: record usage: %w", err)
	}
	return nil
}

// UsageCounts returns how often key id was verified, by result code, as
// far as usage has been flushed. A key never verified has no counts.
func (db *DB) UsageCounts(ctx context.Context, id string) (map[token.Code]int64, error) {
	type count struct {
		code string
		n    int64
	}
	rows, err := queryAll(ctx, db, "SELECT code, count FROM key_usage WHERE key_id = $1", []any{id},
		func(s scanner) (c count, err error) { return c, s.Scan(&c.code, &c.n) })
	if err != nil {
		return nil, fmt.Errorf("postgres: usage counts of key %s: %w", id, err)
	}
	counts := make(map[token.Code]int64, len(rows))
	for _, c := range rows {
		counts[token.Code(c.code)] = c.n
	}
	return counts, nil
}
