package ratelimit_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/ratelimit"
	"github.com/latchkey/latchkey/ratelimit/ratelimittest"
)

// flaky is a Limiter that fails while down and counts its calls.
type flaky struct {
	down  atomic.Bool
	calls atomic.Int64
	inner ratelimit.Limiter
}

func (f *flaky) Allow(ctx context.Context, key string, l ratelimit.Limit, cost int64, now time.Time) (ratelimit.Result, error) {
	f.calls.Add(1)
	if f.down.Load() {
		return ratelimit.Result{}, errors.New("flaky: down")
	}
	return f.inner.Allow(ctx, key, l, cost, now)
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestFallbackTransitions(t *testing.T) {
	primary := &flaky{inner: ratelimit.NewLocal(0)}
	secondary := &flaky{inner: ratelimit.NewLocal(0)}
	clk := &clock{now: ratelimittest.T0}
	var changes []bool
	f := &ratelimit.Fallback{
		Primary: primary, Secondary: secondary, RetryAfter: 5 * time.Second, Now: clk.Now,
		OnChange: func(d bool) { changes = append(changes, d) },
	}
	lim := ratelimit.Limit{Name: "requests", Limit: 100, Window: time.Minute}
	allow := func(wantFrom *flaky) {
		t.Helper()
		p, s := primary.calls.Load(), secondary.calls.Load()
		r, err := f.Allow(context.Background(), "k", lim, 1, ratelimittest.T0)
		if err != nil || !r.Allowed {
			t.Fatalf("Allow = %+v, %v", r, err)
		}
		dp, ds := primary.calls.Load()-p, secondary.calls.Load()-s
		switch {
		case wantFrom == primary && (dp != 1 || ds != 0),
			wantFrom == secondary && ds != 1:
			t.Fatalf("primary called %d, secondary %d times", dp, ds)
		}
	}
	allow(primary)
	if f.Degraded() || len(changes) != 0 {
		t.Fatalf("healthy start: degraded %v, changes %v", f.Degraded(), changes)
	}

	primary.down.Store(true)
	allow(secondary) // primary fails, secondary answers
	if !f.Degraded() || len(changes) != 1 || !changes[0] {
		t.Fatalf("after a failure: degraded %v, changes %v", f.Degraded(), changes)
	}
	for range 3 { // primary skipped for RetryAfter
		allow(secondary)
		if dp := primary.calls.Load(); dp != 2 {
			t.Fatalf("primary called %d times while skipped", dp)
		}
	}
	clk.Advance(5 * time.Second)
	allow(secondary) // the probe fails: still degraded, no new OnChange
	if primary.calls.Load() != 3 || len(changes) != 1 {
		t.Fatalf("failed probe: primary calls %d, changes %v", primary.calls.Load(), changes)
	}
	primary.down.Store(false)
	allow(secondary) // skipped again until the next retry
	clk.Advance(5 * time.Second)
	allow(primary) // the probe answers
	if f.Degraded() || len(changes) != 2 || changes[1] {
		t.Fatalf("after recovery: degraded %v, changes %v", f.Degraded(), changes)
	}
	allow(primary)

	// Invalid arguments are the caller's error, not a primary failure.
	if _, err := f.Allow(context.Background(), "k", ratelimit.Limit{}, 1, ratelimittest.T0); !errors.Is(err, ratelimit.ErrInvalid) || f.Degraded() {
		t.Fatalf("invalid limit: err %v, degraded %v", err, f.Degraded())
	}
}

func TestFallbackConcurrentTransitions(t *testing.T) {
	primary := &flaky{inner: ratelimit.NewLocal(0)}
	clk := &clock{now: ratelimittest.T0}
	var ups, downs atomic.Int64
	f := &ratelimit.Fallback{
		Primary: primary, Secondary: ratelimit.NewLocal(0), RetryAfter: time.Second, Now: clk.Now,
		OnChange: func(d bool) {
			if d {
				downs.Add(1)
			} else {
				ups.Add(1)
			}
		},
	}
	lim := ratelimit.Limit{Name: "requests", Limit: 1e9, Window: time.Hour}
	for round := 1; round <= 3; round++ {
		primary.down.Store(true)
		hammer(t, f, lim)
		if !f.Degraded() || downs.Load() != int64(round) {
			t.Fatalf("round %d down: degraded %v, OnChange(true) %d times", round, f.Degraded(), downs.Load())
		}
		primary.down.Store(false)
		hammer(t, f, lim) // still within RetryAfter: stays degraded
		clk.Advance(time.Second)
		hammer(t, f, lim) // one probe answers
		if f.Degraded() || ups.Load() != int64(round) {
			t.Fatalf("round %d up: degraded %v, OnChange(false) %d times", round, f.Degraded(), ups.Load())
		}
	}
}

func hammer(t *testing.T, f *ratelimit.Fallback, lim ratelimit.Limit) {
	t.Helper()
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			for range 20 {
				if _, err := f.Allow(context.Background(), "k", lim, 1, ratelimittest.T0); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
}

func TestFallbackCanceledContext(t *testing.T) {
	primary := &flaky{inner: ratelimit.NewLocal(0)}
	primary.down.Store(true)
	f := &ratelimit.Fallback{Primary: primary, Secondary: ratelimit.NewLocal(0)}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	lim := ratelimit.Limit{Name: "requests", Limit: 1, Window: time.Minute}
	if r, err := f.Allow(ctx, "k", lim, 1, ratelimittest.T0); err != nil || !r.Allowed {
		t.Fatalf("Allow = %+v, %v", r, err)
	}
	if f.Degraded() {
		t.Fatal("a caller's cancellation put the Fallback in degraded mode")
	}
}
