package ratelimit_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/latchkey/latchkey/ratelimit"
)

func TestSetHeaders(t *testing.T) {
	now := time.Unix(1_780_000_000, 0)
	requests := ratelimit.Status{Name: "requests", Limit: 100, Remaining: 42, Window: time.Minute, Reset: now.Add(17*time.Second + 1)}
	daily := ratelimit.Status{Name: "daily", Limit: 1000, Remaining: 900, Window: 24 * time.Hour, Reset: now.Add(3 * time.Hour)}
	for _, tc := range []struct {
		name string
		ss   []ratelimit.Status
		want map[string]string
	}{
		{"no statuses, no headers", nil, map[string]string{}},
		{"one status", []ratelimit.Status{requests}, map[string]string{
			"X-RateLimit-Limit":     "100",
			"X-RateLimit-Remaining": "42",
			"X-RateLimit-Reset":     "1780000018",
			"RateLimit-Policy":      `"requests";q=100;w=60`,
			"RateLimit":             `"requests";r=42;t=18`,
		}},
		{"most restrictive is the lowest Remaining", []ratelimit.Status{daily, requests}, map[string]string{
			"X-RateLimit-Limit":     "100",
			"X-RateLimit-Remaining": "42",
			"X-RateLimit-Reset":     "1780000018",
			"RateLimit-Policy":      `"daily";q=1000;w=86400, "requests";q=100;w=60`,
			"RateLimit":             `"requests";r=42;t=18`,
		}},
		{"ties go to the earliest Reset", []ratelimit.Status{
			{Name: "a", Limit: 5, Remaining: 0, Window: time.Hour, Reset: now.Add(time.Hour)},
			{Name: "b", Limit: 9, Remaining: 0, Window: 1500 * time.Millisecond, Reset: now.Add(time.Second)},
		}, map[string]string{
			"X-RateLimit-Limit":     "9",
			"X-RateLimit-Remaining": "0",
			"X-RateLimit-Reset":     "1780000001",
			"RateLimit-Policy":      `"a";q=5;w=3600, "b";q=9;w=2`,
			"RateLimit":             `"b";r=0;t=1`,
		}},
		{"a past Reset and odd names", []ratelimit.Status{
			{Name: `x"y\z` + "\n", Limit: 1, Remaining: 1, Window: time.Second, Reset: now.Add(-time.Second)},
		}, map[string]string{
			"X-RateLimit-Limit":     "1",
			"X-RateLimit-Remaining": "1",
			"X-RateLimit-Reset":     "1779999999",
			"RateLimit-Policy":      `"x\"y\\z_";q=1;w=1`,
			"RateLimit":             `"x\"y\\z_";r=1;t=0`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			ratelimit.SetHeaders(h, tc.ss, now)
			if len(h) != len(tc.want) {
				t.Errorf("got %d fields %v, want %d", len(h), h, len(tc.want))
			}
			for k, v := range tc.want {
				if got := h.Get(k); got != v {
					t.Errorf("%s: got %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestStatusOf(t *testing.T) {
	l := ratelimit.Limit{Name: "requests", Limit: 100, Window: time.Minute}
	reset := time.Unix(1_780_000_060, 0)
	got := ratelimit.StatusOf(ratelimit.Result{Limit: l, Allowed: true, Remaining: 7, Reset: reset})
	want := ratelimit.Status{Name: "requests", Limit: 100, Remaining: 7, Window: time.Minute, Reset: reset}
	if got != want {
		t.Fatalf("StatusOf = %+v, want %+v", got, want)
	}
}

func TestSetRetryAfter(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "1", time.Nanosecond: "1", time.Second: "1", time.Second + 1: "2", 90 * time.Second: "90",
	} {
		h := http.Header{}
		ratelimit.SetRetryAfter(h, d)
		if got := h.Get("Retry-After"); got != want {
			t.Errorf("SetRetryAfter(%s) = %q, want %q", d, got, want)
		}
	}
}
