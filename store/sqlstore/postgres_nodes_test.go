package sqlstore

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/token"
)

// TestConcurrentOpenMigratesOnce starts three nodes at once on a schema
// that does not exist yet: every Open succeeds, and each migration is
// applied exactly once.
func TestConcurrentOpenMigratesOnce(t *testing.T) {
	url := testURL(t)
	schema := freshSchema(t, url)
	const nodes = 3
	dbs := make([]*DB, nodes)
	errs := make([]error, nodes)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() {
			<-start
			dbs[i], errs[i] = OpenPostgres(context.Background(), url, WithSchema(schema))
		})
	}
	began := time.Now()
	close(start)
	wg.Wait()
	t.Logf("%d concurrent Opens took %v", nodes, time.Since(began))
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		defer dbs[i].Close()
	}
	st, err := dbs[0].MigrationStatus(context.Background())
	if err != nil {
		t.Fatalf("MigrationStatus: %v", err)
	}
	ctx := context.Background()
	rows, err := pgOf(dbs[0]).pool.Query(ctx, `SELECT version_id, count(*) FROM goose_db_version
		WHERE is_applied GROUP BY version_id ORDER BY version_id`)
	if err != nil {
		t.Fatalf("read goose_db_version: %v", err)
	}
	applied, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (n [2]int64, err error) {
		return n, r.Scan(&n[0], &n[1])
	})
	if err != nil {
		t.Fatalf("read goose_db_version: %v", err)
	}
	if len(applied) != len(st)+1 { // goose's own version 0, then ours
		t.Fatalf("goose_db_version holds versions %v, want 0 and %d migrations", applied, len(st))
	}
	for _, a := range applied {
		if a[1] != 1 {
			t.Errorf("version %d recorded %d times, want once", a[0], a[1])
		}
	}
	// Each node works on the shared tables.
	k := seedKey(t, dbs[0], 1)
	for i, db := range dbs {
		if _, err := db.KeyByID(ctx, k.ID); err != nil {
			t.Errorf("node %d: KeyByID: %v", i, err)
		}
	}
}

// TestSpendCreditsAcrossNodes spends from two handles (two nodes' pools)
// with 25 goroutines each: exactly the stored credits are spent, and a
// refill due in a new period is applied once, not once per node.
func TestSpendCreditsAcrossNodes(t *testing.T) {
	url := testURL(t)
	schema := freshSchema(t, url)
	nodes := []*DB{openPGTest(t, url, schema), openPGTest(t, url, schema)}
	day1 := time.Date(2026, 5, 17, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		credits int64
		refill  *token.Refill
		period  time.Time
		want    int64 // successful spends of one credit
	}{
		{"plain credits", 30, nil, time.Time{}, 30},
		{"refill due in a new period", 0, &token.Refill{Interval: token.RefillDaily, Amount: 35}, day1.AddDate(0, 0, 1), 35},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := seedKey(t, nodes[0], tc.credits, func(k *token.Key) { k.Refill, k.RefilledAt = tc.refill, day1 })
			const perNode = 25
			var spent atomic.Int64
			var wg sync.WaitGroup
			for _, db := range nodes {
				for range perNode {
					wg.Go(func() {
						for range 2 { // 100 attempts in all, more than the credits
							left, ok, err := db.SpendCredits(context.Background(), k.ID, 1, tc.period)
							switch {
							case err != nil:
								t.Errorf("SpendCredits: %v", err)
							case ok:
								spent.Add(1)
							case left != 0:
								t.Errorf("SpendCredits refused with %d credits left", left)
							}
						}
					})
				}
			}
			wg.Wait()
			if spent.Load() != tc.want {
				t.Errorf("%d spends succeeded, want exactly %d", spent.Load(), tc.want)
			}
			got, err := nodes[1].KeyByID(context.Background(), k.ID)
			if err != nil {
				t.Fatalf("KeyByID: %v", err)
			}
			if *got.Remaining != 0 || got.Version != k.Version+tc.want {
				t.Errorf("stored: remaining %d, version %d; want 0, %d", *got.Remaining, got.Version, k.Version+tc.want)
			}
			if tc.refill != nil && !got.RefilledAt.Equal(tc.period) {
				t.Errorf("refilled at %v, want %v", got.RefilledAt, tc.period)
			}
		})
	}
}

