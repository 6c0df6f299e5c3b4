package ratelimit

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultRetryAfter is how long a Fallback skips its Primary after a failure when
// Fallback.RetryAfter is 0.
const DefaultRetryAfter = time.Second

// Fallback is a Limiter that asks Primary (a shared limiter such as redisrate) and, when
// Primary fails, answers from Secondary (a Local) instead of failing: rate limits fail
// open to per-node limits, never closed and never fully open.
//
// On a Primary error Fallback enters degraded mode: it calls OnChange(true), answers
// from Secondary and skips Primary for RetryAfter; then one request probes Primary
// while the others keep using Secondary. When a probe answers, Fallback leaves degraded
// mode and calls OnChange(false). Budgets are not carried over between the two: after a
// switch each starts from what it last knew (see the package doc for the bound).
//
// A Fallback is safe for concurrent use and must not be copied after first use.
type Fallback struct {
	Primary, Secondary Limiter // both required

	// RetryAfter is how long Primary is skipped after a failure (0: DefaultRetryAfter).
	RetryAfter time.Duration

	// OnChange, if set, is called once per transition, with degraded true when Fallback
	// enters degraded mode and false when it leaves it (for a log line and a metric).
	// Calls come in transition order, under an internal lock: OnChange must not call
	// Allow, but may call Degraded.
	OnChange func(degraded bool)

	// Now is the clock of the retry timer (nil: time.Now). The now passed to Allow is
	// the request's time and may differ from it.
	Now func() time.Time

	mu       sync.Mutex
	probing  bool      // a probe of Primary is under way
	retryAt  time.Time // while degraded: when to probe Primary again
	degraded atomic.Bool
}

var _ Limiter = (*Fallback)(nil)

// Degraded reports whether f is answering from Secondary because Primary failed.
func (f *Fallback) Degraded() bool { return f.degraded.Load() }

// Allow implements Limiter. It returns an error only for invalid arguments (wrapping
// ErrInvalid) or when Secondary fails as well. A Primary call that fails because the
// caller canceled ctx is answered from Secondary without entering degraded mode.
func (f *Fallback) Allow(ctx context.Context, key string, l Limit, cost int64, now time.Time) (Result, error) {
	if err := Check(l, cost, now); err != nil {
		return Result{}, err
	}
	if use, probe := f.route(); use {
		r, err := f.Primary.Allow(ctx, key, l, cost, now)
		f.report(probe, err, ctx.Err() == context.Canceled)
		if err == nil {
			return r, nil
		}
	}
	return f.Secondary.Allow(ctx, key, l, cost, now)
}

// StartDegraded puts f in degraded mode before first use, as if Primary had
// just failed: for a Primary found unreachable at start. The next probe
// comes after RetryAfter, on the first Allow after it. OnChange is called.
func (f *Fallback) StartDegraded() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.retryAt = f.clock().Add(f.retryAfter())
	f.setLocked(true)
}

// route reports whether to call Primary and whether that call is the probe.
func (f *Fallback) route() (use, probe bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.degraded.Load() {
		return true, false
	}
	if f.probing || f.clock().Before(f.retryAt) {
		return false, false
	}
	f.probing = true
	f.retryAt = f.clock().Add(f.retryAfter())
	return true, true
}

// report records the outcome of a Primary call. Only a probe ends degraded mode, so a
// call that started before a failure and succeeded after it does not flap the state.
func (f *Fallback) report(probe bool, err error, canceled bool) {
	if err == nil && !probe && !f.degraded.Load() {
		return // the fast path: healthy and staying so
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if probe {
		f.probing = false
	}
	switch {
	case err == nil && probe:
		f.setLocked(false)
	case err != nil && canceled:
		if probe {
			f.retryAt = time.Time{} // inconclusive: let the next request probe
		}
	case err != nil && !f.degraded.Load():
		f.retryAt = f.clock().Add(f.retryAfter())
		f.setLocked(true)
	}
}

func (f *Fallback) setLocked(degraded bool) {
	if f.degraded.Load() == degraded {
		return
	}
	f.degraded.Store(degraded)
	if f.OnChange != nil {
		f.OnChange(degraded)
	}
}

func (f *Fallback) clock() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

func (f *Fallback) retryAfter() time.Duration {
	if f.RetryAfter > 0 {
		return f.RetryAfter
	}
	return DefaultRetryAfter
}
