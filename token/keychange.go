package token

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"time"

	"github.com/latchkey/latchkey/apitoken"
	"github.com/latchkey/latchkey/ratelimit"
	"github.com/latchkey/latchkey/scope"
)

// UpdateKeyParams lists the attributes to change; nil fields stay as they are.
type UpdateKeyParams struct {
	Name           *string
	Scopes         *[]string
	Metadata       json.RawMessage // nil: unchanged; JSON null: cleared
	ExpiresAt      *time.Time      // a pointer to the zero time makes the key permanent
	Enabled        *bool
	Remaining      *int64
	ClearRemaining bool // remove the credit limit
	RateLimits     *[]ratelimit.Limit
	IPAllow        *[]string
	Refill         *Refill
	ClearRefill    bool
}

// UpdateKey changes a key's attributes.
func (s *Service) UpdateKey(ctx context.Context, a *Actor, id string, p UpdateKeyParams) (*Key, error) {
	if p.Name != nil {
		if err := validName("name", *p.Name); err != nil {
			return nil, err
		}
	}
	if string(p.Metadata) != "null" {
		if err := validMetadata(p.Metadata); err != nil {
			return nil, err
		}
	}
	if p.Remaining != nil && *p.Remaining < 0 {
		return nil, invalidf("remaining must not be negative")
	}
	if p.Remaining != nil && p.ClearRemaining {
		return nil, invalidf("give remaining or clear it, not both")
	}
	if err := validRefill(p.Refill); err != nil {
		return nil, err
	}
	if p.RateLimits != nil {
		if err := validRateLimits("ratelimits", *p.RateLimits); err != nil {
			return nil, err
		}
	}
	var ipAllow []netip.Prefix
	if p.IPAllow != nil {
		var err error
		if ipAllow, err = ParseIPAllow(*p.IPAllow); err != nil {
			return nil, err
		}
	}
	var scopes []string
	if p.Scopes != nil {
		scopes = scope.Normalize(*p.Scopes)
		if err := validScopes("scopes", scopes); err != nil {
			return nil, err
		}
	}
	if err := s.ownerMayGrant(ctx, a, scopes); err != nil { // outside the write transaction: it may audit
		return nil, err
	}
	if p.Scopes != nil {
		if err := s.ownerHolds(ctx, a, id, scopes); err != nil {
			return nil, err
		}
	}
	now := s.Now()
	changed := map[string]string{}
	return s.updateVisible(ctx, a, "key.update", id, changed, func(k *Key, ks *Keyspace) error {
		if !k.RevokedAt.IsZero() {
			return errRevoked(k)
		}
		if k.RotatedTo != "" && (p.Scopes != nil || p.ExpiresAt != nil || p.Enabled != nil || p.Remaining != nil || p.ClearRemaining ||
			p.RateLimits != nil || p.IPAllow != nil || p.Refill != nil || p.ClearRefill) {
			return conflictf("key_rotated", "key %s was rotated to %s: it only lives out its grace period; change the successor", k.ID, k.RotatedTo)
		}
		if err := checkNarrowing(a, k, p, scopes, ipAllow); err != nil {
			return err
		}
		if p.Name != nil {
			k.Name = *p.Name
			changed["name"] = "changed"
		}
		if p.Scopes != nil {
			if err := ks.checkScopes(scopes); err != nil {
				return err
			}
			k.Scopes = scopes
			changed["scopes"] = joinScopes(scopes)
		}
		if p.Metadata != nil {
			k.Metadata = p.Metadata
			if string(p.Metadata) == "null" {
				k.Metadata = nil
			}
			changed["metadata"] = "changed"
		}
		if p.ExpiresAt != nil {
			if err := ks.checkExpiry(k, *p.ExpiresAt, now); err != nil {
				return err
			}
			k.ExpiresAt = p.ExpiresAt.UTC()
			if !k.ExpiresAt.IsZero() {
				k.TTL = k.ExpiresAt.Sub(now)
			} else {
				k.TTL = 0
			}
			changed["expires_at"] = formatTime(k.ExpiresAt)
		}
		if p.Enabled != nil {
			k.Disabled = !*p.Enabled
			changed["enabled"] = boolString(*p.Enabled)
		}
		if p.Remaining != nil {
			r := *p.Remaining
			k.Remaining = &r
			changed["remaining"] = itoa(r)
		}
		if p.ClearRemaining {
			k.Remaining = nil
			changed["remaining"] = "unlimited"
		}
		if p.RateLimits != nil {
			k.RateLimits = *p.RateLimits
			changed["ratelimits"] = "changed"
		}
		if p.IPAllow != nil {
			k.IPAllow = ipAllow
			changed["ip_allow"] = "changed"
		}
		if p.Refill != nil {
			r := *p.Refill
			k.Refill, k.RefilledAt = &r, r.periodStart(now)
			if k.Remaining == nil {
				k.Remaining = &r.Amount
			}
			changed["refill"] = r.Interval + ":" + itoa(r.Amount)
		}
		if p.ClearRefill {
			k.Refill, k.RefilledAt = nil, time.Time{}
			changed["refill"] = "none"
		}
		k.UpdatedAt = now
		return nil
	})
}

