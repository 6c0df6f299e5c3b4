package storetest

import (
	"maps"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/ratelimit"
	"github.com/latchkey/latchkey/token"
)

// remaining returns key id's stored credits, -1 for unlimited.
func remaining(t *testing.T, s token.Store, id string) int64 {
	t.Helper()
	k := getKey(t, s, id)
	if k.Remaining == nil {
		return -1
	}
	return *k.Remaining
}

var creditTests = []test{
	{"spends while enough credits remain", func(t *testing.T, s token.Store) {
		k := createKey(t, s, func(k *token.Key) { k.Remaining = ptr(int64(5)) })
		for _, step := range []struct {
			cost, left int64
			ok         bool
		}{{2, 3, true}, {1, 2, true}, {3, 2, false}, {2, 0, true}, {1, 0, false}, {0, 0, true}} {
			left, ok, err := s.SpendCredits(bg, k.ID, step.cost, time.Time{})
			if err != nil || left != step.left || ok != step.ok {
				t.Fatalf("SpendCredits(cost %d) = %d, %v, %v; want %d, %v, nil", step.cost, left, ok, err, step.left, step.ok)
			}
			if got := remaining(t, s, k.ID); got != step.left {
				t.Fatalf("after SpendCredits(cost %d): %d stored, want %d", step.cost, got, step.left)
			}
		}
	}},
	{"spending more than remains spends nothing", func(t *testing.T, s token.Store) {
		k := createKey(t, s, func(k *token.Key) { k.Remaining = ptr(int64(3)) })
		left, ok, err := s.SpendCredits(bg, k.ID, 4, time.Time{})
		if err != nil || ok || left != 3 {
			t.Fatalf("SpendCredits(4 of 3) = %d, %v, %v; want 3, false, nil", left, ok, err)
		}
		if got := remaining(t, s, k.ID); got != 3 {
			t.Fatalf("%d credits stored, want 3", got)
		}
	}},
	{"a key without a credit limit spends nothing and succeeds", func(t *testing.T, s token.Store) {
		k := createKey(t, s)
		left, ok, err := s.SpendCredits(bg, k.ID, 1, time.Time{})
		if err != nil || !ok || left != 0 {
			t.Fatalf("SpendCredits = %d, %v, %v; want 0, true, nil", left, ok, err)
		}
		if got := getKey(t, s, k.ID).Remaining; got != nil {
			t.Fatalf("Remaining = %d after spending, want still unlimited (nil)", *got)
		}
	}},
	{"a missing key returns ErrNotFound", func(t *testing.T, s token.Store) {
		createKey(t, s, func(k *token.Key) { k.Remaining = ptr(int64(3)) })
		_, _, err := s.SpendCredits(bg, newID("key"), 1, time.Time{})
		wantErr(t, "SpendCredits", err, token.ErrNotFound)
	}},
	{"concurrent spending never spends a credit twice", func(t *testing.T, s token.Store) {
		const credits, workers = 20, 50
		k := createKey(t, s, func(k *token.Key) { k.Remaining = ptr(int64(credits)) })
		var spent atomic.Int64
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				left, ok, err := s.SpendCredits(bg, k.ID, 1, time.Time{})
				switch {
				case err != nil:
					t.Errorf("SpendCredits: %v", err)
				case ok:
					spent.Add(1)
					if left < 0 || left >= credits {
						t.Errorf("SpendCredits left %d credits", left)
					}
				case left != 0:
					t.Errorf("SpendCredits refused with %d credits left", left)
				}
			})
		}
		wg.Wait()
		if spent.Load() != credits {
			t.Errorf("%d of %d spends succeeded, want exactly %d", spent.Load(), workers, credits)
		}
		if got := remaining(t, s, k.ID); got != 0 {
			t.Errorf("%d credits stored, want 0", got)
		}
	}},
	{"spending writes no audit event", func(t *testing.T, s token.Store) {
		k := createKey(t, s, func(k *token.Key) { k.Remaining = ptr(int64(3)) })
		n := auditCount(t, s)
		if _, _, err := s.SpendCredits(bg, k.ID, 1, time.Time{}); err != nil {
			t.Fatalf("SpendCredits: %v", err)
		}
		if got := auditCount(t, s); got != n {
			t.Errorf("audit log grew from %d to %d events", n, got)
		}
	}},
}

