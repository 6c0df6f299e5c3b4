package token

import (
	"context"
	"errors"
	"time"

	"github.com/latchkey/latchkey/apitoken"
	"github.com/latchkey/latchkey/ratelimit"
	"github.com/latchkey/latchkey/scope"
)

// Code is the stable outcome of a verification.
type Code string

// Verification codes. Later capabilities add more.
const (
	CodeValid             Code = "VALID"
	CodeNotFound          Code = "NOT_FOUND"
	CodeExpired           Code = "EXPIRED"
	CodeRevoked           Code = "REVOKED"
	CodeDisabled          Code = "DISABLED"
	CodeOwnerDisabled     Code = "OWNER_DISABLED"
	CodeInsufficientScope Code = "INSUFFICIENT_SCOPE"
	CodeUsageExceeded     Code = "USAGE_EXCEEDED"
	CodeForbiddenIP       Code = "FORBIDDEN_IP"
	CodeRateLimited       Code = "RATE_LIMITED"
	// CodeInvalidSignature: the key has a signing secret and its request
	// was not signed with it (missing, invalid, outside the clock window,
	// or replayed signature).
	CodeInvalidSignature Code = "INVALID_SIGNATURE"
	// CodeInvalidDPoPProof: the key is bound to a DPoP key and came
	// without a valid proof of it (missing, invalid, of another key, for
	// another request or token, or replayed).
	CodeInvalidDPoPProof Code = "INVALID_DPOP_PROOF"
	// CodeUseDPoPNonce: the key's DPoP proof lacks the server's current
	// nonce; the result carries one (VerifyResult.DPoPNonce).
	CodeUseDPoPNonce Code = "USE_DPOP_NONCE"
)

// Codes lists every verification code.
var Codes = []Code{
	CodeValid, CodeNotFound, CodeExpired, CodeRevoked, CodeDisabled,
	CodeOwnerDisabled, CodeInsufficientScope, CodeUsageExceeded,
	CodeForbiddenIP, CodeRateLimited, CodeInvalidSignature,
	CodeInvalidDPoPProof, CodeUseDPoPNonce,
}

// VerifyRequest asks whether a presented key may be used.
type VerifyRequest struct {
	Key string // the plaintext as presented
	// Keyspace, if set, is the only keyspace whose keys are valid here.
	// Empty accepts every keyspace except ManagementKeyspace.
	Keyspace string
	Scopes   []string    // all required
	Query    *scope.Expr // optional expression that must hold
	IP       string      // the client's address: IP allowlists, last-used bookkeeping
	// Cost is what the request takes from rate limits and credits; 0
	// means 1. With DryRun nothing is taken: the answer says whether a
	// request of cost 1 would pass.
	Cost   int64
	DryRun bool
	// Probe marks a dry run that the caller makes ahead of the real
	// verification of the same request (the gateway learning a key's
	// keyspace before it spends anything): it is not recorded as a use,
	// so one request counts once in usage and last-used.
	Probe bool
	// Signature checks the request's RFC 9421 signature; required for keys
	// with a signing secret (nil: the request is not signed).
	Signature SignatureCheck
	// DPoP is the DPoP proof that came with the key; required for keys
	// bound to a DPoP key (nil: the key was sent as a bearer token).
	DPoP *DPoPCheck
}

// VerifyResult is the answer. Key is nil when the code is NOT_FOUND.
type VerifyResult struct {
	Valid     bool
	Code      Code
	Key       *Key
	Scopes    []string // effective: the key's scopes ∩ its owner's permissions
	Remaining *int64
	// RateLimits holds the state of every limit that applies (the key's,
	// then its owner's, named "owner_<name>"); on RATE_LIMITED the last
	// one is the limit that refused.
	RateLimits []ratelimit.Result
	// DPoPNonce is a fresh DPoP server nonce when the code is
	// USE_DPOP_NONCE, for the client's next proof.
	DPoPNonce string
}

// Verify checks a presented key. A well-formed request always gets a result;
// an error means the store could not answer (Unavailable), in which case
// the key must be treated as invalid.
func (s *Service) Verify(ctx context.Context, r VerifyRequest) (*VerifyResult, error) {
	now := s.Now()
	res, err := s.verify(ctx, r, now)
	if err != nil {
		return nil, err
	}
	if res.Key != nil && !(r.Probe && r.DryRun) {
		s.usage.record(res.Key, res.Code, r.IP, now)
	}
	return res, nil
}

var resultNotFound = VerifyResult{Code: CodeNotFound}

