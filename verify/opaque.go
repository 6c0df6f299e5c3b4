package verify

import (
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/client"
)

// Defaults of OpaqueOptions.
const (
	DefaultCacheTTL   = 5 * time.Second
	DefaultMaxEntries = 10_000
)

// OpaqueOptions configure an [Opaque] verifier.
type OpaqueOptions struct {
	// CacheTTL is how long a positive answer is reused (default 5s). A key
	// revoked at the server may still be accepted for this long. Negative
	// answers and errors are never cached.
	CacheTTL time.Duration
	// MaxEntries bounds the cache (default 10,000).
	MaxEntries int
	// Keyspace, if set, accepts only keys of this keyspace.
	Keyspace string
	// Revocations, if set, evicts cached answers of keys the revocation
	// feed reports revoked, disabled, cut short or narrowed (or whose
	// owner was), so a revocation is refused within the feed's delay
	// instead of CacheTTL. While the feed fails, CacheTTL still bounds it.
	Revocations *Revocations
}

// Opaque verifies opaque API keys by asking a latchkey server
// (POST /v1/keys/verify). It is safe for concurrent use.
type Opaque struct {
	c    *client.Client
	opts OpaqueOptions
	now  func() time.Time

	mu    sync.Mutex
	cache map[cacheKey]cacheEntry
}

// cacheKey identifies a question: the SHA-256 of the key (never the key
// itself) and the scopes asked for.
type cacheKey struct {
	hash     [sha256.Size]byte
	scopes   string
	ip       string
	keyspace string
	query    string
}

type cacheEntry struct {
	resp     *api.VerifyResponse
	expires  time.Time
	answered time.Time // when the question was sent
	subject  string    // the owner "type:id", or ""
}

var _ Verifier = (*Opaque)(nil)

// NewOpaque returns a verifier that asks the server behind c, which must be
// authenticated with a credential allowed to verify keys.
func NewOpaque(c *client.Client, opts OpaqueOptions) *Opaque {
	if opts.CacheTTL <= 0 {
		opts.CacheTTL = DefaultCacheTTL
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = DefaultMaxEntries
	}
	return &Opaque{c: c, opts: opts, now: time.Now, cache: make(map[cacheKey]cacheEntry)}
}

// Verify asks the server whether key is valid and grants scopes. Like
// [client.Client.Verify], an invalid key is an answer (Valid false, Code
// saying why), not an error; an error means the question could not be
// answered and the key must be treated as invalid.
//
// A VALID answer is cached for CacheTTL (never past the key's expiry)
// unless it carries rate limits or remaining credits, which must be spent
// at the server on every use. The caller must not modify the answer.
func (o *Opaque) Verify(ctx context.Context, key string, scopes ...string) (*api.VerifyResponse, error) {
	return o.verify(ctx, api.VerifyRequest{Key: key, Keyspace: o.opts.Keyspace, Scopes: scopes})
}

// verify asks the server, through the cache unless the request is signed
// (a signature's nonce is single-use, so its answer cannot be reused).
func (o *Opaque) verify(ctx context.Context, req api.VerifyRequest) (*api.VerifyResponse, error) {
	ck := cacheKey{hash: sha256.Sum256([]byte(req.Key)), scopes: strings.Join(req.Scopes, "\x00"), ip: req.IP,
		keyspace: req.Keyspace, query: req.ScopeQuery}
	now := o.now()
	// Signed requests and DPoP proofs are judged by the server every
	// time (their nonces and jtis are single-use), and their answers are
	// not cached: a cached VALID of a bound key would admit it without a
	// proof. (A bound key never verifies without one.)
	cacheable := req.Request == nil && req.DPoP == nil
	if cacheable {
		if r := o.lookup(ck, now); r != nil {
			return r, nil
		}
	}
	r, err := o.c.Verify(ctx, req)
	if err != nil {
		return nil, err
	}
	if cacheable && r.Valid && r.Code == "VALID" && len(r.RateLimits) == 0 && r.Remaining == nil {
		o.store(ck, r, now)
	}
	return r, nil
}

func (o *Opaque) lookup(ck cacheKey, now time.Time) *api.VerifyResponse {
	o.mu.Lock()
	defer o.mu.Unlock()
	e, ok := o.cache[ck]
	if !ok {
		return nil
	}
	if !now.Before(e.expires) || (o.opts.Revocations != nil && o.opts.Revocations.revokedSince(e.resp.KeyID, e.subject, e.answered)) {
		delete(o.cache, ck)
		return nil
	}
	return e.resp
}

