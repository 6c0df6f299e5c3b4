package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/latchkey/latchkey/token"
)

// refillDue returns the SQL condition "a refill is due", with p the
// placeholder of the current refill period's start (NULL: no refill check).
func refillDue(p string) string {
	p = "CAST(" + p + " AS bigint)"
	return "(" + p + " IS NOT NULL AND refill_amount IS NOT NULL AND (refilled_at IS NULL OR refilled_at < " + p + "))"
}

// spendSQL spends $2 credits of key $1 in one statement, refilling first if
// a refill is due in period $3. On PostgreSQL, under READ COMMITTED, an
// UPDATE that waited for a concurrent one re-evaluates its WHERE on the row
// that one committed; SQLite has one writer. Either way two spends can
// never both take the last credit.
var spendSQL = `UPDATE keys SET
	remaining = (CASE WHEN ` + refillDue("$3") + ` THEN refill_amount ELSE remaining END) - $2,
	refilled_at = CASE WHEN ` + refillDue("$3") + ` THEN CAST($3 AS bigint) ELSE refilled_at END,
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
		return 0, false, db.errorf("spend credits of key %s: negative cost %d", id, cost)
	}
	e := db.enc()
	p := e.time(period)
	if e.err != nil {
		return 0, false, db.errorf("spend credits of key %s: %w", id, e.err)
	}
	err = db.e.writer().queryRow(ctx, spendSQL, id, cost, p).Scan(&remaining)
	if err == nil {
		return remaining, true, nil
	}
	if !errors.Is(err, token.ErrNotFound) {
		return 0, false, db.errorf("spend credits of key %s: %w", id, err)
	}
	// Nothing was spent: tell "too few" from "unlimited" and "no such key",
	// in a new statement that sees what concurrent spends committed.
	var left sql.NullInt64
	err = db.e.reader().queryRow(ctx, creditsSQL, id, p).Scan(&left)
	switch {
	case err != nil:
		return 0, false, db.errorf("spend credits of key %s: %w", id, err)
	case !left.Valid:
		return 0, true, nil
	}
	return left.Int64, false, nil
}

// usageRow is the aggregate of one key's records in a batch.
type usageRow struct {
	at     int64 // latest use
	hasAt  bool
	ip     string
	counts map[token.Code]int64
}

// RecordUsage stores a batch of usage records in one transaction: the last
// use moves only forward in time, and the counts by code add up in the
// minute buckets (analytics.go; a count no minute carries, as an import's,
// in key_usage). Records of
// keys that no longer exist are dropped, so a key deleted between its use
// and the flush cannot make the batch fail for ever. The keys' rows are
// locked in ID order first, so that flushes of several nodes cannot
// deadlock, and a concurrent DeleteKey waits for the flush or is seen by it.
func (db *DB) RecordUsage(ctx context.Context, batchIn []token.Usage) error {
	agg := map[string]*usageRow{}
	for _, u := range batchIn {
		r := agg[u.KeyID]
		if r == nil {
			r = &usageRow{counts: map[token.Code]int64{}}
			agg[u.KeyID] = r
		}
		if !u.LastUsedAt.IsZero() {
			e := db.enc()
			at, _ := e.time(u.LastUsedAt).(int64)
			if e.err != nil {
				return db.errorf("record usage: key %s: %w", u.KeyID, e.err)
			}
			if !r.hasAt || at > r.at {
				r.at, r.hasAt, r.ip = at, true, u.LastUsedIP
			}
		}
		// The minutes of a record are kept in usage_minutes (and later in
		// its hours, then in key_usage: analytics.go); key_usage takes
		// only what no minute carries (an import's totals).
		for code, n := range u.Counts {
			for _, m := range u.Minutes {
				n -= m.Counts[code]
			}
			if n != 0 {
				r.counts[code] += n
			}
		}
	}
	if len(agg) == 0 {
		return nil
	}
	ids := slices.Sorted(maps.Keys(agg))
	type last struct {
		id, ip string
		at     int64
	}
	type count struct {
		id, code string
		n        int64
	}
	var lasts []last
	var counts []count
	for _, id := range ids {
		r := agg[id]
		if r.hasAt {
			lasts = append(lasts, last{id, r.ip, r.at})
		}
		for _, code := range slices.Sorted(maps.Keys(r.counts)) {
			if n := r.counts[code]; n != 0 {
				counts = append(counts, count{id, string(code), n})
			}
		}
	}
	b := &batch{}
	chunks(len(ids), func(lo, hi int) error {
		if db.d.lockShared == "" {
			return nil // SQLite: the one writer holds every row
		}
		args := make([]any, 0, hi-lo)
		for _, id := range ids[lo:hi] {
			args = append(args, id)
		}
		b.add("SELECT id FROM keys WHERE id IN ("+placeholders(1, hi-lo)+") ORDER BY id"+db.d.lockShared, args...)
		return nil
	})
	chunks(len(lasts), func(lo, hi int) error {
		args := make([]any, 0, 3*(hi-lo))
		for _, l := range lasts[lo:hi] {
			args = append(args, l.id, l.at, l.ip)
		}
		b.add(`UPDATE keys SET last_used_at = u.column2, last_used_ip = u.column3
			FROM (VALUES `+values(hi-lo, "", "bigint", "")+`) AS u
			WHERE keys.id = u.column1 AND (keys.last_used_at IS NULL OR keys.last_used_at < u.column2)`, args...)
		return nil
	})
	chunks(len(counts), func(lo, hi int) error {
		args := make([]any, 0, 3*(hi-lo))
		for _, c := range counts[lo:hi] {
			args = append(args, c.id, c.code, c.n)
		}
		b.add(addKeyUsageSQL(hi-lo), args...)
		return nil
	})
	addBuckets(b, batchIn)
	if err := db.e.inTx(ctx, func(q querier) error { return q.run(ctx, b) }); err != nil {
		return db.errorf("record usage: %w", err)
	}
	return nil
}

// addKeyUsageSQL adds n rows (key ID, code, count) to the keys' totals, in
// key order, skipping keys that no longer exist.
func addKeyUsageSQL(n int) string {
	return `INSERT INTO key_usage (key_id, code, count)
		SELECT u.column1, u.column2, u.column3 FROM (VALUES ` + values(n, "", "", "bigint") + `) AS u
		WHERE EXISTS (SELECT 1 FROM keys WHERE keys.id = u.column1)
		ORDER BY u.column1, u.column2
		ON CONFLICT (key_id, code) DO UPDATE SET count = key_usage.count + excluded.count`
}

// UsageCounts returns how often key id was verified, by result code, as
// far as usage has been flushed: its kept minutes, its hours and what
// aged out of both into key_usage (each verification is in exactly one of
// them). A key never verified has no counts.
func (db *DB) UsageCounts(ctx context.Context, id string) (map[token.Code]int64, error) {
	type count struct {
		code string
		n    int64
	}
	rows, err := queryAll(ctx, db.e.reader(), `SELECT code, SUM(count) FROM (
		SELECT code, count FROM key_usage WHERE key_id = $1
		UNION ALL SELECT code, count FROM usage_hours WHERE subject = $1
		UNION ALL SELECT code, count FROM usage_minutes WHERE subject = $1) AS u GROUP BY code`, []any{id},
		func(s scanner) (c count, err error) { return c, s.Scan(&c.code, &c.n) })
	if err != nil {
		return nil, db.errorf("usage counts of key %s: %w", id, err)
	}
	counts := make(map[token.Code]int64, len(rows))
	for _, c := range rows {
		counts[token.Code(c.code)] = c.n
	}
	return counts, nil
}
