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
// and kept minutes (but the kept minutes of the oldest hour, which its row
// holds); and the downgrade restores the old layout.
func TestUsageMigration00027(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		ctx := context.Background()
		db := e.open(t)
		now := time.Date(2026, 5, 17, 10, 0, 0, 0, time.UTC)
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
		h := now.Unix()
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := db.e.writer().exec(ctx, q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		// The oldest kept minute is h+30m (h+10m, counted in hour h's
		// row, was pruned); h+65m is in hour h+1. key_usage holds them and
		// 7 verifications older than the buckets.
		for _, r := range []struct {
			table  string
			bucket int64
			n      int64
		}{
			{"usage_minutes", h + 30*60, 3}, {"usage_minutes", h + 65*60, 2},
			{"usage_hours", h, 4}, {"usage_hours", h + 3600, 2},
		} {
			exec("INSERT INTO "+r.table+" (subject, bucket, code, count) VALUES ($1, $2, 'VALID', $3)", k.ID, r.bucket, r.n)
		}
		exec("INSERT INTO key_usage (key_id, code, count) VALUES ($1, 'VALID', 13)", k.ID)
		if _, err := p.Up(ctx); err != nil {
			t.Fatal(err)
		}

		counts, err := db.UsageCounts(ctx, k.ID)
		if err != nil || !maps.Equal(counts, map[token.Code]int64{token.CodeValid: 13}) {
			t.Errorf("total after the upgrade: %v %v, want 13 VALID", counts, err)
		}
		hours, err := db.KeyUsageBuckets(ctx, k.ID, token.UsageRange{Granularity: token.Hour, From: now, To: now.Add(2 * time.Hour)})
		if err != nil || len(hours) != 2 || hours[0].Counts[token.CodeValid] != 4 || hours[1].Counts[token.CodeValid] != 2 {
			t.Errorf("hours after the upgrade: %v %v, want 4 and 2", hours, err)
		}
		minutes, err := db.KeyUsageBuckets(ctx, k.ID, token.UsageRange{Granularity: token.Minute, From: now, To: now.Add(2 * time.Hour)})
		if err != nil || len(minutes) != 1 || !minutes[0].Start.Equal(now.Add(65*time.Minute)) || minutes[0].Counts[token.CodeValid] != 2 {
			t.Errorf("minutes after the upgrade: %v %v, want h+65m: 2", minutes, err)
		}
		var stored int64
		if err := db.e.reader().queryRow(ctx, "SELECT count FROM key_usage WHERE key_id = $1", k.ID).Scan(&stored); err != nil || stored != 7 {
			t.Errorf("key_usage after the upgrade: %d %v, want the 7 no bucket holds", stored, err)
		}

		// Down again: key_usage and each hour hold everything once more.
		if _, err := p.DownTo(ctx, 26); err != nil {
			t.Fatal(err)
		}
		if err := db.e.reader().queryRow(ctx, "SELECT count FROM key_usage WHERE key_id = $1", k.ID).Scan(&stored); err != nil || stored != 13 {
			t.Errorf("key_usage after the downgrade: %d %v, want 13", stored, err)
		}
		var h0, h1 int64
		if err := db.e.reader().queryRow(ctx, "SELECT (SELECT count FROM usage_hours WHERE subject = $1 AND bucket = $2), (SELECT count FROM usage_hours WHERE subject = $1 AND bucket = $3)",
			k.ID, h, h+3600).Scan(&h0, &h1); err != nil || h0 != 4 || h1 != 2 {
			t.Errorf("hours after the downgrade: %d %d %v, want 4 2", h0, h1, err)
		}
		if _, err := p.Up(ctx); err != nil {
			t.Fatal(err)
		}
	})
}
