package sqlstore

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/latchkey/latchkey/token"
)

// TestUsageStoragePerKeyDay measures what a day of usage buckets costs: N
// keys (10 per owner, one keyspace), each verified in every minute of the
// day, flushed once a minute; it logs rows and bytes per key per day, and
// the time of a keyspace's day of minutes read from the rollup against the
// same sum computed by joining the keys at query time (docs/benchmarks.md,
// "Usage analytics"). Slow: it runs only with LATCHKEY_USAGE_STORAGE=N.
func TestUsageStoragePerKeyDay(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("LATCHKEY_USAGE_STORAGE"))
	if n <= 0 {
		t.Skip("set LATCHKEY_USAGE_STORAGE=<keys> to measure")
	}
	forEachEngine(t, func(t *testing.T, e testEngine) {
		ctx := context.Background()
		db := e.open(t)
		day := time.Date(2026, 5, 17, 0, 0, 0, 0, time.UTC)
		ks := &token.Keyspace{Name: "acme", Prefix: "acme", AllowPermanent: true, CreatedAt: day, UpdatedAt: day}
		if err := db.CreateKeyspace(ctx, ks, ev("keyspace.create")); err != nil {
			t.Fatal(err)
		}
		var usage []token.Usage
		for i := range n {
			owner := &token.Owner{Type: token.App, ID: fmt.Sprintf("app%d", i/10)}
			if i%10 == 0 {
				p := &token.Principal{Type: owner.Type, ID: owner.ID, CreatedAt: day, UpdatedAt: day, Version: 1}
				if err := db.CreatePrincipal(ctx, p, ev("app.create")); err != nil {
					t.Fatal(err)
				}
			}
			k := &token.Key{ID: token.NewID("key", time.Now()), Keyspace: "acme", Owner: owner, Start: "acme_x",
				CreatedAt: day, UpdatedAt: day, Version: 1}
			copy(k.Digest[:], k.ID)
			if err := db.CreateKey(ctx, k, ev("key.create")); err != nil {
				t.Fatal(err)
			}
			usage = append(usage, token.Usage{KeyID: k.ID, Keyspace: "acme", Owner: owner})
		}
		before := usageBytes(t, db)
		began := time.Now()
		for m := range 24 * 60 {
			at := day.Add(time.Duration(m) * time.Minute)
			for i := range usage {
				usage[i].LastUsedAt = at
				usage[i].Counts = map[token.Code]int64{token.CodeValid: 3}
				usage[i].Minutes = []token.MinuteCounts{{Minute: at, Counts: usage[i].Counts}}
			}
			if err := db.RecordUsage(ctx, usage); err != nil {
				t.Fatal(err)
			}
		}
		took := time.Since(began)
		after := usageBytes(t, db)
		var minutes, hours int64
		for _, c := range []struct {
			table string
			dst   *int64
		}{{"usage_minutes", &minutes}, {"usage_hours", &hours}} {
			if err := db.e.reader().queryRow(ctx, "SELECT count(*) FROM "+c.table).Scan(c.dst); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("%s, %d active keys (10 per owner), one code, a day of minutes (1,440 flushes in %v, %v each):", e.name, n, took.Round(time.Millisecond), (took / 1440).Round(time.Microsecond))
		t.Logf("  rows: %d minute + %d hour = %.1f per key per day (key rows 1,440; the rest are the keyspace's and owners' rollups)",
			minutes, hours, float64(minutes+hours)/float64(n))
		t.Logf("  bytes (tables + indexes): %d, %.0f per key per day (%.1f KiB)", after-before, float64(after-before)/float64(n), float64(after-before)/float64(n)/1024)

		r := token.UsageRange{Granularity: token.Minute, From: day, To: day.Add(24 * time.Hour)}
		const reps = 5
		began = time.Now()
		for range reps {
			b, err := db.UsageSeries(ctx, token.UsageFilter{Keyspace: "acme", UsageRange: r})
			if err != nil || len(b) != 1440 {
				t.Fatalf("UsageSeries: %d buckets, %v", len(b), err)
			}
		}
		rollup := time.Since(began) / reps
		began = time.Now()
		for range reps {
			var cells int
			rs, err := db.e.reader().query(ctx, `SELECT u.bucket, u.code, SUM(u.count) FROM usage_minutes u JOIN keys k ON k.id = u.subject
				WHERE k.keyspace = $1 AND u.bucket >= $2 AND u.bucket < $3 GROUP BY u.bucket, u.code`, "acme", r.From.Unix(), r.To.Unix())
			if err != nil {
				t.Fatal(err)
			}
			for rs.Next() {
				cells++
			}
			rs.Close()
			if err := rs.Err(); err != nil || cells != 1440 {
				t.Fatalf("join: %d cells, %v", cells, err)
			}
		}
		join := time.Since(began) / reps
		t.Logf("  a keyspace's day of minutes: %v from the rollup, %v by joining keys at query time", rollup.Round(time.Microsecond), join.Round(time.Microsecond))

		// 48 hours on, the prune moves the day's minutes into its hours.
		began = time.Now()
		moved, err := db.PruneUsage(ctx, day.Add(24*time.Hour), day)
		if err != nil || moved != minutes {
			t.Fatalf("PruneUsage moved %d of %d minute rows: %v", moved, minutes, err)
		}
		folded := time.Since(began)
		hourBytes := usageBytes(t, db)
		if err := db.e.reader().queryRow(ctx, "SELECT count(*) FROM usage_hours").Scan(&hours); err != nil {
			t.Fatal(err)
		}
		t.Logf("  moved into hours in %v: %d hour rows = %.1f per key per day, %d bytes, %.0f per key per day",
			folded.Round(time.Millisecond), hours, float64(hours)/float64(n), hourBytes-before, float64(hourBytes-before)/float64(n))
	})
}

func ev(action string) *token.AuditEvent {
	return &token.AuditEvent{ID: token.NewID("aud", time.Now()), Time: time.Now(), Action: action, Outcome: token.OutcomeSuccess}
}

// usageBytes returns the size of the usage tables and their indexes, as
// the engine reports it (SQLite: pages of the b-trees after a checkpoint;
// PostgreSQL: after VACUUM FULL, live tuples only).
func usageBytes(t *testing.T, db *DB) int64 {
	t.Helper()
	ctx := context.Background()
	var n int64
	var err error
	if db.d.name == "sqlite" {
		err = db.e.reader().queryRow(ctx, `SELECT COALESCE(SUM(pgsize), 0) FROM dbstat
			WHERE name IN ('usage_minutes', 'usage_hours', 'usage_minutes_bucket', 'usage_hours_bucket')`).Scan(&n)
	} else {
		if _, err := db.e.writer().exec(ctx, "VACUUM FULL usage_minutes"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.e.writer().exec(ctx, "VACUUM FULL usage_hours"); err != nil {
			t.Fatal(err)
		}
		err = db.e.reader().queryRow(ctx, "SELECT pg_total_relation_size('usage_minutes') + pg_total_relation_size('usage_hours')").Scan(&n)
	}
	if err != nil {
		t.Fatal(err)
	}
	return n
}
