package sqlstore

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/token"
)

// TestUsageTwoNodesFlushIntoOneMinute: two nodes on one database verify the
// same key in the same minute and flush at the same moment, round after
// round: the minute and hour buckets of the key, its keyspace and its owner
// hold the sum of both (no lost update, no deadlock); and two nodes pruning
// at once delete every expired bucket between them without an error.
func TestUsageTwoNodesFlushIntoOneMinute(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		ctx := context.Background()
		db1 := e.open(t)
		db2 := e.reopen(t, db1)
		now := time.Date(2026, 5, 17, 10, 30, 5, 0, time.UTC)
		clock := func() time.Time { return now }
		nodes := []*token.Service{
			token.NewService(token.Config{Store: db1, Now: clock}),
			token.NewService(token.Config{Store: db2, Now: clock}),
		}
		if _, err := nodes[0].Bootstrap(ctx, ""); err != nil {
			t.Fatal(err)
		}
		a := token.SystemActor
		if _, err := nodes[0].CreatePrincipal(ctx, a, token.CreatePrincipalParams{Type: token.App, ID: "billing", Permissions: []string{"orders:read"}}); err != nil {
			t.Fatal(err)
		}
		var secrets []string
		for range 3 {
			k, err := nodes[0].CreateKey(ctx, a, token.CreateKeyParams{Owner: &token.Owner{Type: token.App, ID: "billing"}, Scopes: []string{"orders:read"}})
			if err != nil {
				t.Fatal(err)
			}
			secrets = append(secrets, k.Secret.Reveal())
		}
		const rounds, perRound = 10, 7
		for range rounds {
			var wg sync.WaitGroup
			errs := make([]error, len(nodes))
			for i, n := range nodes {
				wg.Go(func() {
					for j := range perRound {
						// The nodes verify the keys in opposite orders.
						s := secrets[(j+i)%len(secrets)]
						if _, err := n.Verify(ctx, token.VerifyRequest{Key: s, Scopes: []string{"orders:read"}}); err != nil {
							errs[i] = err
							return
						}
					}
					errs[i] = n.Flush(ctx)
				})
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					t.Fatalf("verify and flush: %v", err)
				}
			}
		}
		want := int64(rounds * perRound * len(nodes))
		m := now.Truncate(time.Minute)
		for _, g := range []token.Granularity{token.Minute, token.Hour} {
			an, err := nodes[1].Analytics(ctx, a, token.AnalyticsQuery{Keyspace: token.DefaultKeyspace, UsageRange: token.UsageRange{Granularity: g}})
			if err != nil {
				t.Fatal(err)
			}
			if len(an.Buckets) != 1 || !an.Buckets[0].Start.Equal(m.Truncate(g.Duration())) || an.Buckets[0].Counts[token.CodeValid] != want {
				t.Errorf("keyspace %s buckets %+v, want one with %d VALID", g, an.Buckets, want)
			}
			by, err := nodes[0].Analytics(ctx, a, token.AnalyticsQuery{Keyspace: token.DefaultKeyspace, UsageRange: token.UsageRange{Granularity: g}, GroupBy: token.GroupByOwner})
			if err != nil {
				t.Fatal(err)
			}
			if len(by.Groups) != 1 || by.Groups[0].Counts[token.CodeValid] != want {
				t.Errorf("owner %s totals %+v, want %d VALID", g, by.Groups, want)
			}
			keys, err := nodes[0].Analytics(ctx, a, token.AnalyticsQuery{Keyspace: token.DefaultKeyspace, UsageRange: token.UsageRange{Granularity: g}, GroupBy: token.GroupByKey})
			if err != nil {
				t.Fatal(err)
			}
			var sum int64
			for _, k := range keys.Groups {
				sum += k.Counts[token.CodeValid]
			}
			if len(keys.Groups) != len(secrets) || sum != want {
				t.Errorf("keys %s: %+v, want %d keys summing to %d", g, keys.Groups, len(secrets), want)
			}
		}

		// Both nodes prune at once, 49 hours later (the minutes move into
		// their hour: once, whichever node moves them) and 91 days later
		// (the hours go).
		prune := func(later time.Time) int64 {
			var wg sync.WaitGroup
			var pruned [2]int64
			var perrs [2]error
			for i, db := range []*DB{db1, db2} {
				wg.Go(func() {
					pruned[i], perrs[i] = db.PruneUsage(ctx, later.Add(-token.MinuteRetention), later.Add(-token.HourRetention))
				})
			}
			wg.Wait()
			if perrs[0] != nil || perrs[1] != nil {
				t.Fatalf("concurrent prunes: %v, %v", perrs[0], perrs[1])
			}
			return pruned[0] + pruned[1]
		}
		// 3 keys + keyspace + owner: one minute row each.
		if n := prune(now.Add(49 * time.Hour)); n != 5 {
			t.Errorf("the nodes moved %d minute rows between them, want 5", n)
		}
		hour := token.UsageRange{Granularity: token.Hour, From: m.Truncate(time.Hour), To: m.Truncate(time.Hour).Add(time.Hour)}
		for i, n := range nodes {
			an, err := n.Analytics(ctx, a, token.AnalyticsQuery{Keyspace: token.DefaultKeyspace, UsageRange: hour})
			if err != nil {
				t.Fatal(err)
			}
			if len(an.Buckets) != 1 || an.Buckets[0].Counts[token.CodeValid] != want {
				t.Errorf("node %d: the keyspace's hour after the minutes moved: %+v, want %d VALID", i, an.Buckets, want)
			}
			by, err := n.Analytics(ctx, a, token.AnalyticsQuery{Keyspace: token.DefaultKeyspace, UsageRange: hour, GroupBy: token.GroupByKey})
			if err != nil {
				t.Fatal(err)
			}
			var sum int64
			for _, k := range by.Groups {
				sum += k.Counts[token.CodeValid]
			}
			if sum != want {
				t.Errorf("node %d: the keys' hour after the minutes moved: %+v, want %d VALID", i, by.Groups, want)
			}
		}
		// The 5 hour rows the minutes moved into.
		if n := prune(now.Add(91 * 24 * time.Hour)); n != 5 {
			t.Errorf("the nodes deleted %d hour rows between them, want 5", n)
		}
	})
}
