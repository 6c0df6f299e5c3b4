package token

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/latchkey/latchkey/apitoken"
	"github.com/latchkey/latchkey/ratelimit"
	"github.com/latchkey/latchkey/scope"
)

// CreateKeyParams describes a new key.
type CreateKeyParams struct {
	Keyspace  string // "" means DefaultKeyspace
	Name      string
	Owner     *Owner
	Scopes    []string
	ExpiresIn time.Duration // zero: not given
	ExpiresAt time.Time     // zero: not given
	Metadata  json.RawMessage
	Remaining *int64
	// IdempotencyKey, if set, makes a retried create return a Conflict
	// naming the key the first attempt created instead of a second key.
	IdempotencyKey string
	// RateLimits are the key's own limits; nil takes the keyspace's.
	RateLimits []ratelimit.Limit
	IPAllow    []string // addresses and CIDR prefixes; empty: anywhere
	Refill     *Refill  // resets Remaining every interval (Remaining defaults to the amount)
	// SigningSecret gives the key a request-signing secret: from then on it
	// is valid only on requests signed with it (RFC 9421 hmac-sha256).
	SigningSecret bool
	// DPoPJKT binds the key to a DPoP key: the base64url SHA-256
	// thumbprint of its public key (43 characters). From then on the key
	// is valid only with a DPoP proof signed by that key.
	DPoPJKT string
}

// CreatedKey is a new key and its plaintext, which exists only here.
type CreatedKey struct {
	Key    *Key
	Secret apitoken.Token
	// SigningSecret is the key's request-signing secret in the clear, when
	// it has one; shown once, like Secret.
	SigningSecret apitoken.Token
}

// CreateKey issues a new key.
func (s *Service) CreateKey(ctx context.Context, a *Actor, p CreateKeyParams) (*CreatedKey, error) {
	if p.Keyspace == "" {
		p.Keyspace = DefaultKeyspace
	}
	if !a.May(ScopeKeysWrite) {
		return nil, s.deny(ctx, a, "key.create", "key", "", ScopeKeysWrite)
	}
	if p.Keyspace == ManagementKeyspace && !a.May(ScopeAdmin) {
		return nil, s.deny(ctx, a, "key.create", "key", "", ScopeAdmin)
	}
	if err := s.mayWriteReserved(ctx, a, "key.create", "", p.Keyspace); err != nil {
		return nil, err
	}
	if a.ownerBound() {
		if p.Owner != nil && *p.Owner != *a.Owner {
			return nil, s.deny(ctx, a, "key.create", "key", "", "admin")
		}
		o := *a.Owner
		p.Owner = &o
	}
	return s.createKey(ctx, a, p, apitoken.Token{})
}

