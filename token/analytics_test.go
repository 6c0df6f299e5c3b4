package token_test

import (
	"context"
	"errors"
	"maps"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/store/sqlstore"
	"github.com/latchkey/latchkey/token"
)

// testClock is a settable clock for the Service.
type testClock struct{ ns atomic.Int64 }

func newTestClock(t time.Time) *testClock {
	c := &testClock{}
	c.set(t)
	return c
}
func (c *testClock) set(t time.Time)     { c.ns.Store(t.UnixNano()) }
func (c *testClock) add(d time.Duration) { c.ns.Add(int64(d)) }
func (c *testClock) now() time.Time      { return time.Unix(0, c.ns.Load()).UTC() }

// TestUsageBucketsAfterFlush: verifications with several outcomes, on both
// sides of a minute and an hour boundary between two flushes, land in the
// minute and hour buckets of their key and of its keyspace and owner, and
// PruneUsage drops the minutes after 48 hours and the hours after 90 days.
func TestUsageBucketsAfterFlush(t *testing.T) {
	ctx := context.Background()
	db, err := sqlstore.OpenSQLite(ctx, t.TempDir()+"/db")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	t0 := time.Date(2026, 5, 17, 10, 59, 30, 0, time.UTC)
	clock := newTestClock(t0)
	svc := token.NewService(token.Config{Store: db, Now: clock.now})
	if _, err := svc.Bootstrap(ctx, ""); err != nil {
		t.Fatal(err)
	}
	a := token.SystemActor
	if _, err := svc.CreatePrincipal(ctx, a, token.CreatePrincipalParams{Type: token.User, ID: "alice", Permissions: []string{"orders:read"}}); err != nil {
		t.Fatal(err)
	}
	owner := &token.Owner{Type: token.User, ID: "alice"}
	k, err := svc.CreateKey(ctx, a, token.CreateKeyParams{Owner: owner, Scopes: []string{"orders:read"}})
	if err != nil {
		t.Fatal(err)
	}
	verify := func(n int, scope string, want token.Code) {
		t.Helper()
		for range n {
			res, err := svc.Verify(ctx, token.VerifyRequest{Key: k.Secret.Reveal(), Scopes: []string{scope}})
			if err != nil || res.Code != want {
				t.Fatalf("Verify: %v %v, want %s", res, err, want)
			}
		}
	}
	verify(3, "orders:read", token.CodeValid) // 10:59:30
	verify(1, "orders:write", token.CodeInsufficientScope)
	clock.add(20 * time.Second) // 10:59:50
	verify(1, "orders:read", token.CodeValid)
	clock.add(20 * time.Second) // 11:00:10: a new minute and hour, same flush
	verify(2, "orders:read", token.CodeValid)
	if err := svc.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	clock.add(5 * time.Second) // a second flush into the same minute adds up
	verify(1, "orders:write", token.CodeInsufficientScope)
	if err := svc.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	m0 := time.Date(2026, 5, 17, 10, 59, 0, 0, time.UTC)
	h0 := time.Date(2026, 5, 17, 10, 0, 0, 0, time.UTC)
	type buckets = map[time.Time]map[token.Code]int64
	wantMinutes := buckets{
		m0:                  {token.CodeValid: 4, token.CodeInsufficientScope: 1},
		m0.Add(time.Minute): {token.CodeValid: 2, token.CodeInsufficientScope: 1},
	}
	wantHours := buckets{
		h0:                {token.CodeValid: 4, token.CodeInsufficientScope: 1},
		h0.Add(time.Hour): {token.CodeValid: 2, token.CodeInsufficientScope: 1},
	}
	check := func(what string, got []token.UsageBucket, err error, want buckets) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		g := buckets{}
		for _, b := range got {
			g[b.Start] = b.Counts
		}
		ok := len(g) == len(want)
		for at, c := range want {
			ok = ok && maps.Equal(g[at], c)
		}
		if !ok {
			t.Errorf("%s: %v, want %v", what, g, want)
		}
	}
	b, rng, err := svc.KeyUsageBuckets(ctx, a, k.Key.ID, token.UsageRange{Granularity: token.Minute, From: m0.Add(-10 * time.Minute)})
	check("minutes", b, err, wantMinutes)
	if !rng.To.Equal(m0.Add(2*time.Minute)) || !rng.From.Equal(m0.Add(-10*time.Minute)) {
		t.Errorf("range [%s, %s), want to rounded up to the next minute", rng.From, rng.To)
	}
	b, _, err = svc.KeyUsageBuckets(ctx, a, k.Key.ID, token.UsageRange{Granularity: token.Hour})
	check("hours", b, err, wantHours)
	an, err := svc.Analytics(ctx, a, token.AnalyticsQuery{Keyspace: token.DefaultKeyspace, UsageRange: token.UsageRange{Granularity: token.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	check("keyspace minutes", an.Buckets, nil, wantMinutes)
	if len(an.Groups) != 2 || an.Groups[0].Code != token.CodeInsufficientScope || an.Groups[0].Counts[token.CodeInsufficientScope] != 2 ||
		an.Groups[1].Code != token.CodeValid || an.Groups[1].Counts[token.CodeValid] != 6 {
		t.Errorf("totals by code: %+v", an.Groups)
	}
	an, err = svc.Analytics(ctx, a, token.AnalyticsQuery{Keyspace: token.DefaultKeyspace, GroupBy: token.GroupByOwner})
	if err != nil {
		t.Fatal(err)
	}
	if len(an.Groups) != 1 || *an.Groups[0].Owner != *owner || an.Groups[0].Counts[token.CodeValid] != 6 {
		t.Errorf("by owner: %+v", an.Groups)
	}
	// The key's totals (GET /v1/keys/{id}) still add up.
	counts, err := svc.KeyUsage(ctx, a, k.Key.ID)
	if err != nil || counts[token.CodeValid] != 6 || counts[token.CodeInsufficientScope] != 2 {
		t.Errorf("KeyUsage: %v %v", counts, err)
	}

	// 48 hours after the first minute began, it is pruned; the second stays.
	clock.set(m0.Add(token.MinuteRetention + time.Second))
	if _, err := svc.PruneUsage(ctx); err != nil {
		t.Fatal(err)
	}
	b, _, err = svc.KeyUsageBuckets(ctx, a, k.Key.ID, token.UsageRange{Granularity: token.Minute, From: m0, To: m0.Add(10 * time.Minute)})
	check("minutes after 48 h", b, err, buckets{m0.Add(time.Minute): wantMinutes[m0.Add(time.Minute)]})
	b, _, err = svc.KeyUsageBuckets(ctx, a, k.Key.ID, token.UsageRange{Granularity: token.Hour, From: h0, To: h0.Add(2 * time.Hour)})
	check("hours after 48 h", b, err, wantHours)
	clock.set(h0.Add(token.HourRetention + time.Second))
	if _, err := svc.PruneUsage(ctx); err != nil {
		t.Fatal(err)
	}
	b, _, err = svc.KeyUsageBuckets(ctx, a, k.Key.ID, token.UsageRange{Granularity: token.Hour, From: h0, To: h0.Add(2 * time.Hour)})
	check("hours after 90 days", b, err, buckets{h0.Add(time.Hour): wantHours[h0.Add(time.Hour)]})
}

// TestUsageRangeBounds: the range rules that GET /v1/keys/{id}/usage and
// GET /v1/analytics answer 400 for.
func TestUsageRangeBounds(t *testing.T) {
	now := time.Date(2026, 5, 17, 10, 30, 15, 0, time.UTC)
	for _, tc := range []struct {
		name string
		r    token.UsageRange
		code string // "" = valid
	}{
		{"defaults: 60 hours before now", token.UsageRange{}, ""},
		{"unknown granularity", token.UsageRange{Granularity: "day"}, "bad_granularity"},
		{"to before from", token.UsageRange{From: now, To: now.Add(-time.Minute)}, "bad_range"},
		{"to equal to from", token.UsageRange{From: now, To: now}, "bad_range"},
		{"2880 minutes fit", token.UsageRange{Granularity: token.Minute, From: now.Add(-48 * time.Hour).Truncate(time.Minute), To: now.Truncate(time.Minute)}, ""},
		{"2881 minutes do not", token.UsageRange{Granularity: token.Minute, From: now.Add(-48*time.Hour - time.Minute).Truncate(time.Minute), To: now.Truncate(time.Minute)}, "bad_range"},
		{"a year of hours does not", token.UsageRange{Granularity: token.Hour, From: now.AddDate(-1, 0, 0), To: now}, "bad_range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.r
			err := token.NormalizeUsageRange(&r, now)
			var e *token.Error
			switch {
			case tc.code == "" && err != nil:
				t.Fatalf("error %v, want none", err)
			case tc.code != "" && (!errors.As(err, &e) || e.Code != tc.code || e.Kind != token.Invalid):
				t.Fatalf("error %v, want Invalid %s", err, tc.code)
			case tc.code == "" && (r.From.Truncate(r.Granularity.Duration()) != r.From || !r.To.After(r.From)):
				t.Fatalf("range [%s, %s) not aligned", r.From, r.To)
			}
		})
	}
}

// failingUsage is a store whose next RecordUsage fails (the Vault
// error-injector pattern: the real store underneath).
type failingUsage struct {
	token.Store
	fail atomic.Bool
}

func (s *failingUsage) RecordUsage(ctx context.Context, b []token.Usage) error {
	if s.fail.Swap(false) {
		return errors.New("injected: disk full")
	}
	return s.Store.RecordUsage(ctx, b)
}

// TestUsageFlushFailureKeepsMinutes: a flush that fails keeps its counts
// in memory with their minutes, merged with what comes after, and the next
// flush writes every bucket once.
func TestUsageFlushFailureKeepsMinutes(t *testing.T) {
	ctx := context.Background()
	db, err := sqlstore.OpenSQLite(ctx, t.TempDir()+"/db")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m0 := time.Date(2026, 5, 17, 10, 30, 0, 0, time.UTC)
	clock := newTestClock(m0.Add(10 * time.Second))
	st := &failingUsage{Store: db}
	svc := token.NewService(token.Config{Store: st, Now: clock.now})
	if _, err := svc.Bootstrap(ctx, ""); err != nil {
		t.Fatal(err)
	}
	k, err := svc.CreateKey(ctx, token.SystemActor, token.CreateKeyParams{Scopes: []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	verify := func(n int) {
		for range n {
			if _, err := svc.Verify(ctx, token.VerifyRequest{Key: k.Secret.Reveal()}); err != nil {
				t.Fatal(err)
			}
		}
	}
	verify(2)
	st.fail.Store(true)
	if err := svc.Flush(ctx); err == nil {
		t.Fatal("Flush with a failing store = nil")
	}
	verify(1) // same minute, after the failure
	clock.add(time.Minute)
	verify(4)
	if err := svc.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	b, _, err := svc.KeyUsageBuckets(ctx, token.SystemActor, k.Key.ID, token.UsageRange{Granularity: token.Minute, From: m0})
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 2 || !b[0].Start.Equal(m0) || b[0].Counts[token.CodeValid] != 3 || b[1].Counts[token.CodeValid] != 4 {
		t.Fatalf("buckets %+v, want 3 in %s and 4 in the next minute", b, m0)
	}
	if counts, err := svc.KeyUsage(ctx, token.SystemActor, k.Key.ID); err != nil || counts[token.CodeValid] != 7 {
		t.Fatalf("totals %v %v, want 7 VALID", counts, err)
	}
}
