package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/ratelimit"
)

// Flags and output of rate limits, IP allowlists and credit refills.

// rateLimitSyntax is how a --ratelimit value is written.
const rateLimitSyntax = "NAME=LIMIT/WINDOW such as requests=100/1m"

// rateLimitFlags registers the repeatable --<flag> NAME=LIMIT/WINDOW and,
// when noFlag is not empty, --<noFlag> that removes all limits. The returned
// function builds the limits from the flags given: nil when neither was
// given, an empty list for --<noFlag>.
func rateLimitFlags(f *cmdFlags, flag, help, noFlag, noHelp string) func() (*[]api.RateLimit, error) {
	var vals listFlag
	f.Var(&vals, flag, "`NAME=LIMIT/WINDOW`: "+help+", e.g. requests=100/1m (repeatable)")
	var none *bool
	if noFlag != "" {
		none = f.Bool(noFlag, false, noHelp)
	}
	return func() (*[]api.RateLimit, error) {
		if none != nil && *none {
			if vals.set {
				return nil, usagef("use --%s or --%s, not both", flag, noFlag)
			}
			return &[]api.RateLimit{}, nil
		}
		if !vals.set {
			return nil, nil
		}
		rls, err := parseRateLimits(flag, vals.vals)
		if err != nil {
			return nil, err
		}
		return &rls, nil
	}
}

// parseRateLimits parses the values of the repeatable flag name.
func parseRateLimits(name string, vals []string) ([]api.RateLimit, error) {
	out := make([]api.RateLimit, 0, len(vals))
	seen := map[string]bool{}
	for _, v := range vals {
		rl, err := parseRateLimit(name, v)
		if err != nil {
			return nil, err
		}
		if seen[rl.Name] {
			return nil, usagef("--%s: the limit %q is given twice", name, rl.Name)
		}
		seen[rl.Name] = true
		out = append(out, rl)
	}
	return out, nil
}

// parseRateLimit parses NAME=LIMIT/WINDOW for the flag name.
func parseRateLimit(flag, s string) (api.RateLimit, error) {
	bad := func(why string) (api.RateLimit, error) {
		return api.RateLimit{}, usagef("--%s must be %s, not %q: %s", flag, rateLimitSyntax, s, why)
	}
	name, spec, ok := strings.Cut(s, "=")
	if !ok {
		return bad("no '='")
	}
	limit, window, ok := strings.Cut(spec, "/")
	if !ok {
		return bad("no '/' between limit and window")
	}
	n, err := strconv.ParseInt(limit, 10, 64)
	if err != nil {
		return bad("the limit must be a positive integer")
	}
	d, ok := parseWindow(window)
	if !ok {
		return bad("the window must be a duration such as 10s, 1m, 24h or 7d")
	}
	// The server's own rules: the name is 1-32 of [a-z0-9_-], the limit
	// 1…1e9 and the window 1s…744h.
	if err := (ratelimit.Limit{Name: name, Limit: n, Window: d}).Validate(); err != nil {
		return bad(strings.TrimPrefix(err.Error(), ratelimit.ErrInvalid.Error()+": "))
	}
	return api.RateLimit{Name: name, Limit: n, Window: window}, nil
}

// parseWindow parses a window as the API does: Go syntax or whole days
// ("7d").
func parseWindow(s string) (time.Duration, bool) {
	d, err := api.ParseDuration(s)
	if errors.Is(err, api.ErrDurationRange) {
		// Well-formed but out of range: let the limit's own check say so.
		if d, err := time.ParseDuration(s); err == nil {
			return d, true
		}
		return api.MaxDuration + 1, true
	}
	return d, err == nil
}

// parseRefill parses INTERVAL:AMOUNT ("daily:1000", "monthly:50000").
func parseRefill(flag, s string) (*api.Refill, error) {
	interval, amount, ok := strings.Cut(s, ":")
	if !ok || (interval != "daily" && interval != "monthly") {
		return nil, usagef("--%s must be daily:AMOUNT or monthly:AMOUNT such as daily:1000, not %q", flag, s)
	}
	n, err := strconv.ParseInt(amount, 10, 64)
	if err != nil || n <= 0 {
		return nil, usagef("--%s: the amount must be a positive integer, not %q", flag, amount)
	}
	return &api.Refill{Interval: interval, Amount: n}, nil
}

// parseIPAllow checks an allowlist: CIDR prefixes or single addresses (sent
// as /32 or /128). IPv4-mapped IPv6 addresses become IPv4.
func parseIPAllow(flag string, vals []string) ([]string, error) {
	out := make([]string, 0, len(vals))
	for _, v := range vals {
		if p, err := netip.ParsePrefix(v); err == nil {
			out = append(out, p.String())
			continue
		}
		a, err := netip.ParseAddr(v)
		if err != nil || a.Zone() != "" {
			return nil, usagef("--%s must be a CIDR prefix such as 203.0.113.0/24 or 2001:db8::/32, or an address, not %q", flag, v)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()).String())
	}
	return out, nil
}

// parseIP checks a client address for the flag name.
func parseIP(flag, s string) (string, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return "", usagef("--%s must be an IPv4 or IPv6 address such as 203.0.113.5, not %q", flag, s)
	}
	return s, nil
}

// refillJSON encodes a refill for an update request.
func refillJSON(r *api.Refill) json.RawMessage {
	b, _ := json.Marshal(r) // cannot fail: two plain fields
	return b
}

// rateLimitsString formats limits as the flags take them:
// "requests=100/1m, tokens=5000/1h".
func rateLimitsString(rls []api.RateLimit) string {
	parts := make([]string, len(rls))
	for i, rl := range rls {
		parts[i] = fmt.Sprintf("%s=%d/%s", rl.Name, rl.Limit, shortWindow(rl.Window))
	}
	return strings.Join(parts, ", ")
}

// shortWindow drops the zero units of a window in Go's canonical form:
// "1m0s" → "1m", "24h0m0s" → "24h"; other strings are returned as they are.
func shortWindow(w string) string {
	if _, err := time.ParseDuration(w); err != nil {
		return w
	}
	if s, ok := strings.CutSuffix(w, "m0s"); ok && s != "" {
		w = s + "m"
	}
	if s, ok := strings.CutSuffix(w, "h0m"); ok && s != "" {
		w = s + "h"
	}
	return w
}

// refillString formats a refill as the flag takes it: "daily:1000".
func refillString(r *api.Refill) string {
	if r == nil {
		return ""
	}
	return fmt.Sprintf("%s:%d", r.Interval, r.Amount)
}

// resetString formats a reset instant in Unix epoch milliseconds.
func resetString(ms int64) string {
	if ms <= 0 {
		return ""
	}
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

// printRateLimits prints the rate-limit states of a verification as a table.
func (c *cli) printRateLimits(states []api.RateLimitState) error {
	if len(states) == 0 {
		return nil
	}
	fmt.Fprintln(c.stdout)
	t := newTable(c.stdout, "NAME", "LIMIT", "REMAINING", "RESET")
	for _, s := range states {
		limit := strconv.FormatInt(s.Limit, 10)
		if s.Window != "" {
			limit += "/" + shortWindow(s.Window)
		}
		t.row(s.Name, limit, strconv.FormatInt(s.Remaining, 10), resetString(s.Reset))
	}
	return t.flush()
}
