// Package ratelimittest is the conformance suite every ratelimit.Limiter passes: the
// same table of GCRA cases, the accuracy bound under random arrivals, and exactness
// under concurrency, run against ratelimit.Local and ratelimit/redisrate alike.
package ratelimittest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/latchkey/latchkey/ratelimit"
)

// T0 is the fixed "now" the cases start from.
var T0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// Run runs every case against a fresh limiter from newLimiter, one per subtest; limiters
// that share state (Redis) must give each call its own key space.
func Run(t *testing.T, newLimiter func(t *testing.T) ratelimit.Limiter) {
	t.Helper()
	for _, tc := range cases() {
		t.Run(tc.name, func(t *testing.T) {
			lim := newLimiter(t)
			for i, s := range tc.steps {
				key := s.key
				if key == "" {
					key = "k"
				}
				r := allow(t, lim, key, tc.limit, s.cost, T0.Add(s.at))
				w := ratelimit.Result{
					Limit: tc.limit, Allowed: s.want.ok, Remaining: s.want.remaining,
					Reset: T0.Add(s.want.reset), RetryAfter: s.want.retry,
				}
				if !r.Reset.Equal(w.Reset) || r.Allowed != w.Allowed || r.Remaining != w.Remaining ||
					r.RetryAfter != w.RetryAfter || r.Limit != w.Limit {
					t.Fatalf("step %d (key %q, cost %d at T0+%s):\n got %s\nwant %s",
						i, key, s.cost, s.at, format(r), format(w))
				}
			}
		})
	}
	t.Run("invalid arguments wrap ErrInvalid", func(t *testing.T) { testInvalid(t, newLimiter(t)) })
	t.Run("remaining never increases within a burst", func(t *testing.T) { testMonotone(t, newLimiter(t)) })
	t.Run("accuracy bound under random arrivals", func(t *testing.T) { testBound(t, newLimiter(t)) })
	t.Run("50 goroutines admit exactly Limit", func(t *testing.T) {
		Concurrent(t, []ratelimit.Limiter{newLimiter(t)}, 50)
	})
}

func allow(t *testing.T, lim ratelimit.Limiter, key string, l ratelimit.Limit, cost int64, now time.Time) ratelimit.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := lim.Allow(ctx, key, l, cost, now)
	if err != nil {
		t.Fatalf("Allow(%q, %+v, %d, T0+%s): %v", key, l, cost, now.Sub(T0), err)
	}
	return r
}

func format(r ratelimit.Result) string {
	return fmt.Sprintf("allowed=%t remaining=%d reset=T0+%s retryAfter=%s",
		r.Allowed, r.Remaining, r.Reset.Sub(T0), r.RetryAfter)
}

func testInvalid(t *testing.T, lim ratelimit.Limiter) {
	ok := ratelimit.Limit{Name: "requests", Limit: 10, Window: time.Minute}
	for name, c := range map[string]struct {
		l    ratelimit.Limit
		cost int64
		now  time.Time
	}{
		"bad name":         {ratelimit.Limit{Name: "Req", Limit: 10, Window: time.Minute}, 1, T0},
		"empty name":       {ratelimit.Limit{Limit: 10, Window: time.Minute}, 1, T0},
		"zero limit":       {ratelimit.Limit{Name: "r", Window: time.Minute}, 1, T0},
		"limit over 1e9":   {ratelimit.Limit{Name: "r", Limit: 1e9 + 1, Window: time.Hour}, 1, T0},
		"window under 1s":  {ratelimit.Limit{Name: "r", Limit: 1, Window: time.Second - 1}, 1, T0},
		"window over 744h": {ratelimit.Limit{Name: "r", Limit: 1, Window: 744*time.Hour + 1}, 1, T0},
		"negative cost":    {ok, -1, T0},
		"before 1970":      {ok, 1, time.Unix(-1, 0)},
		"after 2262":       {ok, 1, time.Date(2262, 4, 1, 0, 0, 0, 0, time.UTC)},
	} {
		if _, err := lim.Allow(context.Background(), "k", c.l, c.cost, c.now); !errors.Is(err, ratelimit.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
}
