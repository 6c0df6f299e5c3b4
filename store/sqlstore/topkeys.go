package sqlstore

import (
	"context"
	"strconv"

	"github.com/latchkey/latchkey/token"
)

// TopKeysByUsage returns the limit (at most token.MaxTopKeys) keys of f's
// keyspace (of f.Owner's keys if set) with the most verifications in the
// range, most first (ties by ID), each with its totals by code.
//
// It reads the bucket rows of the range (index usage_<table>_bucket), not
// the keys of the keyspace: the key rows are summed per subject first —
// rollups ("s/…", "o/…"; key IDs have no "/") left out — and only then
// joined to keys by primary key, so a keyspace of a million keys of which
// a few were used costs the few keys' rows, where UsageByKey walks every
// key in ID order. Aggregating before the join keeps the planner from
// driving the join from the keyspace's keys.
func (db *DB) TopKeysByUsage(ctx context.Context, f token.UsageFilter, limit int) ([]token.UsageGroup, error) {
	if limit <= 0 || limit > token.MaxTopKeys {
		limit = token.MaxTopKeys
	}
	w := &where{}
	src := bucketSource(f.Granularity, "subject NOT LIKE '_/%'", w.arg(f.From.Unix()), w.arg(f.To.Unix()))
	w.add("k.keyspace = " + w.arg(f.Keyspace))
	if f.Owner != nil {
		w.add("k.owner_type = " + w.arg(string(f.Owner.Type)))
		w.add("k.owner_id = " + w.arg(f.Owner.ID))
	}
	ids, err := queryAll(ctx, db.e.reader(),
		"SELECT t.subject FROM (SELECT subject, SUM(count) AS n FROM "+src+" GROUP BY subject) AS t"+
			" JOIN keys k ON k.id = t.subject"+w.String()+
			" ORDER BY t.n DESC, t.subject LIMIT "+strconv.Itoa(limit), w.args,
		func(s scanner) (id string, err error) { return id, s.Scan(&id) })
	if err != nil {
		return nil, db.errorf("top keys of keyspace %s: %w", f.Keyspace, err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	sums, err := db.totals(ctx, ids, f.UsageRange)
	if err != nil {
		return nil, db.errorf("top keys of keyspace %s: %w", f.Keyspace, err)
	}
	out := make([]token.UsageGroup, 0, len(ids))
	for _, id := range ids {
		out = append(out, token.UsageGroup{KeyID: id, Counts: sums[id]})
	}
	return out, nil
}