func (s *Service) verify(ctx context.Context, r VerifyRequest, now time.Time) (*VerifyResult, error) {
	e, err := s.findKey(ctx, r.Key)
	if err != nil {
		return nil, err
	}
	if e == nil {
		res := resultNotFound
		return &res, nil
	}
	k := e.key
	if (r.Keyspace != "" && k.Keyspace != r.Keyspace) || (r.Keyspace == "" && k.Keyspace == ManagementKeyspace) {
		// A key of another API is unknown here; management credentials
		// verify only where asked for by name.
		res := resultNotFound
		return &res, nil
	}
	res := &VerifyResult{Key: k, Scopes: k.Scopes, Remaining: k.Remaining}
	switch k.State(now) {
	case Revoked:
		res.Code = CodeRevoked
		return res, nil
	case Expired:
		res.Code = CodeExpired
		return res, nil
	case Disabled:
		res.Code = CodeDisabled
		return res, nil
	}
	var owner *Principal
	if k.Owner != nil {
		p, err := s.lookupPrincipal(ctx, k.Owner.Type, k.Owner.ID)
		switch {
		case errors.Is(err, ErrNotFound):
			res.Code = CodeOwnerDisabled
			return res, nil
		case err != nil:
			return nil, err
		case p.Disabled:
			res.Code = CodeOwnerDisabled
			return res, nil
		}
		res.Scopes = e.effectiveScopes(p)
		owner = p
	}
	if len(k.IPAllow) > 0 && !ipAllowed(k.IPAllow, r.IP) {
		res.Code = CodeForbiddenIP
		return res, nil
	}
	if k.SigningSecret != nil {
		// Before limits and credits: a stolen key without its secret
		// cannot spend them.
		ok, err := s.checkSignature(ctx, k, r.Signature)
		if err != nil {
			return nil, err
		}
		if !ok {
			res.Code = CodeInvalidSignature
			return res, nil
		}
	}
	if k.DPoPJKT != "" {
		// Before limits and credits, as the signature: a stolen key
		// without the private key of its binding spends nothing.
		code, err := s.checkKeyDPoP(ctx, k, r.Key, r.DPoP)
		if err != nil {
			return nil, err
		}
		if code != CodeValid {
			res.Code = code
			if code == CodeUseDPoPNonce {
				res.DPoPNonce = s.DPoPNonce()
			}
			return res, nil
		}
	}
	granted := scope.Set(res.Scopes)
	if !granted.HasAll(r.Scopes) || (r.Query != nil && !r.Query.Eval(granted)) {
		res.Code = CodeInsufficientScope
		return res, nil
	}
	cost := r.Cost
	if cost == 0 {
		cost = 1
	}
	if r.DryRun {
		cost = 0
	}
	if cost < 0 {
		return nil, invalidf("cost must not be negative")
	}
	if allowed, err := s.rateLimit(ctx, res, owner, cost, now); err != nil || !allowed {
		return res, err
	}
	if k.Remaining != nil {
		holder, err := s.creditHolder(ctx, k)
		if err != nil {
			return nil, err
		}
		var period time.Time
		if k.Refill != nil {
			period = k.Refill.periodStart(now)
		}
		left, ok, err := s.store.SpendCredits(ctx, holder, cost, period)
		if err != nil {
			return nil, storeErr(err, "verify: spend credits")
		}
		if r.DryRun && left < 1 {
			ok = false
		}
		res.Remaining = &left
		if !ok {
			res.Code = CodeUsageExceeded
			return res, nil
		}
	}
	res.Valid = true
	res.Code = CodeValid
	return res, nil
}

// rateLimit takes cost from every limit of the key and then of its owner,
// recording each result in res. It reports false, with res.Code set, at
// the first limit that refuses (the limits before it have been charged).
func (s *Service) rateLimit(ctx context.Context, res *VerifyResult, owner *Principal, cost int64, now time.Time) (bool, error) {
	k := res.Key
	n := len(k.RateLimits)
	if owner != nil {
		n += len(owner.RateLimits)
	}
	if n == 0 {
		return true, nil
	}
	res.RateLimits = make([]ratelimit.Result, 0, n)
	check := func(key string, l ratelimit.Limit, name string) (bool, error) {
		r, err := s.limiter.Allow(ctx, key, l, cost, now)
		if err != nil {
			return false, &Error{Kind: Unavailable, Code: "unavailable", Msg: "rate limiter unavailable", Err: err}
		}
		r.Limit.Name = name
		res.RateLimits = append(res.RateLimits, r)
		if !r.Allowed {
			res.Code = CodeRateLimited
			if s.onLimited != nil {
				s.onLimited(RateLimited{KeyID: k.ID, Keyspace: k.Keyspace, Limit: r.Limit, At: now})
			}
		}
		return r.Allowed, nil
	}
	// The buckets belong to the lineage: every generation of a rotation
	// chain, during a grace period too, draws on the same budget.
	for _, l := range k.RateLimits {
		if ok, err := check("k:"+k.Lineage()+":"+l.Name, l, l.Name); !ok || err != nil {
			return false, err
		}
	}
	if owner != nil {
		for _, l := range owner.RateLimits {
			if ok, err := check("o:"+string(owner.Type)+":"+owner.ID+":"+l.Name, l, "owner_"+l.Name); !ok || err != nil {
				return false, err
			}
		}
	}
	return true, nil
}

