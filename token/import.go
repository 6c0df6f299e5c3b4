package token

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/latchkey/latchkey/apitoken"
	"github.com/latchkey/latchkey/ratelimit"
	"github.com/latchkey/latchkey/scope"
)

// MaxImportBatch is the most keys one import call takes.
const MaxImportBatch = 1000

// ImportKey is a key from another system, known only by the SHA-256 digest
// of its plaintext.
type ImportKey struct {
	Digest     apitoken.Digest
	Start      string // display hint, e.g. the first characters the old system showed
	Name       string
	Owner      *Owner
	Scopes     []string
	ExpiresAt  time.Time // zero: the keyspace's default
	Metadata   json.RawMessage
	Remaining  *int64
	RateLimits []ratelimit.Limit // nil: the keyspace's
	IPAllow    []string
}

// ImportKeys stores keys known by their digests, all or nothing, so that
// keys issued by another system keep working after a migration. Their
// plaintexts need not be in latchkey's format.
func (s *Service) ImportKeys(ctx context.Context, a *Actor, keyspace string, in []ImportKey) ([]*Key, error) {
	if keyspace == "" {
		keyspace = DefaultKeyspace
	}
	if !a.May(ScopeKeysWrite) {
		return nil, s.deny(ctx, a, "key.import", "key", "", ScopeKeysWrite)
	}
	if keyspace == ManagementKeyspace && !a.May(ScopeAdmin) {
		return nil, s.deny(ctx, a, "key.import", "key", "", ScopeAdmin)
	}
	if err := s.mayWriteReserved(ctx, a, "key.import", "", keyspace); err != nil {
		return nil, err
	}
	if len(in) == 0 || len(in) > MaxImportBatch {
		return nil, invalidf("an import takes 1 to %d keys", MaxImportBatch)
	}
	ks, err := s.keyspaceFor(ctx, keyspace)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	owners := map[Owner]bool{}
	keys := make([]*Key, len(in))
	evs := make([]*AuditEvent, len(in))
	for i, ik := range in {
		if a.ownerBound() {
			if ik.Owner != nil && *ik.Owner != *a.Owner {
				return nil, s.deny(ctx, a, "key.import", "key", "", ScopeAdmin)
			}
			o := *a.Owner
			ik.Owner = &o
		}
		k, err := s.importedKey(ctx, ks, ik, now, owners)
		if err != nil {
			return nil, prefixErr(err, i)
		}
		if err := s.ownerMayGrant(ctx, a, k.Scopes); err != nil {
			return nil, err
		}
		keys[i] = k
		evs[i] = s.audit(a, "key.import", "key", k.ID, map[string]string{"keyspace": k.Keyspace})
	}
	evs[len(evs)-1].Answer = a.answer(func() any { return keys })
	err = s.wrote(s.store.ImportKeys(ctx, keys, evs))
	for _, k := range keys {
		s.forgetKey(k.Digest)
	}
	if errors.Is(err, ErrDigestRevoked) {
		return nil, conflictf("digest_revoked", "one of these digests belongs to a revoked key: a revoked secret never becomes valid again; issue a new key instead; nothing was imported")
	}
	if errors.Is(err, ErrConflict) {
		return nil, conflictf("key_exists", "a key with one of these digests already exists; nothing was imported")
	}
	if err != nil {
		return nil, storeErr(err, "import keys")
	}
	s.foreign.Store(true)
	return keys, nil
}

func (s *Service) importedKey(ctx context.Context, ks *Keyspace, ik ImportKey, now time.Time, owners map[Owner]bool) (*Key, error) {
	if ik.Digest.IsZero() {
		return nil, invalidf("hash is required")
	}
	if err := validName("name", ik.Name); err != nil {
		return nil, err
	}
	if len(ik.Start) > 16 {
		return nil, invalidf("start is longer than 16 characters")
	}
	if err := validName("start", ik.Start); err != nil {
		return nil, err
	}
	if err := validOwner(ik.Owner); err != nil {
		return nil, err
	}
	if err := validMetadata(ik.Metadata); err != nil {
		return nil, err
	}
	if ik.Remaining != nil && *ik.Remaining < 0 {
		return nil, invalidf("remaining must not be negative")
	}
	if err := validRateLimits("ratelimits", ik.RateLimits); err != nil {
		return nil, err
	}
	ipAllow, err := ParseIPAllow(ik.IPAllow)
	if err != nil {
		return nil, err
	}
	limits := ik.RateLimits
	if limits == nil {
		limits = ks.RateLimits
	}
	scopes := scope.Normalize(ik.Scopes)
	if err := ks.checkScopes(scopes); err != nil {
		return nil, err
	}
	if o := ik.Owner; o != nil && !owners[*o] {
		if _, err := s.store.Principal(ctx, o.Type, o.ID); errors.Is(err, ErrNotFound) {
			return nil, invalidf("owner: no such %s", o.Type)
		} else if err != nil {
			return nil, storeErr(err, "import: look up owner")
		}
		owners[*o] = true
	}
	exp, ttl, err := ks.lifetime(now, 0, ik.ExpiresAt)
	if err != nil {
		return nil, err
	}
	start := ik.Start
	if start == "" {
		start = "imported"
	}
	return &Key{
		ID: NewID("key", now), Keyspace: ks.Name, Name: ik.Name, Owner: ik.Owner, Scopes: scopes,
		Digest: ik.Digest, Start: start, Metadata: ik.Metadata, Foreign: true,
		CreatedAt: now, UpdatedAt: now, ExpiresAt: exp, TTL: ttl, Remaining: ik.Remaining, Version: 1,
		RateLimits: limits, IPAllow: ipAllow,
	}, nil
}

// prefixErr names the position of a failing key in an import.
func prefixErr(err error, i int) error {
	var e *Error
	if errors.As(err, &e) && e.Kind == Invalid {
		c := *e
		c.Msg = "keys[" + itoa(int64(i)) + "]: " + e.Msg
		return &c
	}
	return err
}
