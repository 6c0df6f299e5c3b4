package httpapi

import (
	"context"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/latchkey/latchkey/ratelimit"
)

// Default failure budgets: stricter than any normal traffic (KEY-09).
var (
	DefaultAuthFailureLimit   = ratelimit.Limit{Name: "auth_failures", Limit: 10, Window: time.Minute}
	DefaultVerifyFailureLimit = ratelimit.Limit{Name: "verify_failures", Limit: 100, Window: time.Minute}
	// DefaultOAuthMissLimit bounds one client's introspections and
	// revocations of tokens that do not exist (IR-10): a resource server
	// asking about real tokens never meets it; one scanning for tokens does.
	DefaultOAuthMissLimit = ratelimit.Limit{Name: "oauth_misses", Limit: 1000, Window: time.Minute}
)

// guard throttles addresses that fail too often: bad management
// credentials per peer, and unknown keys per subject address. A throttled
// address gets 429 until its failure budget refills; the budget is kept in
// the same limiter as key rate limits (shared through Redis when set).
type guard struct {
	limiter      ratelimit.Limiter
	auth, verify ratelimit.Limit
	leak         ratelimit.Limit // leak reports per address, every one counted
	onThrottle   func(ctx context.Context, addr, kind string)
}

// Only failures are throttled: callers check the credential first (a hash
// lookup, then a constant-time compare) and call fail when it is not
// valid, so a valid credential is never refused because others failed from
// the same address (a gateway sharing a host with a guesser keeps working).

// fail records one failure of addr. It reports whether addr is now
// throttled. Addresses are counted by throttleKey: IPv6 per /64.
func (g *guard) fail(ctx context.Context, kind string, l ratelimit.Limit, addr string) (bool, time.Duration) {
	now := time.Now()
	addr = throttleKey(addr)
	r, err := g.limiter.Allow(ctx, kind+":"+addr, l, 1, now)
	if err != nil || r.Allowed {
		return false, 0
	}
	g.audit(ctx, kind, l, addr, now)
	return true, max(r.RetryAfter, time.Second)
}

// audit records that addr is throttled — once per window of the failure
// budget, however many requests it keeps sending (the dedupe budget lives
// in the same limiter, so several nodes share it through Redis).
func (g *guard) audit(ctx context.Context, kind string, l ratelimit.Limit, addr string, now time.Time) {
	if g.onThrottle == nil {
		return
	}
	once := ratelimit.Limit{Name: "throttle_audit", Limit: 1, Window: l.Window}
	if r, err := g.limiter.Allow(ctx, "audit:"+kind+":"+addr, once, 1, now); err != nil || !r.Allowed {
		return
	}
	g.onThrottle(context.WithoutCancel(ctx), addr, kind)
}

// throttleKey names the budget an address draws from: an IPv4 address on
// its own, an IPv6 address by its /64 (one subscriber usually holds a whole
// /64 and can rotate through it). IPv4-mapped IPv6 counts as IPv4; zones
// are dropped. Anything else is used as it is.
func throttleKey(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	return netip.PrefixFrom(a, 64).Masked().String()
}

// clientAddr returns the address of the client: the peer, or — when the
// peer is a trusted proxy — the right-most address in X-Forwarded-For that
// is not itself a trusted proxy. IPv4-mapped IPv6 addresses are unmapped.
func clientAddr(r *http.Request, trusted []netip.Prefix) string {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	peer := ap.Addr().Unmap()
	if !inPrefixes(trusted, peer) {
		return peer.String()
	}
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		parts := strings.Split(hops[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return peer.String() // a garbled chain: trust nothing in it
			}
			a = a.Unmap().WithZone("")
			if !inPrefixes(trusted, a) {
				return a.String()
			}
		}
	}
	return peer.String()
}

func inPrefixes(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientAddr returns the address of the client that sent r: the peer, or
// — only when the peer is one of trusted — the last untrusted address of
// X-Forwarded-For. The gateway uses it too.
func ClientAddr(r *http.Request, trusted []netip.Prefix) string { return clientAddr(r, trusted) }
