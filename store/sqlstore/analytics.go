package sqlstore

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/token"
)

// The usage buckets (migration 00024): one table per granularity, rows
// (subject, bucket, code, count). A subject is a key ID, the keyspace
// rollup "s/<keyspace>" or the owner rollup "o/<keyspace>/<type>/<id>"
// (keyspace names and owner types have no "/"). The rollups are written by
// the flush beside the key's rows rather than computed by joining keys at
// query time: a keyspace's series then reads one row per bucket and code
// whatever the number of its keys (docs/benchmarks.md, "Usage analytics").
//
// The flush writes minutes only. An hour is the sum of its minutes while
// they are kept (48 hours); the prune moves the minutes past that into
// usage_hours (one row per subject, hour and code, added to) in the
// transaction that deletes them, so each minute is counted in exactly one
// table and an hour read is usage_hours plus the kept minutes of the
// range. Writing the hour rows at every flush as well took a second
// upsert (two b-tree inserts) per key and flush: the flush of keys seen
// once each cost twice as many writes (docs/benchmarks.md, "Scale after
// issue 16").

func keyspaceSubject(ks string) string { return "s/" + ks }

// ownerPrefix is the prefix of the owner rollups of keyspace ks.
func ownerPrefix(ks string) string { return "o/" + ks + "/" }

func ownerSubject(ks string, o token.Owner) string {
	return ownerPrefix(ks) + string(o.Type) + "/" + o.ID
}

// bucketRow is one row to add to.
type bucketRow struct {
	subject string
	bucket  int64
	code    string
}

func compareBucketRows(a, b bucketRow) int {
	return cmp.Or(strings.Compare(a.subject, b.subject), cmp.Compare(a.bucket, b.bucket), strings.Compare(a.code, b.code))
}

// addBuckets adds to b the statements that add the minutes of batch to the
// minute buckets of their keys, keyspaces and owners. The rows are sorted
// by primary key and written in that order, so the flushes of two nodes
// lock shared rows (a keyspace's current minute) in the same order and
// cannot deadlock; each row is one atomic "count = count + excluded.count",
// so concurrent flushes add up.
func addBuckets(b *batch, batchIn []token.Usage) {
	minutes := map[bucketRow]int64{}
	for _, u := range batchIn {
		subjects := []string{u.KeyID}
		if u.Keyspace != "" {
			subjects = append(subjects, keyspaceSubject(u.Keyspace))
			if u.Owner != nil {
				subjects = append(subjects, ownerSubject(u.Keyspace, *u.Owner))
			}
		}
		for _, mc := range u.Minutes {
			m := mc.Minute.Unix()
			m -= m % 60
			for code, n := range mc.Counts {
				if n == 0 {
					continue
				}
				for _, s := range subjects {
					minutes[bucketRow{s, m, string(code)}] += n
				}
			}
		}
	}
	addRows(b, "usage_minutes", minutes)
}

// addRows adds to b the upserts that add rows to table, in primary-key
// order.
func addRows(b *batch, table string, rows map[bucketRow]int64) {
	keys := slices.SortedFunc(maps.Keys(rows), compareBucketRows)
	chunks(len(keys), func(lo, hi int) error {
		args := make([]any, 0, 4*(hi-lo))
		for _, r := range keys[lo:hi] {
			args = append(args, r.subject, r.bucket, r.code, rows[r])
		}
		b.add(`INSERT INTO `+table+` (subject, bucket, code, count)
			SELECT u.column1, u.column2, u.column3, u.column4 FROM (VALUES `+values(hi-lo, "", "bigint", "", "bigint")+`) AS u
			WHERE TRUE ORDER BY u.column1, u.column2, u.column3
			ON CONFLICT (subject, bucket, code) DO UPDATE SET count = `+table+`.count + excluded.count`, args...)
		return nil
	})
}