// checkExpiry validates a new expiry for k: zero (permanent) only where the
// keyspace allows it, otherwise in the future and within max_ttl.
func (ks *Keyspace) checkExpiry(k *Key, exp, now time.Time) error {
	if exp.IsZero() {
		if !ks.AllowPermanent {
			return invalidf("keyspace %q does not allow permanent keys", ks.Name)
		}
		return nil
	}
	if !exp.After(now) {
		return invalidf("expires_at must be in the future; to stop a key now, disable or revoke it")
	}
	if exp.Sub(now) > MaxLifetime {
		return invalidf("expires_at may be at most 100 years away")
	}
	if ks.MaxTTL > 0 && exp.After(k.CreatedAt.Add(ks.MaxTTL)) {
		return invalidf("expires_at is past the key's creation plus keyspace %q max_ttl %s", ks.Name, ks.MaxTTL)
	}
	return nil
}

// RevokeKey revokes a key for good. Revoking a revoked key changes nothing
// and succeeds.
func (s *Service) RevokeKey(ctx context.Context, a *Actor, id, reason string) (*Key, error) {
	if err := validName("reason", reason); err != nil {
		return nil, err
	}
	errAlready := errors.New("already revoked")
	now := s.Now()
	detail := map[string]string{"reason": reason}
	k, err := s.updateVisible(ctx, a, "key.revoke", id, detail, func(k *Key, _ *Keyspace) error {
		if !k.RevokedAt.IsZero() {
			return errAlready
		}
		detail["keyspace"] = k.Keyspace // the webhook event tells a grant from a key
		k.RevokedAt, k.RevokeReason, k.UpdatedAt = now, reason, now
		return nil
	})
	if errors.Is(err, errAlready) {
		return s.visibleKey(ctx, a, id)
	}
	return k, err
}

// RotateKey replaces a key by a new one with the same settings and a new
// secret. The old key keeps verifying for grace (never past its own expiry);
// a zero grace revokes it at once.
func (s *Service) RotateKey(ctx context.Context, a *Actor, id string, grace time.Duration) (created *CreatedKey, old *Key, err error) {
	if grace < 0 || grace > MaxGracePeriod {
		return nil, nil, invalidf("grace_period must be between 0s and %s", MaxGracePeriod)
	}
	if err := s.mayChange(ctx, a, "key.rotate", id); err != nil {
		return nil, nil, err
	}
	cur, err := s.visibleKey(ctx, a, id)
	if err != nil {
		return nil, nil, err
	}
	if cur.Keyspace == ManagementKeyspace && !a.May(ScopeAdmin) {
		return nil, nil, s.deny(ctx, a, "key.rotate", "key", id, ScopeAdmin)
	}
	if err := s.mayWriteReserved(ctx, a, "key.rotate", id, cur.Keyspace); err != nil {
		return nil, nil, err
	}
	ks, err := s.keyspaceFor(ctx, cur.Keyspace)
	if err != nil {
		return nil, nil, err
	}
	secret, err := apitoken.New(ks.Prefix)
	if err != nil {
		return nil, nil, internal(err, "rotate key: generate secret")
	}
	now := s.Now()
	newID := NewID("key", now)
	// A key that signs its requests hands a new signing secret to its
	// successor (the old one keeps its own for the grace period).
	var signing apitoken.Token
	var sealedSigning []byte
	if cur.SigningSecret != nil {
		if signing, sealedSigning, err = s.newSigningSecret(newID); err != nil {
			return nil, nil, err
		}
	}
	// A recoverable keyspace keeps the successor's secret too.
	var kept []byte
	if ks.Recoverable {
		if kept, err = s.sealKeySecret(newID, secret); err != nil {
			return nil, nil, err
		}
	}
	ev := s.audit(a, "key.rotate", "key", id, map[string]string{"successor": newID, "grace_period": grace.String()})
	var rotated Rotated // the stored keys, final once the store writes ev
	ev.Answer = a.answer(func() any { return rotated })
	old, next, err := s.store.RotateKey(ctx, id, func(k *Key) (*Key, error) {
		if !a.owns(k) {
			return nil, notFound("key", id)
		}
		switch {
		case !k.RevokedAt.IsZero():
			return nil, errRevoked(k)
		case k.Expired(now):
			return nil, conflictf("key_expired", "key %s has expired", k.ID)
		case k.RotatedTo != "":
			return nil, conflictf("key_rotated", "key %s was already rotated to %s", k.ID, k.RotatedTo)
		}
		n := k.Clone()
		n.ID, n.Digest, n.Start, n.Foreign = newID, secret.Digest(), secret.Start(), false
		n.SigningSecret, n.SealedSecret = nil, kept
		if k.SigningSecret != nil {
			if sealedSigning == nil { // it gained one since it was read
				return nil, conflictf("key_changed", "key %s changed during rotation; retry", k.ID)
			}
			n.SigningSecret = sealedSigning
		}
		n.CreatedAt, n.UpdatedAt, n.RotatedFrom, n.RotatedTo = now, now, k.ID, ""
		n.LineageID = k.Lineage() // the successor shares the lineage's rate-limit buckets
		n.LastUsedAt, n.LastUsedIP, n.Version, n.IdempotencyKey = time.Time{}, "", 1, ""
		n.TTL = ks.rotatedTTL(k.TTL)
		n.ExpiresAt = time.Time{}
		if n.TTL > 0 {
			n.ExpiresAt = now.Add(n.TTL)
		}
		k.RotatedTo, k.UpdatedAt = newID, now
		if grace == 0 {
			k.RevokedAt, k.RevokeReason = now, "rotated"
		} else if end := now.Add(grace); k.ExpiresAt.IsZero() || end.Before(k.ExpiresAt) {
			k.ExpiresAt = end
		}
		rotated = Rotated{Created: &CreatedKey{Key: n, Secret: secret, SigningSecret: signing}, Old: k}
		return n, nil
	}, ev)
	s.wrote(err)
	s.forgetKey(cur.Digest, secret.Digest())
	if next != nil {
		next.SealedSecret = nil // write-only, as in createKey
	}
	if errors.Is(err, ErrNotFound) {
		return nil, nil, notFound("key", id)
	}
	if err != nil {
		return nil, nil, storeErr(err, "rotate key %s", id)
	}
	return &CreatedKey{Key: next, Secret: secret, SigningSecret: signing}, old, nil
}

