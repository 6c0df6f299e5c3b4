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

// bucketTable returns the table of granularity g.
func bucketTable(g token.Granularity) string {
	if g == token.Minute {
		return "usage_minutes"
	}
	return "usage_hours"
}

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
// minute and hour buckets of their keys, keyspaces and owners. The rows are
// sorted by primary key and each table is written in that order, so the
// flushes of two nodes lock shared rows (a keyspace's current minute) in
// the same order and cannot deadlock; each row is one atomic
// "count = count + excluded.count", so concurrent flushes add up.
func addBuckets(b *batch, batchIn []token.Usage) {
	minutes, hours := map[bucketRow]int64{}, map[bucketRow]int64{}
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
			h := mc.Minute.Truncate(time.Hour).Unix()
			for code, n := range mc.Counts {
				if n == 0 {
					continue
				}
				for _, s := range subjects {
					minutes[bucketRow{s, m, string(code)}] += n
					hours[bucketRow{s, h, string(code)}] += n
				}
			}
		}
	}
	for _, t := range []struct {
		table string
		rows  map[bucketRow]int64
	}{{"usage_minutes", minutes}, {"usage_hours", hours}} {
		keys := slices.SortedFunc(maps.Keys(t.rows), compareBucketRows)
		chunks(len(keys), func(lo, hi int) error {
			args := make([]any, 0, 4*(hi-lo))
			for _, r := range keys[lo:hi] {
				args = append(args, r.subject, r.bucket, r.code, t.rows[r])
			}
			b.add(`INSERT INTO `+t.table+` (subject, bucket, code, count)
				SELECT u.column1, u.column2, u.column3, u.column4 FROM (VALUES `+values(hi-lo, "", "bigint", "", "bigint")+`) AS u
				WHERE TRUE ORDER BY u.column1, u.column2, u.column3
				ON CONFLICT (subject, bucket, code) DO UPDATE SET count = `+t.table+`.count + excluded.count`, args...)
			return nil
		})
	}
}

// series reads the buckets of one subject in r.
func (db *DB) series(ctx context.Context, subject string, r token.UsageRange) ([]token.UsageBucket, error) {
	type cell struct {
		at    int64
		code  string
		count int64
	}
	cells, err := queryAll(ctx, db.e.reader(),
		"SELECT bucket, code, count FROM "+bucketTable(r.Granularity)+
			" WHERE subject = $1 AND bucket >= $2 AND bucket < $3 ORDER BY bucket, code",
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
		"SELECT subject, code, SUM(count) FROM "+bucketTable(r.Granularity)+
			" WHERE bucket >= $1 AND bucket < $2 AND subject IN ("+placeholders(3, 2+len(subjects))+") GROUP BY subject, code",
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
	w.add("EXISTS (SELECT 1 FROM " + bucketTable(f.Granularity) + " u WHERE u.subject = k.id AND u.bucket >= " +
		w.arg(f.From.Unix()) + " AND u.bucket < " + w.arg(f.To.Unix()) + ")")
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
	table := bucketTable(f.Granularity)
	w := &where{}
	if f.Owner != nil {
		w.add("subject = " + w.arg(ownerSubject(f.Keyspace, *f.Owner)))
	} else {
		// "0" follows "/": the range holds exactly the subjects with the prefix.
		w.add("subject >= " + w.arg(prefix))
		w.add("subject < " + w.arg(strings.TrimSuffix(prefix, "/")+"0"))
	}
	if after != "" {
		w.add("subject > " + w.arg(prefix+after))
	}
	w.add("bucket >= " + w.arg(f.From.Unix()))
	w.add("bucket < " + w.arg(f.To.Unix()))
	subjects, err := queryAll(ctx, db.e.reader(), "SELECT DISTINCT subject FROM "+table+w.String()+" ORDER BY subject LIMIT "+strconv.Itoa(limit+1), w.args,
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

// pruneChunk bounds the rows one prune statement deletes, so that SQLite's
// one writer is never held long and PostgreSQL's row locks stay few.
const pruneChunk = 5000

// PruneUsage deletes the buckets that began before their cut-off, a chunk
// at a time. On PostgreSQL the chunk skips rows another node's prune holds
// (FOR UPDATE SKIP LOCKED): concurrent prunes split the work, never wait on
// each other and cannot deadlock.
func (db *DB) PruneUsage(ctx context.Context, minutes, hours time.Time) (int64, error) {
	skip := ""
	if db.d.lockRow != "" {
		skip = db.d.lockRow + " SKIP LOCKED"
	}
	var total int64
	for _, t := range []struct {
		table string
		cut   int64
	}{{"usage_minutes", minutes.Unix()}, {"usage_hours", hours.Unix()}} {
		for {
			n, err := db.e.writer().exec(ctx, `DELETE FROM `+t.table+` WHERE (subject, bucket, code) IN
				(SELECT subject, bucket, code FROM `+t.table+` WHERE bucket < $1 LIMIT `+strconv.Itoa(pruneChunk)+skip+`)`, t.cut)
			total += n
			if err != nil {
				return total, db.errorf("prune %s: %w", t.table, err)
			}
			if n < pruneChunk {
				break
			}
		}
	}
	return total, nil
}