var usageTests = []test{
	{"sets the last use, only forward in time", func(t *testing.T, s token.Store) {
		k := createKey(t, s)
		other := createKey(t, s)
		for _, step := range []struct {
			at     time.Time
			ip     string
			wantAt time.Time
			wantIP string
		}{
			{t0.Add(2 * time.Second), "192.0.2.2", t0.Add(2 * time.Second), "192.0.2.2"},
			{t0.Add(time.Second), "192.0.2.1", t0.Add(2 * time.Second), "192.0.2.2"}, // older: ignored
			{t0.Add(2*time.Second + 1), "2001:db8::3", t0.Add(2*time.Second + 1), "2001:db8::3"},
		} {
			err := s.RecordUsage(bg, []token.Usage{{KeyID: k.ID, LastUsedAt: step.at, LastUsedIP: step.ip,
				Counts: map[token.Code]int64{token.CodeValid: 1}}})
			if err != nil {
				t.Fatalf("RecordUsage: %v", err)
			}
			got := getKey(t, s, k.ID)
			if !got.LastUsedAt.Equal(step.wantAt) || got.LastUsedIP != step.wantIP {
				t.Fatalf("after a use at %s: last use %s from %q, want %s from %q",
					step.at.Format(time.RFC3339Nano), got.LastUsedAt.Format(time.RFC3339Nano), got.LastUsedIP,
					step.wantAt.Format(time.RFC3339Nano), step.wantIP)
			}
		}
		equal(t, "unused key", getKey(t, s, other.ID), other)
	}},
	{"stores a batch of several keys and codes, counts accumulating", func(t *testing.T, s token.Store) {
		a, b := createKey(t, s), createKey(t, s)
		batch := []token.Usage{
			{KeyID: a.ID, LastUsedAt: t0, LastUsedIP: "192.0.2.1",
				Counts: map[token.Code]int64{token.CodeValid: 10, token.CodeInsufficientScope: 2}},
			{KeyID: b.ID, LastUsedAt: t0.Add(time.Second), LastUsedIP: "192.0.2.9",
				Counts: map[token.Code]int64{token.CodeRevoked: 1}},
		}
		for range 3 {
			if err := s.RecordUsage(bg, batch); err != nil {
				t.Fatalf("RecordUsage: %v", err)
			}
		}
		for _, u := range batch {
			got := getKey(t, s, u.KeyID)
			if !got.LastUsedAt.Equal(u.LastUsedAt) || got.LastUsedIP != u.LastUsedIP {
				t.Errorf("key %s: last use %v from %q, want %v from %q", u.KeyID, got.LastUsedAt, got.LastUsedIP, u.LastUsedAt, u.LastUsedIP)
			}
			counts, err := s.UsageCounts(bg, u.KeyID)
			if err != nil {
				t.Fatalf("UsageCounts: %v", err)
			}
			want := map[token.Code]int64{}
			for c, n := range u.Counts {
				want[c] = 3 * n
			}
			if !maps.Equal(counts, want) {
				t.Errorf("usage counts of key %s: %v, want %v", u.KeyID, counts, want)
			}
		}
		if counts, err := s.UsageCounts(bg, newID("key")); err != nil || len(counts) != 0 {
			t.Errorf("UsageCounts of an unknown key: %v, %v; want none", counts, err)
		}
	}},
	{"a record without a time only counts", func(t *testing.T, s token.Store) {
		k := createKey(t, s, func(k *token.Key) { k.LastUsedAt, k.LastUsedIP = t0, "192.0.2.1" })
		err := s.RecordUsage(bg, []token.Usage{{KeyID: k.ID, Counts: map[token.Code]int64{token.CodeExpired: 1}}})
		if err != nil {
			t.Fatalf("RecordUsage: %v", err)
		}
		equal(t, "key", getKey(t, s, k.ID), k)
	}},
	{"an empty batch succeeds", func(t *testing.T, s token.Store) {
		if err := s.RecordUsage(bg, nil); err != nil {
			t.Fatalf("RecordUsage(nil): %v", err)
		}
	}},
	{"records of keys deleted meanwhile are dropped, the rest stored", func(t *testing.T, s token.Store) {
		k := createKey(t, s)
		err := s.RecordUsage(bg, []token.Usage{
			{KeyID: newID("key"), LastUsedAt: t0, LastUsedIP: "192.0.2.7", Counts: map[token.Code]int64{token.CodeValid: 1}},
			{KeyID: k.ID, LastUsedAt: t0, LastUsedIP: "192.0.2.8", Counts: map[token.Code]int64{token.CodeValid: 1}},
		})
		if err != nil {
			t.Fatalf("RecordUsage with a deleted key: %v; a flush must not fail for ever", err)
		}
		if got := getKey(t, s, k.ID); got.LastUsedIP != "192.0.2.8" {
			t.Errorf("last use from %q, want 192.0.2.8", got.LastUsedIP)
		}
	}},
	{"recording usage writes no audit event", func(t *testing.T, s token.Store) {
		k := createKey(t, s)
		n := auditCount(t, s)
		err := s.RecordUsage(bg, []token.Usage{{KeyID: k.ID, LastUsedAt: t0, Counts: map[token.Code]int64{token.CodeValid: 1}}})
		if err != nil {
			t.Fatalf("RecordUsage: %v", err)
		}
		if got := auditCount(t, s); got != n {
			t.Errorf("audit log grew from %d to %d events", n, got)
		}
	}},
}