func (o *Opaque) store(ck cacheKey, r *api.VerifyResponse, now time.Time) {
	exp := now.Add(o.opts.CacheTTL)
	if r.ExpiresAt != nil && r.ExpiresAt.Before(exp) {
		exp = *r.ExpiresAt
	}
	if !now.Before(exp) {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.cache) >= o.opts.MaxEntries {
		o.evictLocked(now)
	}
	e := cacheEntry{resp: r, expires: exp, answered: now}
	if r.Owner != nil {
		e.subject = r.Owner.Type + ":" + r.Owner.ID
	}
	o.cache[ck] = e
}

// evictLocked drops expired entries and, if the cache is still full, as
// many others (in map order, effectively random) as needed for one more.
func (o *Opaque) evictLocked(now time.Time) {
	for k, e := range o.cache {
		if !now.Before(e.expires) {
			delete(o.cache, k)
		}
	}
	for k := range o.cache {
		if len(o.cache) < o.opts.MaxEntries {
			break
		}
		delete(o.cache, k)
	}
}

// Check implements [Verifier] for opaque keys.
func (o *Opaque) Check(ctx context.Context, token string, scopes []string) (*Identity, error) {
	return o.CheckRequest(ctx, Request{Token: token, Scopes: scopes})
}

// CheckRequest implements [RequestVerifier]: like Check, with the client's
// address and, when the request is signed, its signature components sent
// to the server (signed requests are never answered from the cache).
func (o *Opaque) CheckRequest(ctx context.Context, req Request) (*Identity, error) {
	token, scopes := req.Token, req.Scopes
	if token == "" || len(token) > MaxTokenSize {
		return nil, invalid("MALFORMED")
	}
	vr := api.VerifyRequest{Key: token, Keyspace: o.opts.Keyspace, Scopes: scopes, IP: req.IP, ScopeQuery: req.ScopeQuery}
	if req.Keyspace != "" {
		if vr.Keyspace != "" && vr.Keyspace != req.Keyspace {
			return nil, invalid("NOT_FOUND") // a key of another keyspace is unknown here
		}
		vr.Keyspace = req.Keyspace
	}
	if req.DryRun {
		var zero int64
		vr.Cost = &zero
	}
	if req.HTTP != nil {
		vr.Request = SignedRequestOf(req.HTTP, Origin(req.HTTP))
	}
	vr.DPoP = req.DPoP
	r, err := o.verify(ctx, vr)
	if err != nil {
		// Network failures, server errors and refusals of this
		// verifier's own credential: fail closed.
		return nil, &Error{Kind: ErrUnavailable, Err: err}
	}
	return IdentityOf(r, scopes, o.now())
}

// IdentityOf turns a verification answer into the Identity of a valid key,
// or the *Error a Verifier reports (invalid, insufficient scope, rate
// limited: with the limits' state); scopes are the ones that were
// required, now the clock for Retry-After.
func IdentityOf(r *api.VerifyResponse, scopes []string, now time.Time) (*Identity, error) {
	rl := statuses(r.RateLimits)
	switch {
	case r.Valid:
		if s, ok := missingScope(r.Scopes, scopes); ok {
			// The server checked scopes already; this guards a cached
			// or inconsistent answer.
			return nil, &Error{Kind: ErrInsufficientScope, Code: "INSUFFICIENT_SCOPE", RateLimits: rl, Err: errors.New("missing scope " + s)}
		}
		id := &Identity{KeyID: r.KeyID, Owner: r.Owner, Scopes: r.Scopes, Keyspace: r.Keyspace, RateLimits: rl}
		if r.Owner != nil {
			id.Subject = r.Owner.Type + ":" + r.Owner.ID
		}
		return id, nil
	case r.Code == "RATE_LIMITED":
		return nil, &Error{Kind: ErrRateLimited, Code: r.Code, Keyspace: r.Keyspace, RateLimits: rl, RetryAfter: retryAfter(rl, now)}
	case r.Code == "INSUFFICIENT_SCOPE":
		return nil, &Error{Kind: ErrInsufficientScope, Code: r.Code, Keyspace: r.Keyspace, RateLimits: rl}
	default:
		return nil, &Error{Kind: ErrInvalidToken, Code: r.Code, Keyspace: r.Keyspace, RateLimits: rl, DPoPNonce: r.DPoPNonce}
	}
}