// createKey validates p and stores the key. A zero secret means: generate one.
func (s *Service) createKey(ctx context.Context, a *Actor, p CreateKeyParams, secret apitoken.Token) (*CreatedKey, error) {
	if err := validName("name", p.Name); err != nil {
		return nil, err
	}
	if err := validOwner(p.Owner); err != nil {
		return nil, err
	}
	if err := validMetadata(p.Metadata); err != nil {
		return nil, err
	}
	if p.Remaining != nil && *p.Remaining < 0 {
		return nil, invalidf("remaining must not be negative")
	}
	if err := validRefill(p.Refill); err != nil {
		return nil, err
	}
	if p.Refill != nil && p.Remaining == nil {
		r := p.Refill.Amount
		p.Remaining = &r
	}
	if err := validRateLimits("ratelimits", p.RateLimits); err != nil {
		return nil, err
	}
	ipAllow, err := ParseIPAllow(p.IPAllow)
	if err != nil {
		return nil, err
	}
	if err := ValidDPoPJKT(p.DPoPJKT); err != nil {
		return nil, err
	}
	if p.DPoPJKT != "" && p.Keyspace == ManagementKeyspace {
		return nil, invalidf("management keys cannot be bound to a DPoP key: the management API takes no DPoP proofs")
	}
	ks, err := s.keyspaceFor(ctx, p.Keyspace)
	if err != nil {
		return nil, err
	}
	scopes := scope.Normalize(p.Scopes)
	if err := ks.checkScopes(scopes); err != nil {
		return nil, err
	}
	if err := s.ownerMayGrant(ctx, a, scopes); err != nil {
		return nil, err
	}
	if p.Owner != nil {
		o, err := s.store.Principal(ctx, p.Owner.Type, p.Owner.ID)
		if errors.Is(err, ErrNotFound) {
			return nil, invalidf("owner: no such %s", p.Owner.Type)
		} else if err != nil {
			return nil, storeErr(err, "create key: look up owner")
		}
		if err := scopesHeld(o, scopes); err != nil {
			return nil, err
		}
	}
	now := s.Now()
	exp, ttl, err := ks.lifetime(now, p.ExpiresIn, p.ExpiresAt)
	if err != nil {
		return nil, err
	}
	var idem string
	if p.IdempotencyKey != "" {
		if err := validIdempotencyKey(p.IdempotencyKey); err != nil {
			return nil, err
		}
		idem = idempotencyDigest(a.KeyID, p.IdempotencyKey)
		if err := s.replayed(ctx, idem); err != nil {
			return nil, err
		}
	}
	foreign, generated := false, secret.IsZero()
	if generated {
		if secret, err = apitoken.New(ks.Prefix); err != nil {
			return nil, internal(err, "create key: generate secret")
		}
	} else {
		foreign = apitoken.Check(secret.Reveal()) != apitoken.Valid
	}
	k := &Key{
		ID:        NewID("key", now),
		Keyspace:  ks.Name,
		Name:      p.Name,
		Owner:     p.Owner,
		Scopes:    scopes,
		Digest:    secret.Digest(),
		Start:     secret.Start(),
		Metadata:  p.Metadata,
		Foreign:   foreign,
		CreatedAt: now,
		UpdatedAt: now,
		ExpiresAt: exp,
		TTL:       ttl,
		Remaining: p.Remaining,
		Version:   1,

		IdempotencyKey: idem,
		RateLimits:     p.RateLimits,
		IPAllow:        ipAllow,
		Refill:         p.Refill,
		DPoPJKT:        p.DPoPJKT,
	}
	if p.RateLimits == nil {
		k.RateLimits = ks.RateLimits
	}
	if k.Refill != nil {
		k.RefilledAt = k.Refill.periodStart(now)
	}
	var signing apitoken.Token
	if p.SigningSecret {
		if signing, k.SigningSecret, err = s.newSigningSecret(k.ID); err != nil {
			return nil, err
		}
	}
	if ks.Recoverable && generated {
		if k.SealedSecret, err = s.sealKeySecret(k.ID, secret); err != nil {
			return nil, err
		}
	}
	ev := s.audit(a, "key.create", "key", k.ID, map[string]string{"keyspace": k.Keyspace, "start": k.Start})
	ev.Answer = a.answer(func() any { return &CreatedKey{Key: k, Secret: secret, SigningSecret: signing} })
	err = s.wrote(s.store.CreateKey(ctx, k, ev))
	k.SealedSecret = nil  // write-only: the key returned is the key as a read returns it
	s.forgetKey(k.Digest) // it may be remembered as unknown
	if err != nil {
		if errors.Is(err, ErrConflict) {
			if idem != "" { // a concurrent retry of the same request won
				if err := s.replayed(ctx, idem); err != nil {
					return nil, err
				}
			}
			return nil, Errorf(Conflict, "key_exists", "a key with this secret already exists")
		}
		return nil, storeErr(err, "create key")
	}
	if foreign {
		s.foreign.Store(true)
	}
	return &CreatedKey{Key: k, Secret: secret, SigningSecret: signing}, nil
}

// ownerMayGrant checks, for a personal credential without admin, that
// every scope is one its owner holds now. A key's effective scopes are
// capped by its owner's permissions at every verification anyway; this
// keeps a personal credential from minting keys that would silently gain
// power the day its owner is granted more.
func (s *Service) ownerMayGrant(ctx context.Context, a *Actor, scopes []string) error {
	if !a.ownerBound() || len(scopes) == 0 {
		return nil
	}
	p, err := s.store.Principal(ctx, a.Owner.Type, a.Owner.ID)
	if err != nil {
		return storeErr(err, "look up the credential's owner")
	}
	for _, sc := range scopes {
		if !scope.Set(p.Permissions).Has(sc) {
			return s.deny(ctx, a, "key.create", "key", "", sc)
		}
	}
	return nil
}

