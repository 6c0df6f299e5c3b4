package sqlstore

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/latchkey/latchkey/apitoken"
	"github.com/latchkey/latchkey/token"
)

// TestUsageMigration00027: a database whose flush counted every
// verification three times (its minute, its hour and key_usage, as before
// 00027) counts each once after the upgrade, with the same totals, hours
// and kept minutes (but for the minutes of the hours the prune may have
// cut into, 48 hours back, which their hour's row holds); and the
// downgrade restores the old layout.
func TestUsageMigration00027(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		ctx := context.Background()
		db := e.open(t)
		now := time.Now().UTC()
		ks := &token.Keyspace{Name: "default", Prefix: "lk", AllowPermanent: true, CreatedAt: now, UpdatedAt: now}
		if err := db.CreateKeyspace(ctx, ks, nil); err != nil {
			t.Fatal(err)
		}
		k := &token.Key{ID: token.NewID("key", now), Keyspace: "default", Digest: apitoken.Hash("lk_migration"), Start: "lk_mig",
			CreatedAt: now, UpdatedAt: now, Version: 1}
		if err := db.CreateKey(ctx, k, nil); err != nil {
			t.Fatal(err)
		}
		p := testProvider(t, db)
		if _, err := p.DownTo(ctx, 26); err != nil {
			t.Fatal(err)
		}
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := db.e.writer().exec(ctx, q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		// Two hours ago: every minute kept, and in its hour's row. 49 hours
		// ago: hour o's row holds 8, of which the prune left a minute of 5.
		// key_usage holds all of it and 7 verifications older than any bucket.
		h := now.Truncate(time.Hour).Add(-2 * time.Hour)
		o := now.Add(-49 * time.Hour).Truncate(time.Hour)
		for _, r := range []struct {
			table string
			at    time.Time
			n     int64
		}{
			{"usage_minutes", h.Add(10 * time.Minute), 1}, {"usage_minutes", h.Add(30 * time.Minute), 3},
			{"usage_minutes", h.Add(65 * time.Minute), 2}, {"usage_hours", h, 4}, {"usage_hours", h.Add(time.Hour), 2},
			{"usage_minutes", o.Add(50 * time.Minute), 5}, {"usage_hours", o, 8},
		} {
			exec("INSERT INTO "+r.table+" (subject, bucket, code, count) VALUES ($1, $2, 'VALID', $3)", k.ID, r.at.Unix(), r.n)
		}
		exec("INSERT INTO key_usage (key_id, code, count) VALUES ($1, 'VALID', 21)", k.ID)
		if _, err := p.Up(ctx); err != nil {
			t.Fatal(err)
		}

		counts, err := db.UsageCounts(ctx, k.ID)
		if err != nil || !maps.Equal(counts, map[token.Code]int64{token.CodeValid: 21}) {
			t.Errorf("total after the upgrade: %v %v, want 21 VALID", counts, err)
		}
		hours, err := db.KeyUsageBuckets(ctx, k.ID, token.UsageRange{Granularity: token.Hour, From: o, To: h.Add(2 * time.Hour)})
		if err != nil || len(hours) != 3 || !hours[0].Start.Equal(o) || hours[0].Counts[token.CodeValid] != 8 ||
			hours[1].Counts[token.CodeValid] != 4 || hours[2].Counts[token.CodeValid] != 2 {
			t.Errorf("hours after the upgrade: %v %v, want 8, 4 and 2", hours, err)
		}
		minutes, err := db.KeyUsageBuckets(ctx, k.ID, token.UsageRange{Granularity: token.Minute, From: o, To: h.Add(2 * time.Hour)})
		if err != nil || len(minutes) != 3 || !minutes[0].Start.Equal(h.Add(10*time.Minute)) {
			t.Errorf("minutes after the upgrade: %v %v, want the three of two hours ago", minutes, err)
		}
		var stored int64
		if err := db.e.reader().queryRow(ctx, "SELECT count FROM key_usage WHERE key_id = $1", k.ID).Scan(&stored); err != nil || stored != 7 {
			t.Errorf("key_usage after the upgrade: %d %v, want the 7 no bucket holds", stored, err)
		}

		// Down again: key_usage and each hour hold everything once more.
		if _, err := p.DownTo(ctx, 26); err != nil {
			t.Fatal(err)
		}
		if err := db.e.reader().queryRow(ctx, "SELECT count FROM key_usage WHERE key_id = $1", k.ID).Scan(&stored); err != nil || stored != 21 {
			t.Errorf("key_usage after the downgrade: %d %v, want 21", stored, err)
		}
		var ho, h0, h1 int64
		if err := db.e.reader().queryRow(ctx, `SELECT (SELECT count FROM usage_hours WHERE subject = $1 AND bucket = $2),
			(SELECT count FROM usage_hours WHERE subject = $1 AND bucket = $3), (SELECT count FROM usage_hours WHERE subject = $1 AND bucket = $4)`,
			k.ID, o.Unix(), h.Unix(), h.Add(time.Hour).Unix()).Scan(&ho, &h0, &h1); err != nil || ho != 8 || h0 != 4 || h1 != 2 {
			t.Errorf("hours after the downgrade: %d %d %d %v, want 8 4 2", ho, h0, h1, err)
		}
		if _, err := p.Up(ctx); err != nil {
			t.Fatal(err)
		}
	})
}
