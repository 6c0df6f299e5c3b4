package token

import (
	"net/netip"
	"slices"

	"github.com/latchkey/latchkey/ratelimit"
)

// Self-service may only narrow. A personal credential (one that acts for
// its owner, token.Actor.Owner set) may see, rename, describe, disable and
// revoke its owner's keys, and narrow them: fewer scopes, an earlier
// expiry, a smaller IP allowlist, fewer credits, tighter rate limits. Only
// an administrator's credential that is not personal may widen a key or
// re-enable one — otherwise an owner could undo every limit an
// administrator set on their key.

// errWiden is the refusal of a widening change by a personal credential.
func errWiden(field, why string) error {
	return Errorf(PermissionDenied, "owner_may_only_narrow", "a personal credential may only narrow its keys: %s %s; ask an administrator", field, why)
}

// checkNarrowing returns errWiden unless every change p makes to k narrows
// it, when a is a personal credential. scopes and ipAllow are p's parsed
// values.
func checkNarrowing(a *Actor, k *Key, p UpdateKeyParams, scopes []string, ipAllow []netip.Prefix) error {
	if a.Owner == nil {
		return nil
	}
	if p.Enabled != nil && *p.Enabled && k.Disabled {
		return errWiden("enabled", "would re-enable a disabled key")
	}
	if p.Scopes != nil {
		for _, sc := range scopes {
			if !slices.Contains(k.Scopes, sc) {
				return errWiden("scopes", "would add "+sc)
			}
		}
	}
	if p.ExpiresAt != nil {
		exp := *p.ExpiresAt
		if exp.IsZero() && !k.ExpiresAt.IsZero() {
			return errWiden("expires_at", "would make the key permanent")
		}
		if !k.ExpiresAt.IsZero() && exp.After(k.ExpiresAt) {
			return errWiden("expires_at", "would move the expiry later")
		}
	}
	if p.ClearRemaining && k.Remaining != nil {
		return errWiden("remaining", "would lift the credit limit")
	}
	if p.Remaining != nil && k.Remaining != nil && *p.Remaining > *k.Remaining {
		return errWiden("remaining", "would add credits")
	}
	if p.Refill != nil {
		// A refill hands out credits; an owner may only lower an existing one.
		if k.Refill == nil && k.Remaining != nil {
			return errWiden("refill", "would add periodic credits")
		}
		if k.Refill != nil && (p.Refill.Interval != k.Refill.Interval || p.Refill.Amount > k.Refill.Amount) {
			return errWiden("refill", "would add credits")
		}
	}
	if p.IPAllow != nil && !prefixesWithin(ipAllow, k.IPAllow) {
		return errWiden("ip_allow", "would admit addresses the key does not admit now")
	}
	if p.RateLimits != nil {
		for _, old := range k.RateLimits {
			i := slices.IndexFunc(*p.RateLimits, func(l ratelimit.Limit) bool { return l.Name == old.Name })
			if i < 0 {
				return errWiden("ratelimits", "would drop the limit "+old.Name)
			}
			if n := (*p.RateLimits)[i]; n.Window != old.Window || n.Limit > old.Limit {
				return errWiden("ratelimits", "would loosen the limit "+old.Name+" (keep its window, lower its limit)")
			}
		}
	}
	return nil
}

// prefixesWithin reports whether every address the list next admits, the
// list cur admits too; an empty list admits every address.
func prefixesWithin(next, cur []netip.Prefix) bool {
	if len(cur) == 0 {
		return true
	}
	if len(next) == 0 {
		return false
	}
	for _, n := range next {
		if !slices.ContainsFunc(cur, func(c netip.Prefix) bool {
			return c.Addr().Is4() == n.Addr().Is4() && c.Bits() <= n.Bits() && c.Contains(n.Addr())
		}) {
			return false
		}
	}
	return true
}