// bucketSource returns a row source "(…) AS u" of (subject, bucket, code,
// count) of granularity g: the rows whose subject satisfies cond (an SQL
// condition on "subject") with bucket in [from, to) (placeholders). An
// hour source is the stored hours and the kept minutes, each minute as its
// hour (bucket - bucket % 3600); a query sums its rows by bucket.
func bucketSource(g token.Granularity, cond, from, to string) string {
	where := " WHERE " + cond + " AND bucket >= " + from + " AND bucket < " + to
	if g == token.Minute {
		return "(SELECT subject, bucket, code, count FROM usage_minutes" + where + ") AS u"
	}
	return "(SELECT subject, bucket, code, count FROM usage_hours" + where +
		" UNION ALL SELECT subject, bucket - bucket % 3600, code, count FROM usage_minutes" + where + ") AS u"
}

// series reads the buckets of one subject in r.
func (db *DB) series(ctx context.Context, subject string, r token.UsageRange) ([]token.UsageBucket, error) {
	type cell struct {
		at    int64
		code  string
		count int64
	}
	cells, err := queryAll(ctx, db.e.reader(),
		"SELECT bucket, code, SUM(count) FROM "+bucketSource(r.Granularity, "subject = $1", "$2", "$3")+
			" GROUP BY bucket, code ORDER BY bucket, code",
		[]any{subject, r.From.Unix(), r.To.Unix()},
		func(s scanner) (c cell, err error) { return c, s.Scan(&c.at, &c.code, &c.count) })
	if err != nil {
		return nil, err
	}
	var out []token.UsageBucket
	for _, c := range cells {
		if len(out) == 0 || out[len(out)-1].Start.Unix() != c.at {
			out = append(out, token.UsageBucket{Start: time.Unix(c.at, 0).UTC(), Counts: map[token.Code]int64{}})
		}
		out[len(out)-1].Counts[token.Code(c.code)] += c.count
	}
	return out, nil
}

// KeyUsageBuckets returns the non-empty buckets of key id in r.
func (db *DB) KeyUsageBuckets(ctx context.Context, id string, r token.UsageRange) ([]token.UsageBucket, error) {
	out, err := db.series(ctx, id, r)
	if err != nil {
		return nil, db.errorf("usage buckets of key %s: %w", id, err)
	}
	return out, nil
}

// UsageSeries returns the non-empty buckets of a keyspace or of one owner's
// keys in it: the rollup rows, one per bucket and code.
func (db *DB) UsageSeries(ctx context.Context, f token.UsageFilter) ([]token.UsageBucket, error) {
	subject := keyspaceSubject(f.Keyspace)
	if f.Owner != nil {
		subject = ownerSubject(f.Keyspace, *f.Owner)
	}
	out, err := db.series(ctx, subject, f.UsageRange)
	if err != nil {
		return nil, db.errorf("usage of keyspace %s: %w", f.Keyspace, err)
	}
	return out, nil
}

// totals sums the buckets of subjects in r, by subject and code.
func (db *DB) totals(ctx context.Context, subjects []string, r token.UsageRange) (map[string]map[token.Code]int64, error) {
	args := []any{r.From.Unix(), r.To.Unix()}
	for _, s := range subjects {
		args = append(args, s)
	}
	type cell struct {
		subject, code string
		n             int64
	}
	cells, err := queryAll(ctx, db.e.reader(),
		"SELECT subject, code, SUM(count) FROM "+
			bucketSource(r.Granularity, "subject IN ("+placeholders(3, 2+len(subjects))+")", "$1", "$2")+" GROUP BY subject, code",
		args, func(s scanner) (c cell, err error) { return c, s.Scan(&c.subject, &c.code, &c.n) })
	if err != nil {
		return nil, err
	}
	out := make(map[string]map[token.Code]int64, len(subjects))
	for _, c := range cells {
		if out[c.subject] == nil {
			out[c.subject] = map[token.Code]int64{}
		}
		out[c.subject][token.Code(c.code)] = c.n
	}
	return out, nil
}