var refillTests = []test{
	{"a due refill resets remaining before spending, once per period", func(t *testing.T, s token.Store) {
		day1 := time.Date(2026, 5, 17, 0, 0, 0, 0, time.UTC)
		k := createKey(t, s, func(k *token.Key) {
			k.Remaining = ptr(int64(1))
			k.Refill = &token.Refill{Interval: token.RefillDaily, Amount: 5}
			k.RefilledAt = day1
		})
		spend := func(cost int64, period time.Time, wantLeft int64, wantOK bool) {
			t.Helper()
			left, ok, err := s.SpendCredits(bg, k.ID, cost, period)
			if err != nil || left != wantLeft || ok != wantOK {
				t.Fatalf("SpendCredits(%d, %s) = %d, %v, %v; want %d, %v", cost, period.Format("01-02"), left, ok, err, wantLeft, wantOK)
			}
		}
		spend(1, day1, 0, true)
		spend(1, day1, 0, false) // same period: no refill
		day2 := day1.AddDate(0, 0, 1)
		spend(2, day2, 3, true) // refilled to 5, then 2 spent
		spend(4, day2, 3, false)
		got := getKey(t, s, k.ID)
		if !got.RefilledAt.Equal(day2) || got.Refill == nil || got.Refill.Amount != 5 {
			t.Fatalf("after refill: refilled_at %v, refill %+v", got.RefilledAt, got.Refill)
		}
		spend(6, day2.AddDate(0, 0, 1), 5, false) // more than the refill: refused, reported as refilled
	}},
}

var limitTests = []test{
	{"keyspace and principal rate limits round trip", func(t *testing.T, s token.Store) {
		ls := []ratelimit.Limit{{Name: "requests", Limit: 10, Window: time.Second}, {Name: "burst", Limit: 3, Window: 744 * time.Hour}}
		ks := keyspace(t, s, "limited", func(ks *token.Keyspace) { ks.RateLimits = ls })
		got, err := s.Keyspace(bg, ks.Name)
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "keyspace", got, ks)
		p := principal(t, s, token.App, "svc", func(p *token.Principal) { p.RateLimits = ls })
		gotP, err := s.Principal(bg, token.App, "svc")
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "principal", gotP, p)
		upd, err := s.UpdatePrincipal(bg, token.App, "svc", func(p *token.Principal) error { p.RateLimits = nil; return nil }, event("app.update", "app", "svc"))
		if err != nil || len(upd.RateLimits) != 0 {
			t.Fatalf("clearing limits: %+v %v", upd, err)
		}
	}},
}
