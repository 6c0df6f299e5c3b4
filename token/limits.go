package token

import (
	"net/netip"
	"slices"
	"time"

	"github.com/latchkey/latchkey/ratelimit"
)

// Limits on the limit settings themselves.
const (
	MaxRateLimits = 8   // named limits per key, keyspace or principal
	MaxIPAllow    = 100 // entries of an IP allowlist
)

// Refill intervals.
const (
	RefillDaily   = "daily"
	RefillMonthly = "monthly"
)

// Refill resets a key's remaining credits to Amount at the start of every
// interval (UTC).
type Refill struct {
	Interval string
	Amount   int64
}

// periodStart returns the start of the refill interval that contains now.
func (r *Refill) periodStart(now time.Time) time.Time {
	now = now.UTC()
	if r.Interval == RefillMonthly {
		return time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	return time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
}

func validRefill(r *Refill) error {
	if r == nil {
		return nil
	}
	if r.Interval != RefillDaily && r.Interval != RefillMonthly {
		return invalidf("refill.interval must be %q or %q", RefillDaily, RefillMonthly)
	}
	if r.Amount < 1 || r.Amount > 1e12 {
		return invalidf("refill.amount must be between 1 and 10^12")
	}
	return nil
}

func validRateLimits(field string, ls []ratelimit.Limit) error {
	if len(ls) > MaxRateLimits {
		return invalidf("%s: at most %d limits", field, MaxRateLimits)
	}
	for i, l := range ls {
		if err := l.Validate(); err != nil {
			return invalidf("%s[%d]: %v", field, i, err)
		}
		if slices.ContainsFunc(ls[:i], func(o ratelimit.Limit) bool { return o.Name == l.Name }) {
			return invalidf("%s: two limits named %q", field, l.Name)
		}
	}
	return nil
}

// ParseIPAllow parses an allowlist of addresses and CIDR prefixes. Single
// addresses become /32 or /128 prefixes; IPv4-mapped IPv6 is unmapped; the
// result is masked, sorted and deduplicated.
func ParseIPAllow(ss []string) ([]netip.Prefix, error) {
	if len(ss) > MaxIPAllow {
		return nil, invalidf("ip_allow: at most %d entries", MaxIPAllow)
	}
	var out []netip.Prefix
	for _, s := range ss {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil || a.Zone() != "" {
				return nil, invalidf("ip_allow: %q is not an IP address or CIDR prefix", truncate(s, 50))
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if a := p.Addr(); a.Is4In6() {
			bits := p.Bits() - 96
			if bits < 0 {
				return nil, invalidf("ip_allow: %q is wider than the IPv4-mapped range", truncate(s, 50))
			}
			p = netip.PrefixFrom(a.Unmap(), bits)
		}
		out = append(out, p.Masked())
	}
	slices.SortFunc(out, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	return slices.Compact(out), nil
}

// ipAllowed reports whether ip (as text) is inside one of the prefixes.
// An address that does not parse is outside.
func ipAllowed(allow []netip.Prefix, ip string) bool {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	a = a.Unmap().WithZone("")
	for _, p := range allow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
