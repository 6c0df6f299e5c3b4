package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/latchkey/latchkey/ratelimit/internal/gcra"
)

// Bounds of a Limit.
const (
	MaxLimit  = 1_000_000_000   // largest Limit.Limit
	MinWindow = time.Second     // shortest Limit.Window
	MaxWindow = 744 * time.Hour // longest Limit.Window (31 days)
)

// ErrInvalid is wrapped by the errors for an invalid Limit, a negative cost or a time
// out of range. Such an error is the caller's fault, never a limiter failure.
var ErrInvalid = errors.New("ratelimit: invalid argument")

// Latest now accepted by Check: Unix nanoseconds plus two windows must fit in an int64.
var maxNow = time.Unix(0, math.MaxInt64-2*int64(MaxWindow))

// Limit is a budget: Limit cost units per Window, with a name ("requests").
type Limit struct {
	Name   string        // [a-z0-9_-]{1,32}; shown in the RateLimit fields
	Limit  int64         // units per Window, 1…MaxLimit
	Window time.Duration // MinWindow…MaxWindow
}

// Validate returns an error wrapping ErrInvalid unless the name matches [a-z0-9_-]{1,32},
// 1 ≤ Limit ≤ 1e9 and 1s ≤ Window ≤ 744h.
func (l Limit) Validate() error {
	if !validName(l.Name) {
		return fmt.Errorf("%w: limit name %q is not 1-32 of [a-z0-9_-]", ErrInvalid, l.Name)
	}
	if l.Limit < 1 || l.Limit > MaxLimit {
		return fmt.Errorf("%w: limit %q: %d is not in [1, %d]", ErrInvalid, l.Name, l.Limit, MaxLimit)
	}
	if l.Window < MinWindow || l.Window > MaxWindow {
		return fmt.Errorf("%w: limit %q: window %s is not in [%s, %s]", ErrInvalid, l.Name, l.Window, MinWindow, MaxWindow)
	}
	return nil
}

func validName(s string) bool {
	if len(s) < 1 || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Check returns an error wrapping ErrInvalid unless l is valid, cost ≥ 0 and now lies
// between 1970 and 2262 (less two windows). Every Limiter calls it first.
func Check(l Limit, cost int64, now time.Time) error {
	if err := l.Validate(); err != nil {
		return err
	}
	if cost < 0 {
		return fmt.Errorf("%w: negative cost %d", ErrInvalid, cost)
	}
	if now.Unix() < 0 || now.After(maxNow) {
		return fmt.Errorf("%w: time %s out of range", ErrInvalid, now.Format(time.RFC3339))
	}
	return nil
}

// Result is the outcome of one Allow.
type Result struct {
	Limit      Limit
	Allowed    bool
	Remaining  int64         // units left after this request (0 when refused)
	Reset      time.Time     // when the budget will be full again
	RetryAfter time.Duration // 0 when allowed; otherwise how long until `cost` would fit
}

// Limiter takes cost units from the budget of key. An error means the limiter could not
// answer (the caller decides: fall back).
type Limiter interface {
	// Allow takes cost units from the budget l of key at now, or refuses and takes
	// nothing. Cost 0 peeks: allowed iff one unit would fit, nothing taken. A cost above
	// l.Limit is always refused, with RetryAfter = l.Window. The key must name the
	// budget: two Limits used with one key share its state. Allow returns an error
	// wrapping ErrInvalid when Check fails, and other errors when the limiter cannot
	// answer (a backend down or ctx done).
	Allow(ctx context.Context, key string, l Limit, cost int64, now time.Time) (Result, error)
}

// params is l as GCRA parameters.
func params(l Limit) gcra.Params {
	return gcra.Params{Limit: l.Limit, Window: int64(l.Window)}
}

// result converts a GCRA outcome.
func result(l Limit, o gcra.Outcome) Result {
	return Result{
		Limit:      l,
		Allowed:    o.Allowed,
		Remaining:  o.Remaining,
		Reset:      time.Unix(0, o.Reset),
		RetryAfter: time.Duration(o.RetryAfter),
	}
}