// UsageByKey returns a page of the keyspace's keys with verifications in
// the range: the keys of the keyspace (index keys_keyspace) that have a
// bucket in it (primary key of the bucket table), then their totals.
func (db *DB) UsageByKey(ctx context.Context, f token.UsageFilter, after string, limit int) ([]token.UsageGroup, string, error) {
	limit = pageLimit(limit)
	w := &where{}
	w.add("k.keyspace = " + w.arg(f.Keyspace))
	if after != "" {
		w.add("k.id > " + w.arg(after))
	}
	if f.Owner != nil {
		w.add("k.owner_type = " + w.arg(string(f.Owner.Type)))
		w.add("k.owner_id = " + w.arg(f.Owner.ID))
	}
	w.add("EXISTS (SELECT 1 FROM " + bucketSource(f.Granularity, "subject = k.id", w.arg(f.From.Unix()), w.arg(f.To.Unix())) + ")")
	ids, err := queryAll(ctx, db.e.reader(), "SELECT k.id FROM keys k"+w.String()+" ORDER BY k.id LIMIT "+strconv.Itoa(limit+1), w.args,
		func(s scanner) (id string, err error) { return id, s.Scan(&id) })
	if err != nil {
		return nil, "", db.errorf("usage by key of keyspace %s: %w", f.Keyspace, err)
	}
	next := ""
	if len(ids) > limit {
		ids, next = ids[:limit], ids[limit-1]
	}
	if len(ids) == 0 {
		return nil, "", nil
	}
	sums, err := db.totals(ctx, ids, f.UsageRange)
	if err != nil {
		return nil, "", db.errorf("usage by key of keyspace %s: %w", f.Keyspace, err)
	}
	out := make([]token.UsageGroup, 0, len(ids))
	for _, id := range ids {
		out = append(out, token.UsageGroup{KeyID: id, Counts: sums[id]})
	}
	return out, next, nil
}

// UsageByOwner returns a page of the owner rollups of a keyspace with
// verifications in the range, ordered by "type/id".
func (db *DB) UsageByOwner(ctx context.Context, f token.UsageFilter, after string, limit int) ([]token.UsageGroup, string, error) {
	limit = pageLimit(limit)
	prefix := ownerPrefix(f.Keyspace)
	w := &where{}
	var cond string
	if f.Owner != nil {
		cond = "subject = " + w.arg(ownerSubject(f.Keyspace, *f.Owner))
	} else {
		// "0" follows "/": the range holds exactly the subjects with the prefix.
		cond = "subject >= " + w.arg(prefix) + " AND subject < " + w.arg(strings.TrimSuffix(prefix, "/")+"0")
	}
	if after != "" {
		cond += " AND subject > " + w.arg(prefix+after)
	}
	src := bucketSource(f.Granularity, cond, w.arg(f.From.Unix()), w.arg(f.To.Unix()))
	subjects, err := queryAll(ctx, db.e.reader(), "SELECT DISTINCT subject FROM "+src+" ORDER BY subject LIMIT "+strconv.Itoa(limit+1), w.args,
		func(s scanner) (sub string, err error) { return sub, s.Scan(&sub) })
	if err != nil {
		return nil, "", db.errorf("usage by owner of keyspace %s: %w", f.Keyspace, err)
	}
	next := ""
	if len(subjects) > limit {
		subjects, next = subjects[:limit], strings.TrimPrefix(subjects[limit-1], prefix)
	}
	if len(subjects) == 0 {
		return nil, "", nil
	}
	sums, err := db.totals(ctx, subjects, f.UsageRange)
	if err != nil {
		return nil, "", db.errorf("usage by owner of keyspace %s: %w", f.Keyspace, err)
	}
	out := make([]token.UsageGroup, 0, len(subjects))
	for _, s := range subjects {
		typ, id, _ := strings.Cut(strings.TrimPrefix(s, prefix), "/")
		out = append(out, token.UsageGroup{Owner: &token.Owner{Type: token.PrincipalType(typ), ID: id}, Counts: sums[s]})
	}
	return out, next, nil
}

// pruneChunk bounds the rows one prune transaction moves or deletes, so
// that SQLite's one writer is never held long and PostgreSQL's row locks
// stay few.
const pruneChunk = 5000