// RenewKey pushes a temporary key's expiry out by its lifetime, never past
// its creation plus the keyspace's max_ttl.
func (s *Service) RenewKey(ctx context.Context, a *Actor, id string) (*Key, error) {
	now := s.Now()
	var exp time.Time
	detail := map[string]string{}
	return s.updateVisible(ctx, a, "key.renew", id, detail, func(k *Key, ks *Keyspace) error {
		switch {
		case !k.RevokedAt.IsZero():
			return errRevoked(k)
		case k.Expired(now):
			return conflictf("key_expired", "key %s has expired; expired keys cannot be renewed", k.ID)
		case k.ExpiresAt.IsZero():
			return conflictf("key_permanent", "key %s is permanent; there is nothing to renew", k.ID)
		case k.RotatedTo != "":
			return conflictf("key_rotated", "key %s was rotated to %s; renew the successor", k.ID, k.RotatedTo)
		}
		var capped bool
		exp, capped = ks.renewal(k, now)
		if !exp.After(k.ExpiresAt) {
			if capped {
				return conflictf("max_ttl_reached", "key %s has reached keyspace %q max_ttl; rotate it instead", k.ID, ks.Name)
			}
			exp = k.ExpiresAt
		}
		k.ExpiresAt, k.UpdatedAt = exp, now
		detail["expires_at"] = formatTime(exp)
		return nil
	})
}

// DeleteKey removes a revoked key for good.
func (s *Service) DeleteKey(ctx context.Context, a *Actor, id string) error {
	if err := s.mayChange(ctx, a, "key.delete", id); err != nil {
		return err
	}
	errHidden := errors.New("hidden")
	var digest apitoken.Digest
	err := s.store.DeleteKey(ctx, id, func(k *Key) error {
		digest = k.Digest
		switch {
		case !a.owns(k):
			return errHidden
		case k.Keyspace == ManagementKeyspace && !a.May(ScopeAdmin):
			return Errorf(PermissionDenied, "insufficient_scope", "this credential lacks the %q scope", ScopeAdmin)
		case k.RevokedAt.IsZero():
			return conflictf("key_not_revoked", "key %s is not revoked; revoke it before deleting it", k.ID)
		}
		return nil
	}, s.audit(a, "key.delete", "key", id, nil))
	s.wrote(err)
	s.forgetKey(digest)
	if errors.Is(err, ErrNotFound) || errors.Is(err, errHidden) {
		return notFound("key", id)
	}
	return storeErr(err, "delete key %s", id)
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func joinScopes(ss []string) string {
	b, _ := json.Marshal(ss)
	return string(b)
}

// ownerHolds refuses new scopes for key id that its owner does not hold. A
// key's owner never changes, so it is checked before the write. It answers
// only for a key the actor may change; anything else is left to
// updateVisible, so its errors come in the usual order.
func (s *Service) ownerHolds(ctx context.Context, a *Actor, id string, scopes []string) error {
	if !a.May(ScopeKeysWrite) {
		return nil
	}
	k, err := s.store.KeyByID(ctx, id)
	if err != nil || !a.owns(k) || k.Owner == nil || (k.Keyspace == ManagementKeyspace && !a.May(ScopeAdmin)) {
		return nil
	}
	o, err := s.store.Principal(ctx, k.Owner.Type, k.Owner.ID)
	if errors.Is(err, ErrNotFound) {
		return scopesHeld(&Principal{Type: k.Owner.Type, ID: k.Owner.ID}, scopes)
	} else if err != nil {
		return storeErr(err, "update key: look up owner")
	}
	return scopesHeld(o, scopes)
}
