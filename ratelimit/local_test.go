package ratelimit_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/latchkey/latchkey/ratelimit"
	"github.com/latchkey/latchkey/ratelimit/ratelimittest"
)

func TestLocal(t *testing.T) {
	ratelimittest.Run(t, func(*testing.T) ratelimit.Limiter { return ratelimit.NewLocal(0) })
}

func TestLocalSmallCapacity(t *testing.T) {
	// One shard of 8 keys: the suite's cases use few keys, so eviction never interferes.
	ratelimittest.Run(t, func(*testing.T) ratelimit.Limiter { return ratelimit.NewLocal(8) })
}

func TestLocalAllowDoesNotAllocate(t *testing.T) {
	l := ratelimit.NewLocal(0)
	lim := ratelimit.Limit{Name: "requests", Limit: 1e9, Window: time.Hour}
	ctx, now := context.Background(), ratelimittest.T0
	key := fmt.Sprintf("key-%d", 42) // not a constant, as in a server
	if _, err := l.Allow(ctx, key, lim, 1, now); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		now = now.Add(time.Millisecond)
		if r, err := l.Allow(ctx, key, lim, 1, now); err != nil || !r.Allowed {
			t.Fatal(r, err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Allow for an existing key: %v allocations, want 0", allocs)
	}
}

func TestLocalEviction(t *testing.T) {
	const maxKeys = 8
	l := ratelimit.NewLocal(maxKeys)
	lim := ratelimit.Limit{Name: "requests", Limit: 2, Window: time.Minute}
	ctx, t0 := context.Background(), ratelimittest.T0
	take := func(key string, at time.Duration) ratelimit.Result {
		t.Helper()
		r, err := l.Allow(ctx, key, lim, 1, t0.Add(at))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	// k0 … k7 take one unit each, k0 first: k0 has the oldest TAT.
	for i := range maxKeys {
		take(fmt.Sprint("k", i), time.Duration(i)*time.Second)
	}
	take("k3", 8*time.Second) // k3 is now the newest
	if n := l.Len(); n != maxKeys {
		t.Fatalf("Len = %d, want %d", n, maxKeys)
	}
	take("new", 9*time.Second) // full: evicts the oldest live TAT, k0
	if n := l.Len(); n != maxKeys {
		t.Fatalf("after an insert into a full Local: Len = %d, want %d", n, maxKeys)
	}
	if r := take("k0", 9*time.Second); r.Remaining != 1 {
		t.Fatalf("evicted k0: Remaining = %d, want a full budget less one (1)", r.Remaining)
	}
	if r := take("k3", 9*time.Second); r.Allowed {
		t.Fatalf("k3 kept its state: want refused, got %+v", r)
	}
	// Peeks and refusals of unknown keys insert nothing.
	take2 := func(key string, cost int64) {
		if _, err := l.Allow(ctx, key, lim, cost, t0.Add(9*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	take2("peek", 0)
	take2("too-big", 3)
	if n := l.Len(); n != maxKeys {
		t.Fatalf("after a peek and a refusal: Len = %d, want %d", n, maxKeys)
	}
	// Everything is dead a window later: an insert reclaims the dead, Sweep the rest.
	take("later", 10*time.Minute)
	if n := l.Len(); n != 1 {
		t.Fatalf("insert into a full shard of dead entries: Len = %d, want 1", n)
	}
	take("late2", 10*time.Minute)
	if n := l.Sweep(t0.Add(20 * time.Minute)); n != 2 {
		t.Fatalf("Sweep removed %d, want 2", n)
	}
}

func TestLocalCapacityBound(t *testing.T) {
	for _, maxKeys := range []int{1, 63, 1000, 5000} {
		l := ratelimit.NewLocal(maxKeys)
		lim := ratelimit.Limit{Name: "requests", Limit: 1, Window: time.Hour}
		for i := range 3 * maxKeys {
			if _, err := l.Allow(context.Background(), fmt.Sprint(i), lim, 1, ratelimittest.T0); err != nil {
				t.Fatal(err)
			}
			if n := l.Len(); n > maxKeys {
				t.Fatalf("maxKeys %d: Len = %d after %d inserts", maxKeys, n, i+1)
			}
		}
	}
}

func BenchmarkLocalAllow(b *testing.B) {
	l := ratelimit.NewLocal(0)
	lim := ratelimit.Limit{Name: "requests", Limit: 1e9, Window: time.Hour}
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = fmt.Sprint("key-", i)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			l.Allow(context.Background(), keys[i%len(keys)], lim, 1, ratelimittest.T0)
			i++
		}
	})
}