// scopesHeld refuses scopes that the key's owner o does not hold now: such
// a scope would be stored and shown but never granted (a key's effective
// scopes are its scopes ∩ its owner's permissions), which only misleads.
func scopesHeld(o *Principal, scopes []string) error {
	if missing := scope.Set(o.Permissions).Missing(scopes); len(missing) > 0 {
		return Errorf(Invalid, "scope_not_held", "the key's owner (%s %s) does not hold %s; grant it the permission first",
			o.Type, o.ID, joinScopes(missing))
	}
	return nil
}

// KeyScopes is what a key's scopes come to now.
type KeyScopes struct {
	// Effective are the scopes a verification grants now: the key's
	// scopes ∩ its owner's current permissions (all of them for a key
	// without an owner). The key's and its owner's state are not considered.
	Effective []string
	// Inert are the key's scopes its owner no longer (fully) holds.
	Inert []string
}

// ScopesNow returns, for each key, its effective and inert scopes, looking
// up each owner once.
func (s *Service) ScopesNow(ctx context.Context, keys []*Key) ([]KeyScopes, error) {
	out := make([]KeyScopes, len(keys))
	owners := map[Owner]*Principal{}
	for i, k := range keys {
		if k.Owner == nil {
			out[i] = KeyScopes{Effective: append([]string{}, k.Scopes...), Inert: []string{}}
			continue
		}
		p, seen := owners[*k.Owner]
		if !seen {
			var err error
			p, err = s.store.Principal(ctx, k.Owner.Type, k.Owner.ID)
			if errors.Is(err, ErrNotFound) {
				p = nil // a vanished owner grants nothing
			} else if err != nil {
				return nil, storeErr(err, "look up the owner of key %s", k.ID)
			}
			owners[*k.Owner] = p
		}
		var perms []string
		if p != nil {
			perms = p.Permissions
		}
		ks := KeyScopes{Effective: scope.Intersect(k.Scopes, perms), Inert: scope.Set(perms).Missing(k.Scopes)}
		if ks.Effective == nil {
			ks.Effective = []string{}
		}
		if ks.Inert == nil {
			ks.Inert = []string{}
		}
		out[i] = ks
	}
	return out, nil
}

// keyspaceFor returns the named keyspace; a missing one is an Invalid
// request, not a missing resource.
func (s *Service) keyspaceFor(ctx context.Context, name string) (*Keyspace, error) {
	ks, err := s.store.Keyspace(ctx, name)
	if errors.Is(err, ErrNotFound) {
		if echoable("keyspace", name) {
			return nil, invalidf("keyspace %q does not exist", name)
		}
		return nil, invalidf("no such keyspace")
	}
	if err != nil {
		return nil, storeErr(err, "look up keyspace %s", name)
	}
	return ks, nil
}

// checkScopes validates a key's scopes against the keyspace's rules.
func (ks *Keyspace) checkScopes(scopes []string) error {
	if err := validScopes("scopes", scopes); err != nil {
		return err
	}
	for _, sc := range scopes {
		if ks.Name == ManagementKeyspace && !IsManagementScope(sc) {
			return invalidf("scope %q is not a management scope; allowed: %v", sc, ManagementScopes)
		}
		if len(ks.Scopes) > 0 && !scope.Set(ks.Scopes).Has(sc) {
			return invalidf("scope %q is not in keyspace %q's catalogue", sc, ks.Name)
		}
	}
	return nil
}

// Key returns one key the actor may see.
func (s *Service) Key(ctx context.Context, a *Actor, id string) (*Key, error) {
	if !a.mayReadKeys() {
		return nil, s.deny(ctx, a, "key.read", "key", "", ScopeKeysRead)
	}
	return s.visibleKey(ctx, a, id)
}

// KeyUsage returns how often a key the actor may see was verified, by
// result code, as far as usage has been flushed (every 5 seconds by default).
func (s *Service) KeyUsage(ctx context.Context, a *Actor, id string) (map[Code]int64, error) {
	if _, err := s.Key(ctx, a, id); err != nil {
		return nil, err
	}
	counts, err := s.store.UsageCounts(ctx, id)
	if err != nil {
		return nil, storeErr(err, "usage counts of key %s", id)
	}
	return counts, nil
}