// creditHolder returns the ID of the key whose credits a verification of k
// spends: k itself, or — while k lives out a rotation's grace period — its
// latest successor, so that rotating never doubles a key's credits.
func (s *Service) creditHolder(ctx context.Context, k *Key) (string, error) {
	// The whole chain, however long: a fixed hop limit let the oldest keys
	// of a long chain spend credits of a middle generation. The visited set
	// guards against a corrupted cycle.
	id, next := k.ID, k.RotatedTo
	seen := map[string]bool{k.ID: true}
	for next != "" && !seen[next] {
		seen[next] = true
		succ, err := s.store.KeyByID(ctx, next)
		if errors.Is(err, ErrNotFound) {
			break
		}
		if err != nil {
			return "", storeErr(err, "verify: look up successor")
		}
		id, next = succ.ID, succ.RotatedTo
	}
	return id, nil
}

// findKey returns the stored key whose plaintext was presented, or nil if
// there is none. A key in the cache is answered from its digest alone: it
// was read from the store under exactly that digest, so checking the
// plaintext's shape first would only repeat work. Otherwise the shape is
// checked before storage is touched: malformed strings never are, foreign
// shapes and bad checksums only if the store holds keys issued elsewhere.
func (s *Service) findKey(ctx context.Context, plaintext string) (*keyEntry, error) {
	if len(plaintext) == 0 || len(plaintext) > apitoken.MaxLen {
		return nil, nil // Malformed whatever it holds; not worth hashing
	}
	d := apitoken.Hash(plaintext)
	if e := s.cachedKey(d); e != nil {
		return e, nil
	}
	switch apitoken.Check(plaintext) {
	case apitoken.Valid:
	case apitoken.Foreign, apitoken.BadChecksum:
		// Not ours, or mistyped: looked up only if the store holds keys
		// issued elsewhere (which may have any shape).
		if !s.foreign.Load() {
			return nil, nil
		}
	default: // malformed: never touch storage
		return nil, nil
	}
	e, err := s.lookupKey(ctx, d)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	return e, err
}

// cachedKey returns the cached key with digest d (nil if none). The stored
// digest is compared again in constant time.
func (s *Service) cachedKey(d apitoken.Digest) *keyEntry {
	if s.cache == nil {
		return nil
	}
	if e, ok := s.cache.keys.GetIfPresent(d); ok && e.key.Digest.Equal(d) {
		return e
	}
	return nil
}

// lookupKey finds the key with digest d: from the cache, or from the store
// (then cached). Unknown digests are remembered briefly. The stored digest
// is compared again in constant time.
func (s *Service) lookupKey(ctx context.Context, d apitoken.Digest) (*keyEntry, error) {
	c := s.cache
	if c == nil {
		k, err := s.keyByDigest(ctx, d)
		if err != nil {
			return nil, err
		}
		return &keyEntry{key: k}, nil
	}
	if e, ok := c.keys.GetIfPresent(d); ok && e.key.Digest.Equal(d) {
		return e, nil
	}
	if _, ok := c.unknown.GetIfPresent(d); ok {
		return nil, ErrNotFound
	}
	epoch := c.begin()
	k, err := s.keyByDigest(ctx, d)
	if errors.Is(err, ErrNotFound) {
		c.fillUnknown(epoch, d)
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	return c.fillKey(epoch, k), nil
}

func (s *Service) keyByDigest(ctx context.Context, d apitoken.Digest) (*Key, error) {
	k, err := s.store.KeyByDigest(ctx, d)
	if errors.Is(err, ErrNotFound) || (err == nil && !k.Digest.Equal(d)) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, storeErr(err, "verify: look up key")
	}
	return k, nil
}

// lookupPrincipal finds a key's owner through the cache.
func (s *Service) lookupPrincipal(ctx context.Context, typ PrincipalType, id string) (*Principal, error) {
	c := s.cache
	if c != nil {
		if p, ok := c.principals.GetIfPresent(principalRef{typ, id}); ok {
			return p, nil
		}
	}
	var epoch uint64
	if c != nil {
		epoch = c.begin()
	}
	p, err := s.store.Principal(ctx, typ, id)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, storeErr(err, "verify: look up owner")
	}
	if c != nil {
		c.fillPrincipal(epoch, p)
	}
	return p, nil
}

