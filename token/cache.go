package token

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/latchkey/latchkey/apitoken"
	"github.com/latchkey/latchkey/scope"
)

// CacheConfig sizes the verification cache. Zero fields take the defaults.
type CacheConfig struct {
	// Size is the most keys kept in memory (default 100,000). Memory is
	// bounded by it, not by the number of stored keys. Negative disables
	// caching.
	Size int
	// MaxAge bounds how long an entry is trusted without being re-read
	// (default 30s). Changes made on this node invalidate at once; MaxAge
	// bounds changes made by other nodes sharing the store.
	MaxAge time.Duration
	// NegativeSize is the most unknown digests remembered (default 10,000),
	// kept apart so a flood of random keys cannot evict real ones.
	NegativeSize int
	// NegativeTTL is how long an unknown digest is remembered (default 2s).
	NegativeTTL time.Duration
}

// keyEntry is a cached key: an immutable snapshot plus the effective scopes
// last computed for it, tagged with the owner's version they came from.
type keyEntry struct {
	key *Key
	eff atomic.Pointer[effective]
}

type effective struct {
	ownerVersion int64
	scopes       []string
}

type principalRef struct {
	typ PrincipalType
	id  string
}

// verifyCache holds keys by digest, principals, and unknown digests.
//
// A fill must never resurrect a state older than an invalidation that
// already happened: fills remember the epoch before they read the store and
// are dropped if any invalidation ran since (fill and invalidate both hold
// mu, so they are ordered).
type verifyCache struct {
	keys       *otter.Cache[apitoken.Digest, *keyEntry]
	principals *otter.Cache[principalRef, *Principal]
	unknown    *otter.Cache[apitoken.Digest, struct{}]
	// ids maps key IDs to digests, for lookups by ID (JWTs name their key
	// by ID). A key's digest never changes, so this needs no invalidation;
	// the key itself is then read through keys.
	ids *otter.Cache[string, apitoken.Digest]

	mu    sync.Mutex
	epoch atomic.Uint64
}

func newVerifyCache(c CacheConfig) *verifyCache {
	if c.Size < 0 {
		return nil
	}
	if c.Size == 0 {
		c.Size = 100_000
	}
	if c.MaxAge <= 0 {
		c.MaxAge = 30 * time.Second
	}
	if c.NegativeSize <= 0 {
		c.NegativeSize = 10_000
	}
	if c.NegativeTTL <= 0 {
		c.NegativeTTL = 2 * time.Second
	}
	return &verifyCache{
		keys: otter.Must(&otter.Options[apitoken.Digest, *keyEntry]{
			MaximumSize:      c.Size,
			ExpiryCalculator: otter.ExpiryWriting[apitoken.Digest, *keyEntry](c.MaxAge),
		}),
		principals: otter.Must(&otter.Options[principalRef, *Principal]{
			MaximumSize:      max(c.Size/4, 1000),
			ExpiryCalculator: otter.ExpiryWriting[principalRef, *Principal](c.MaxAge),
		}),
		unknown: otter.Must(&otter.Options[apitoken.Digest, struct{}]{
			MaximumSize:      c.NegativeSize,
			ExpiryCalculator: otter.ExpiryWriting[apitoken.Digest, struct{}](c.NegativeTTL),
		}),
		ids: otter.Must(&otter.Options[string, apitoken.Digest]{MaximumSize: c.Size}),
	}
}

// begin returns the epoch a fill must still see when it stores its result.
func (c *verifyCache) begin() uint64 { return c.epoch.Load() }

func (c *verifyCache) fillKey(epoch uint64, k *Key) *keyEntry {
	e := &keyEntry{key: k}
	c.mu.Lock()
	if c.epoch.Load() == epoch {
		c.keys.Set(k.Digest, e)
	}
	c.mu.Unlock()
	return e
}

func (c *verifyCache) fillUnknown(epoch uint64, d apitoken.Digest) {
	c.mu.Lock()
	if c.epoch.Load() == epoch {
		c.unknown.Set(d, struct{}{})
	}
	c.mu.Unlock()
}

func (c *verifyCache) fillPrincipal(epoch uint64, p *Principal) {
	c.mu.Lock()
	if c.epoch.Load() == epoch {
		c.principals.Set(principalRef{p.Type, p.ID}, p)
	}
	c.mu.Unlock()
}

// invalidateKey forgets digest d, known or unknown.
func (c *verifyCache) invalidateKey(d apitoken.Digest) {
	c.mu.Lock()
	c.epoch.Add(1)
	c.keys.Invalidate(d)
	c.unknown.Invalidate(d)
	c.mu.Unlock()
}

func (c *verifyCache) invalidatePrincipal(typ PrincipalType, id string) {
	c.mu.Lock()
	c.epoch.Add(1)
	c.principals.Invalidate(principalRef{typ, id})
	c.mu.Unlock()
}

func (c *verifyCache) invalidateAll() {
	c.mu.Lock()
	c.epoch.Add(1)
	c.keys.InvalidateAll()
	c.principals.InvalidateAll()
	c.unknown.InvalidateAll()
	c.mu.Unlock()
}

// effectiveScopes returns k's scopes ∩ p's permissions, reusing the last
// result while the owner's version is unchanged.
func (e *keyEntry) effectiveScopes(p *Principal) []string {
	if eff := e.eff.Load(); eff != nil && eff.ownerVersion == p.Version {
		return eff.scopes
	}
	eff := &effective{ownerVersion: p.Version, scopes: scope.Intersect(e.key.Scopes, p.Permissions)}
	e.eff.Store(eff)
	return eff.scopes
}
