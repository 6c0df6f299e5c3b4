package ratelimittest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/ratelimit"
)

// testMonotone takes random costs at one instant until the budget is exhausted and
// checks that Remaining never increases over the admitted ones and the costs admitted add up to Limit.
func testMonotone(t *testing.T, lim ratelimit.Limiter) {
	rng := rand.New(rand.NewPCG(1, 2))
	l := ratelimit.Limit{Name: "monotone", Limit: 100, Window: time.Minute}
	prev, taken := l.Limit, int64(0)
	for i := 0; i < 200 && taken < l.Limit; i++ {
		cost := rng.Int64N(8)
		r := allow(t, lim, "k", l, cost, T0)
		if !r.Allowed {
			if r.Remaining != 0 || cost <= l.Limit-taken {
				t.Fatalf("request %d (cost %d, %d left): refused with %+v", i, cost, l.Limit-taken, r)
			}
			continue
		}
		if r.Remaining > prev {
			t.Fatalf("request %d (cost %d): Remaining rose from %d to %d", i, cost, prev, r.Remaining)
		}
		taken += cost
		if r.Remaining != l.Limit-taken {
			t.Fatalf("request %d: Remaining %d after taking %d of %d", i, r.Remaining, taken, l.Limit)
		}
		prev = r.Remaining
	}
	if r := allow(t, lim, "k", l, 1, T0); r.Allowed || taken > l.Limit {
		t.Fatalf("took %d of %d, then %+v", taken, l.Limit, r)
	}
}

// testBound feeds random arrivals (bursts, gaps shorter and longer than the emission
// interval, costs 0-3) and checks the package's accuracy bound on every interval that
// starts at an admission: for lengths Δ of W/3, W and 3W, the admitted cost is at most
// ⌊L·(W + Δ − 1ns)/W⌋ (2L−1 for Δ = W).
func testBound(t *testing.T, lim ratelimit.Limiter) {
	limits := []ratelimit.Limit{
		{Name: "ten", Limit: 10, Window: time.Minute},
		{Name: "three", Limit: 3, Window: time.Second},
		{Name: "seven", Limit: 7, Window: 7*time.Second + 3},
	}
	for seed := uint64(1); seed <= 6; seed++ {
		l := limits[seed%uint64(len(limits))]
		key := fmt.Sprintf("bound-%d", seed)
		rng := rand.New(rand.NewPCG(seed, 99))
		w, tInt := int64(l.Window), int64(l.Window)/l.Limit
		type adm struct{ at, cost int64 }
		var admitted []adm
		now := int64(0)
		for i := 0; i < 300; i++ {
			switch rng.IntN(4) {
			case 0: // same instant
			case 1:
				now += rng.Int64N(tInt)
			case 2:
				now += tInt - 2 + rng.Int64N(5)
			default:
				now += rng.Int64N(w / 2)
			}
			cost := rng.Int64N(4)
			if r := allow(t, lim, key, l, cost, T0.Add(time.Duration(now))); r.Allowed && cost > 0 {
				admitted = append(admitted, adm{now, cost})
			}
		}
		for _, delta := range []int64{w / 3, w, 3 * w} {
			bound := l.Limit * (w + delta - 1) / w // L·(W+Δ) < 2^63 for these limits
			hi, sum, most := 0, int64(0), int64(0)
			for lo := range admitted {
				for ; hi < len(admitted) && admitted[hi].at < admitted[lo].at+delta; hi++ {
					sum += admitted[hi].cost
				}
				most = max(most, sum)
				if sum > bound {
					t.Fatalf("seed %d, %+v: %d admitted in [T0+%s, +%s), bound %d",
						seed, l, sum, time.Duration(admitted[lo].at), time.Duration(delta), bound)
				}
				sum -= admitted[lo].cost
			}
			t.Logf("seed %d, %s: most admitted in a %s interval: %d (bound %d)", seed, l.Name, time.Duration(delta), most, bound)
		}
	}
}

// Concurrent hammers one key of a budget of Limit 100 from goroutines spread over the
// limiters (which share state), all at one instant, and checks that exactly Limit
// requests are admitted, each seeing a different Remaining.
func Concurrent(t *testing.T, lims []ratelimit.Limiter, goroutines int) {
	t.Helper()
	l := ratelimit.Limit{Name: "concurrent", Limit: 100, Window: time.Hour}
	var (
		wg      sync.WaitGroup
		allowed atomic.Int64
		mu      sync.Mutex
		seen    = make(map[int64]bool)
		errs    = make(chan error, goroutines)
	)
	for g := 0; g < goroutines; g++ {
		lim := lims[g%len(lims)]
		wg.Go(func() {
			for i := 0; i < 4*int(l.Limit)/goroutines+1; i++ {
				r, err := lim.Allow(context.Background(), "shared", l, 1, T0)
				if err != nil {
					errs <- err
					return
				}
				if r.Allowed {
					allowed.Add(1)
					mu.Lock()
					if seen[r.Remaining] {
						select {
						case errs <- fmt.Errorf("remaining %d seen twice", r.Remaining):
						default:
						}
					}
					seen[r.Remaining] = true
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := allowed.Load(); got != l.Limit {
		t.Fatalf("%d goroutines on %d limiters admitted %d, want exactly %d", goroutines, len(lims), got, l.Limit)
	}
}
