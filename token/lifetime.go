package token

import "time"

// MaxLifetime bounds the lifetime of a temporary key (100 years); longer
// means permanent.
const MaxLifetime = 100 * 365 * 24 * time.Hour

// lifetime returns the expiry and TTL of a key created at now in ks with the
// requested expires_in or expires_at (both zero: the keyspace default).
func (ks *Keyspace) lifetime(now time.Time, expiresIn time.Duration, expiresAt time.Time) (time.Time, time.Duration, error) {
	if expiresIn != 0 && !expiresAt.IsZero() {
		return time.Time{}, 0, invalidf("give expires_in or expires_at, not both")
	}
	var ttl time.Duration
	switch {
	case expiresIn < 0:
		return time.Time{}, 0, invalidf("expires_in must be positive")
	case expiresIn > 0:
		ttl = expiresIn
	case !expiresAt.IsZero():
		ttl = expiresAt.Sub(now)
		if ttl <= 0 {
			return time.Time{}, 0, invalidf("expires_at %s is not in the future", expiresAt.UTC().Format(time.RFC3339))
		}
	case ks.DefaultTTL > 0:
		ttl = ks.DefaultTTL
	case ks.AllowPermanent:
		return time.Time{}, 0, nil
	default:
		return time.Time{}, 0, invalidf("keyspace %q does not allow permanent keys and has no default_ttl: give expires_in or expires_at", ks.Name)
	}
	if ttl > MaxLifetime {
		return time.Time{}, 0, invalidf("a key may live at most 100 years")
	}
	if ttl < time.Second {
		return time.Time{}, 0, invalidf("a key must live at least one second")
	}
	if ks.MaxTTL > 0 && ttl > ks.MaxTTL {
		return time.Time{}, 0, invalidf("lifetime %s exceeds keyspace %q max_ttl %s", ttl.Round(time.Second), ks.Name, ks.MaxTTL)
	}
	return now.Add(ttl), ttl, nil
}

// rotatedTTL is the lifetime of a successor whose predecessor lived ttl,
// under the keyspace's current policy: within max_ttl, and temporary when
// permanent keys are no longer allowed.
func (ks *Keyspace) rotatedTTL(ttl time.Duration) time.Duration {
	if ttl == 0 && !ks.AllowPermanent {
		ttl = ks.DefaultTTL
		if ttl == 0 {
			ttl = ks.MaxTTL
		}
	}
	if ks.MaxTTL > 0 && ttl > ks.MaxTTL {
		ttl = ks.MaxTTL
	}
	return ttl
}

// renewal returns the new expiry of k renewed at now: now plus the key's
// lifetime, never past its creation plus the keyspace's max_ttl.
func (ks *Keyspace) renewal(k *Key, now time.Time) (exp time.Time, capped bool) {
	exp = now.Add(k.TTL)
	if ks.MaxTTL > 0 {
		if limit := k.CreatedAt.Add(ks.MaxTTL); exp.After(limit) {
			return limit, true
		}
	}
	return exp, false
}