// PruneUsage moves the minute buckets that began before minutes into their
// hours, then the hour buckets that began before hours into the keys'
// totals (key_usage; the rollups' hours just go), a chunk at a time, and
// returns how many rows it moved. Several nodes may prune at once: on
// PostgreSQL a chunk skips the rows another node's prune holds (FOR UPDATE
// SKIP LOCKED), so the nodes split the work, never wait on each other and
// move no row twice; the rows they add to are written in primary-key
// order (no deadlock).
func (db *DB) PruneUsage(ctx context.Context, minutes, hours time.Time) (int64, error) {
	var total int64
	for _, f := range []struct {
		from string
		cut  int64
		into func(b *batch, cells []bucketCell)
	}{
		{"usage_minutes", minutes.Unix(), addHours},
		{"usage_hours", hours.Unix(), addTotals},
	} {
		for {
			n, err := db.fold(ctx, f.from, f.cut, f.into)
			total += n
			if err != nil {
				return total, db.errorf("prune %s: %w", f.from, err)
			}
			if n < pruneChunk {
				break
			}
		}
	}
	return total, nil
}

// bucketCell is one stored bucket row.
type bucketCell struct {
	bucketRow
	count int64
}

// fold moves up to pruneChunk rows of table that began before cut, in one
// transaction: into adds them where they go, then they are deleted. It
// returns how many it moved.
func (db *DB) fold(ctx context.Context, table string, cut int64, into func(*batch, []bucketCell)) (int64, error) {
	skip := ""
	if db.d.lockRow != "" {
		skip = " " + db.d.lockRow + " SKIP LOCKED"
	}
	var moved int64
	err := db.e.inTx(ctx, func(q querier) error {
		cells, err := queryAll(ctx, q, `SELECT subject, bucket, code, count FROM `+table+` WHERE bucket < $1
			LIMIT `+strconv.Itoa(pruneChunk)+skip, []any{cut},
			func(s scanner) (c bucketCell, err error) { return c, s.Scan(&c.subject, &c.bucket, &c.code, &c.count) })
		if err != nil || len(cells) == 0 {
			return err
		}
		b := &batch{}
		into(b, cells)
		chunks(len(cells), func(lo, hi int) error {
			args := make([]any, 0, 3*(hi-lo))
			for _, c := range cells[lo:hi] {
				args = append(args, c.subject, c.bucket, c.code)
			}
			b.add(`DELETE FROM `+table+` WHERE (subject, bucket, code) IN
				(SELECT u.column1, u.column2, u.column3 FROM (VALUES `+values(hi-lo, "", "bigint", "")+`) AS u)`, args...)
			return nil
		})
		moved = int64(len(cells))
		return q.run(ctx, b)
	})
	return moved, err
}

// addHours adds minute cells to their hours.
func addHours(b *batch, cells []bucketCell) {
	hours := make(map[bucketRow]int64, len(cells))
	for _, c := range cells {
		hours[bucketRow{c.subject, c.bucket - c.bucket%3600, c.code}] += c.count
	}
	addRows(b, "usage_hours", hours)
}

// addTotals adds the hour cells of keys (not of rollups: their subjects
// have a "/") to the keys' totals, as RecordUsage adds counts: only for
// keys that still exist, in key order.
func addTotals(b *batch, cells []bucketCell) {
	totals := map[bucketRow]int64{}
	for _, c := range cells {
		if !strings.Contains(c.subject, "/") {
			totals[bucketRow{subject: c.subject, code: c.code}] += c.count
		}
	}
	keys := slices.SortedFunc(maps.Keys(totals), compareBucketRows)
	chunks(len(keys), func(lo, hi int) error {
		args := make([]any, 0, 3*(hi-lo))
		for _, r := range keys[lo:hi] {
			args = append(args, r.subject, r.code, totals[r])
		}
		b.add(addKeyUsageSQL(hi-lo), args...)
		return nil
	})
}