// TestStatementTimeout: a key whose row another session holds locked makes
// writes fail after the statement timeout, with an error and no data,
// instead of hanging.
func TestStatementTimeout(t *testing.T) {
	url := testURL(t)
	ctx := context.Background()
	schema := freshSchema(t, url)
	// Seed through a handle with the default timeout: on a loaded machine a
	// commit may take longer than the short timeout under test.
	k := seedKey(t, openPGTest(t, url, schema), 5)
	db := openPGTest(t, url, schema, WithStatementTimeout(200*time.Millisecond))

	cc, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cc.RuntimeParams["search_path"] = schema
	blocker, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		t.Fatal(err)
	}
	defer blocker.Close(ctx)
	tx, err := blocker.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SELECT 1 FROM keys WHERE id = $1 FOR UPDATE", k.ID); err != nil {
		t.Fatal(err)
	}

	began := time.Now()
	if left, ok, err := db.SpendCredits(ctx, k.ID, 1, time.Time{}); err == nil || ok || left != 0 {
		t.Errorf("SpendCredits on a locked row = %d, %v, %v; want an error", left, ok, err)
	}
	called := false
	got, err := db.UpdateKey(ctx, k.ID, func(*token.Key) error { called = true; return nil }, nil)
	if err == nil || got != nil || called {
		t.Errorf("UpdateKey on a locked row = %v, %v (fn called: %v); want an error before fn", got, err, called)
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("two timed-out statements took %v", d)
	}
	// Reads do not wait for row locks.
	if _, err := db.KeyByID(ctx, k.ID); err != nil {
		t.Errorf("KeyByID of a locked row: %v", err)
	}
}

// TestRecordUsageAcrossNodes flushes overlapping batches from two nodes at
// once, in opposite orders, while keys are deleted: the key rows are locked
// in ID order, so no flush deadlocks or fails, and the counts add up.
func TestRecordUsageAcrossNodes(t *testing.T) {
	url := testURL(t)
	ctx := context.Background()
	schema := freshSchema(t, url)
	nodes := []*DB{openPGTest(t, url, schema), openPGTest(t, url, schema)}
	var keys []*token.Key
	for range 8 {
		keys = append(keys, seedKey(t, nodes[0], 1))
	}
	doomed := seedKey(t, nodes[0], 1)
	const rounds = 15
	var wg sync.WaitGroup
	for n, db := range nodes {
		wg.Go(func() {
			for r := range rounds {
				var batch []token.Usage
				for i := range keys {
					k := keys[i]
					if n == 1 {
						k = keys[len(keys)-1-i]
					}
					batch = append(batch, token.Usage{KeyID: k.ID, LastUsedAt: time.Unix(0, int64(r+1)),
						LastUsedIP: "192.0.2.1", Counts: map[token.Code]int64{token.CodeValid: 1}})
				}
				batch = append(batch, token.Usage{KeyID: doomed.ID, Counts: map[token.Code]int64{token.CodeValid: 1}})
				if err := db.RecordUsage(ctx, batch); err != nil {
					t.Errorf("node %d: RecordUsage: %v", n, err)
				}
			}
		})
	}
	wg.Go(func() {
		if err := nodes[1].DeleteKey(ctx, doomed.ID, func(*token.Key) error { return nil }, nil); err != nil {
			t.Errorf("DeleteKey: %v", err)
		}
	})
	wg.Wait()
	for _, k := range keys {
		counts, err := nodes[0].UsageCounts(ctx, k.ID)
		if err != nil || counts[token.CodeValid] != 2*rounds {
			t.Errorf("key %s: counts %v, %v; want %d valid", k.ID, counts, err, 2*rounds)
		}
	}
	if counts, err := nodes[0].UsageCounts(ctx, doomed.ID); err != nil || len(counts) != 0 {
		t.Errorf("deleted key: counts %v, %v; want none", counts, err)
	}
}