// forgetKey drops what the cache knows about digests, before a write call
// returns, so the next verification on this node sees the change.
func (s *Service) forgetKey(ds ...apitoken.Digest) {
	if s.cache == nil {
		return
	}
	for _, d := range ds {
		s.cache.invalidateKey(d)
	}
}

// Invalidate drops what the cache knows about the key with digest d: for
// changes made by another node sharing the store.
func (s *Service) Invalidate(d apitoken.Digest) { s.forgetKey(d) }

// InvalidatePrincipal drops a cached principal changed by another node.
func (s *Service) InvalidatePrincipal(typ PrincipalType, id string) { s.forgetPrincipal(typ, id) }

// InvalidateAll empties the verification cache, for when changes made by
// other nodes may have been missed.
func (s *Service) InvalidateAll() {
	if s.cache != nil {
		s.cache.invalidateAll()
	}
}

func (s *Service) forgetPrincipal(typ PrincipalType, id string) {
	if s.cache != nil {
		s.cache.invalidatePrincipal(typ, id)
	}
}

// Authenticate verifies a management credential: a valid key of the
// ManagementKeyspace. Every failure is the same Unauthenticated error, so a
// caller learns nothing about why.
func (s *Service) Authenticate(ctx context.Context, secret, ip, requestID string) (*Actor, error) {
	a := new(Actor)
	if err := s.AuthenticateInto(ctx, a, secret, ip, requestID); err != nil {
		return nil, err
	}
	return a, nil
}

// AuthenticateInto is Authenticate filling in *a, which the caller may keep
// in its per-request state to save an allocation. On error *a is unchanged.
//
// It runs on every management call, POST /v1/keys/verify included, so it
// is the hot path's second key lookup and is kept short: a cached key is
// found by its digest alone, and the credential's use updates its last-used
// time and address but is not counted as a verification (the verification
// counts are the analytics of keys verified, not of the callers asking).
// Every check of Verify still applies: state (revoked, expired, disabled),
// owner (missing or disabled), effective scopes, IP allowlist. A credential
// with a signing secret, credits or rate limits (its own or its owner's)
// takes the full verification, which enforces and charges them.
func (s *Service) AuthenticateInto(ctx context.Context, a *Actor, secret, ip, requestID string) error {
	now := s.Now()
	e, err := s.findKey(ctx, secret)
	if err != nil {
		return err
	}
	if e == nil || e.key.Keyspace != ManagementKeyspace {
		return errBadCredential()
	}
	k := e.key
	s.usage.touch(k, ip, now)
	if k.SigningSecret != nil || k.DPoPJKT != "" || k.Remaining != nil || len(k.RateLimits) > 0 {
		// (A key bound to a DPoP key fails there: the management API
		// takes no DPoP proofs.)
		return s.authenticateFull(ctx, a, secret, ip, requestID, now)
	}
	if k.State(now) != Active {
		return errBadCredential()
	}
	scopes := k.Scopes
	if k.Owner != nil {
		p, err := s.lookupPrincipal(ctx, k.Owner.Type, k.Owner.ID)
		switch {
		case errors.Is(err, ErrNotFound):
			return errBadCredential()
		case err != nil:
			return err
		case p.Disabled:
			return errBadCredential()
		case len(p.RateLimits) > 0:
			return s.authenticateFull(ctx, a, secret, ip, requestID, now)
		}
		scopes = e.effectiveScopes(p)
	}
	if len(k.IPAllow) > 0 && !ipAllowed(k.IPAllow, ip) {
		return errBadCredential()
	}
	*a = Actor{KeyID: k.ID, Name: k.Name, Scopes: scopes, RequestID: requestID, IP: ip}
	if k.Owner != nil {
		o := *k.Owner
		a.Owner = &o
		a.Inert = scope.Set(scopes).Missing(k.Scopes)
	}
	return nil
}

// authenticateFull authenticates a credential with a signing secret,
// credits or rate limits through the whole verification, which checks and
// charges them (the caller has recorded its use).
func (s *Service) authenticateFull(ctx context.Context, a *Actor, secret, ip, requestID string, now time.Time) error {
	res, err := s.verify(ctx, VerifyRequest{Key: secret, IP: ip, Keyspace: ManagementKeyspace}, now)
	if err != nil {
		return err
	}
	if !res.Valid || res.Key.Keyspace != ManagementKeyspace {
		return errBadCredential()
	}
	*a = Actor{KeyID: res.Key.ID, Name: res.Key.Name, Scopes: res.Scopes, RequestID: requestID, IP: ip}
	if res.Key.Owner != nil {
		o := *res.Key.Owner
		a.Owner = &o
		a.Inert = scope.Set(res.Scopes).Missing(res.Key.Scopes)
	}
	return nil
}

func errBadCredential() error {
	return Errorf(Unauthenticated, "invalid_credential", "missing or invalid management credential")
}