// visibleKey returns key id if it exists and the actor may see it; otherwise
// the same NotFound, so a personal credential cannot probe others' keys.
func (s *Service) visibleKey(ctx context.Context, a *Actor, id string) (*Key, error) {
	k, err := s.store.KeyByID(ctx, id)
	if errors.Is(err, ErrNotFound) || (err == nil && !a.owns(k)) {
		return nil, notFound("key", id)
	}
	if err != nil {
		return nil, storeErr(err, "get key")
	}
	return k, nil
}

// Page limits.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

func pageSize(n int) (int, error) {
	switch {
	case n == 0:
		return DefaultPageSize, nil
	case n < 0 || n > MaxPageSize:
		return 0, invalidf("limit must be between 1 and %d", MaxPageSize)
	}
	return n, nil
}

// Keys lists keys the actor may see.
func (s *Service) Keys(ctx context.Context, a *Actor, f KeyFilter) ([]*Key, string, error) {
	if !a.mayReadKeys() {
		return nil, "", s.deny(ctx, a, "key.list", "key", "", ScopeKeysRead)
	}
	var err error
	if f.Limit, err = pageSize(f.Limit); err != nil {
		return nil, "", err
	}
	if f.State != "" && !ValidState(f.State) {
		return nil, "", invalidf("state must be one of active, disabled, revoked, expired")
	}
	if f.OwnerType != "" && !ValidPrincipalType(f.OwnerType) {
		return nil, "", invalidf("owner_type must be \"user\" or \"app\"")
	}
	if a.ownerBound() {
		if (f.OwnerType != "" && f.OwnerType != a.Owner.Type) || (f.OwnerID != "" && f.OwnerID != a.Owner.ID) {
			return nil, "", nil // someone else's keys: indistinguishable from none
		}
		f.OwnerType, f.OwnerID = a.Owner.Type, a.Owner.ID
	}
	f.Now = s.Now()
	keys, next, err := s.store.ListKeys(ctx, f)
	if err != nil {
		return nil, "", storeErr(err, "list keys")
	}
	return keys, next, nil
}

// mutableKey checks that the actor may change key k.
func (s *Service) mayChange(ctx context.Context, a *Actor, action string, id string) error {
	if !a.May(ScopeKeysWrite) {
		return s.deny(ctx, a, action, "key", id, ScopeKeysWrite)
	}
	return nil
}

// updateVisible runs an update of key id for actor a: the key must be
// visible to the actor, and management keys may only be changed by admins.
// fn gets the key and its keyspace; it may fill detail, which the audit
// event carries.
func (s *Service) updateVisible(ctx context.Context, a *Actor, action, id string, detail map[string]string, fn func(*Key, *Keyspace) error) (*Key, error) {
	if err := s.mayChange(ctx, a, action, id); err != nil {
		return nil, err
	}
	cur, err := s.visibleKey(ctx, a, id)
	if err != nil {
		return nil, err
	}
	if cur.Keyspace == ManagementKeyspace && !a.May(ScopeAdmin) {
		return nil, s.deny(ctx, a, action, "key", id, ScopeAdmin)
	}
	if action != "key.revoke" {
		if err := s.mayWriteReserved(ctx, a, action, id, cur.Keyspace); err != nil {
			return nil, err
		}
	}
	ks, err := s.keyspaceFor(ctx, cur.Keyspace)
	if err != nil {
		return nil, err
	}
	ev := s.audit(a, action, "key", id, detail)
	var changed *Key // the stored key, final once the store writes ev
	ev.Answer = a.answer(func() any { return changed })
	k, err := s.store.UpdateKey(ctx, id, func(k *Key) error {
		if !a.owns(k) {
			return ErrNotFound
		}
		changed = k
		return fn(k, ks)
	}, ev)
	s.wrote(err)
	s.forgetKey(cur.Digest) // before returning: the next verification sees the change
	if errors.Is(err, ErrNotFound) {
		return nil, notFound("key", id)
	}
	if err != nil {
		return nil, storeErr(err, "%s %s", action, id)
	}
	return k, nil
}

func conflictf(code, format string, args ...any) error {
	return &Error{Kind: Conflict, Code: code, Msg: fmt.Sprintf(format, args...)}
}

func errRevoked(k *Key) error {
	return conflictf("key_revoked", "key %s is revoked", k.ID)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
