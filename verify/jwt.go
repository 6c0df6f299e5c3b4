package verify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/latchkey/latchkey/dpop"
)

// Defaults and bounds of JWTOptions.
const (
	DefaultLeeway             = 30 * time.Second
	MaxLeeway                 = 60 * time.Second
	DefaultMinRefetchInterval = 30 * time.Second
	// MaxTokenSize is the longest JWT accepted, checked before any parsing.
	MaxTokenSize = 8 << 10
	// jwksMaxAge is how long a fetched JWKS is used before it is fetched
	// again (at most once per MinRefetchInterval; a failed refresh keeps
	// the previous set).
	jwksMaxAge = 5 * time.Minute
	// fetchTimeout bounds one JWKS download.
	fetchTimeout = 10 * time.Second
)

// DefaultAlgorithms are the signature algorithms accepted by default.
var DefaultAlgorithms = []string{string(jose.EdDSA), string(jose.ES256), string(jose.RS256)}

// allowedAlgorithms are the asymmetric signature algorithms a JWTOptions
// may allow; "none" and the HMAC algorithms are never accepted.
var allowedAlgorithms = map[string]bool{
	string(jose.EdDSA): true,
	string(jose.ES256): true, string(jose.ES384): true, string(jose.ES512): true,
	string(jose.RS256): true, string(jose.RS384): true, string(jose.RS512): true,
	string(jose.PS256): true, string(jose.PS384): true, string(jose.PS512): true,
}

// JWTOptions configure a [JWT] verifier. JWKSURL, Issuer and Audience are
// required.
type JWTOptions struct {
	// JWKSURL is the issuer's key set, for example
	// "https://auth.example.com/.well-known/jwks.json".
	JWKSURL string
	// Issuer must equal the token's iss exactly.
	Issuer string
	// Audience must be one of the token's aud values.
	Audience string
	// Leeway is the clock skew tolerated for exp, nbf and iat (default
	// 30s, at most 60s).
	Leeway time.Duration
	// Algorithms are the accepted signature algorithms (default EdDSA,
	// ES256, RS256); only asymmetric JWS algorithms are allowed.
	Algorithms []string
	// HTTPClient fetches the JWKS (default http.DefaultClient).
	HTTPClient *http.Client
	// MinRefetchInterval is the least time between two JWKS fetches, so
	// tokens with unknown kids cannot make the verifier hammer the issuer
	// (default 30s).
	MinRefetchInterval time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Revocations, if set, rejects tokens whose API key or principal was
	// revoked (or narrowed) after they were issued, and tokens signed by a
	// signing key withdrawn at the issuer (see [NewRevocations]).
	Revocations *Revocations
	// DPoPReplay records the DPoP proofs that came with DPoP-bound tokens
	// (cnf.jkt) and reports false for a proof seen before. Default: a
	// record in this process, which refuses replays to this verifier
	// only; services with several instances should share one.
	DPoPReplay func(ctx context.Context, jkt, id string, expires time.Time) (fresh bool, err error)
}

// Claims are the verified claims of an access token.
type Claims struct {
	Issuer    string
	Subject   string
	Audience  []string
	Scopes    []string // the space-separated scope claim
	ClientID  string   // client_id, if present
	KeyID     string   // key_id: the API key the token was exchanged for
	JTI       string
	IssuedAt  time.Time
	NotBefore time.Time // zero if absent
	ExpiresAt time.Time
	// ConfirmationJKT is cnf.jkt: the token is bound to the DPoP key of
	// this thumbprint (RFC 9449 §6) and valid only with a proof of it.
	ConfirmationJKT string
}

// JWT verifies latchkey access tokens (JWS compact serialization, typ
// at+jwt) offline with the issuer's published keys. It is safe for
// concurrent use.
type JWT struct {
	opts JWTOptions
	algs map[string]bool

	fetchMu sync.Mutex // serializes JWKS fetches

	mu      sync.Mutex
	keys    map[string]jose.JSONWebKey // nil until the first successful fetch
	fetched time.Time                  // last successful fetch
	tried   time.Time                  // last fetch attempt
	trying  bool                       // whether any fetch was attempted
	epoch   int64                      // Revocations' jwksEpoch at the last attempt
	lastErr error

	dpop *dpop.Checker // proofs of DPoP-bound tokens
}

var _ RequestVerifier = (*JWT)(nil)

// NewJWT returns a JWT verifier. It fetches the JWKS on first use.
func NewJWT(opts JWTOptions) (*JWT, error) {
	if opts.JWKSURL == "" || opts.Issuer == "" || opts.Audience == "" {
		return nil, errors.New("verify: JWKSURL, Issuer and Audience are required")
	}
	switch {
	case opts.Leeway == 0:
		opts.Leeway = DefaultLeeway
	case opts.Leeway < 0 || opts.Leeway > MaxLeeway:
		return nil, fmt.Errorf("verify: leeway %v outside (0, %v]", opts.Leeway, MaxLeeway)
	}
	if len(opts.Algorithms) == 0 {
		opts.Algorithms = DefaultAlgorithms
	}
	algs := make(map[string]bool, len(opts.Algorithms))
	for _, a := range opts.Algorithms {
		if !allowedAlgorithms[a] {
			return nil, fmt.Errorf("verify: algorithm %q not allowed", a)
		}
		algs[a] = true
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = http.DefaultClient
	}
	if opts.MinRefetchInterval <= 0 {
		opts.MinRefetchInterval = DefaultMinRefetchInterval
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	replay := opts.DPoPReplay
	if replay == nil {
		replay = newProofRecord(opts.Now).use
	}
	return &JWT{opts: opts, algs: algs, dpop: &dpop.Checker{Replay: replay, Now: opts.Now}}, nil
}

// forbiddenHeaders are JOSE header members an access token must not carry:
// keys and key locations supplied by the sender (RFC 8725 §3.10), critical
// extensions, and members of JWE or unencoded payloads.
var forbiddenHeaders = []string{"jwk", "jku", "x5u", "x5c", "crit", "zip", "enc", "epk", "p2c", "p2s", "b64"}

// Verify checks token and returns its claims. Errors wrap ErrInvalidToken,
// or ErrUnavailable when the JWKS could not be fetched; they never contain
// the token. The signature is checked before any claim is looked at.
func (v *JWT) Verify(ctx context.Context, token string) (*Claims, error) {
	if len(token) > MaxTokenSize {
		return nil, invalid("token too long")
	}
	h, p, s, ok := segments(token)
	if !ok {
		return nil, invalid("malformed")
	}
	hb, err := decodeSegment(h)
	if err != nil {
		return nil, invalid("malformed header")
	}
	if _, err := decodeSegment(p); err != nil {
		return nil, invalid("malformed payload")
	}
	if _, err := decodeSegment(s); err != nil {
		return nil, invalid("malformed signature")
	}
	header, err := decodeObject(hb)
	if err != nil {
		return nil, invalid("malformed header")
	}
	for _, m := range forbiddenHeaders {
		if _, ok := header[m]; ok {
			return nil, invalid("forbidden header " + m)
		}
	}
	alg, ok := stringMember(header, "alg")
	if !ok || !v.algs[alg] {
		return nil, invalid("algorithm not allowed")
	}
	typ, _ := stringMember(header, "typ")
	if !strings.EqualFold(typ, "at+jwt") && !strings.EqualFold(typ, "application/at+jwt") {
		return nil, invalid("not an access token")
	}
	kid, ok := stringMember(header, "kid")
	if !ok || kid == "" {
		return nil, invalid("unknown key")
	}
	if v.opts.Revocations != nil && v.opts.Revocations.withdrawn(kid) {
		// Withdrawn at the issuer (rotate --immediately): the cached
		// JWKS may still list it.
		return nil, invalid("signing key withdrawn")
	}
	key, err := v.key(ctx, kid)
	if err != nil {
		return nil, err
	}
	if key.Algorithm != alg {
		return nil, invalid("algorithm does not match key")
	}

	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
	if err != nil || len(jws.Signatures) != 1 {
		return nil, invalid("malformed")
	}
	payload, err := jws.Verify(key.Key)
	if err != nil {
		return nil, invalid("bad signature")
	}
	c, err := parseClaims(payload)
	if err != nil {
		return nil, &Error{Kind: ErrInvalidToken, Code: "malformed claims", Err: err}
	}
	if err := v.checkClaims(c); err != nil {
		return nil, err
	}
	if v.opts.Revocations != nil {
		if err := v.opts.Revocations.check(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (v *JWT) checkClaims(c *Claims) error {
	now, leeway := v.opts.Now(), v.opts.Leeway
	switch {
	case c.ExpiresAt.IsZero():
		return invalid("exp missing")
	case now.After(c.ExpiresAt.Add(leeway)):
		return invalid("expired")
	case !c.NotBefore.IsZero() && c.NotBefore.After(now.Add(leeway)):
		return invalid("not yet valid")
	case c.IssuedAt.IsZero():
		return invalid("iat missing")
	case c.IssuedAt.After(now.Add(leeway)):
		return invalid("issued in the future")
	case c.Issuer != v.opts.Issuer:
		return invalid("wrong issuer")
	case !slices.Contains(c.Audience, v.opts.Audience):
		return invalid("wrong audience")
	case c.Subject == "":
		return invalid("sub missing")
	case c.JTI == "":
		return invalid("jti missing")
	}
	return nil
}

// Check implements [Verifier] for JWTs: Verify, then the scope claim must
// grant every scope in scopes. A DPoP-bound token (cnf.jkt) is refused
// here: it is valid only with its proof, see CheckRequest.
func (v *JWT) Check(ctx context.Context, token string, scopes []string) (*Identity, error) {
	return v.CheckRequest(ctx, Request{Token: token, Scopes: scopes})
}

// CheckRequest implements [RequestVerifier] for JWTs: Check, and a
// DPoP-bound token (cnf.jkt) needs r.DPoP, a fresh proof of its key that
// hashes the token (RFC 9449 §7.1): CodeInvalidDPoPProof otherwise.
func (v *JWT) CheckRequest(ctx context.Context, r Request) (*Identity, error) {
	token, scopes := r.Token, r.Scopes
	if token == "" {
		return nil, invalid("missing")
	}
	c, err := v.Verify(ctx, token)
	if err != nil {
		return nil, err
	}
	if c.ConfirmationJKT != "" {
		if r.DPoP == nil {
			return nil, invalid(CodeInvalidDPoPProof)
		}
		_, err := v.dpop.Check(ctx, dpop.Request{Proof: r.DPoP.Proof, Method: r.DPoP.Method, URL: r.DPoP.URL,
			AccessToken: token, JKT: c.ConfirmationJKT})
		switch {
		case errors.Is(err, dpop.ErrInvalidProof), errors.Is(err, dpop.ErrUseNonce):
			return nil, &Error{Kind: ErrInvalidToken, Code: CodeInvalidDPoPProof, Err: err}
		case err != nil:
			return nil, &Error{Kind: ErrUnavailable, Err: err}
		}
	}
	if s, ok := missingScope(c.Scopes, scopes); ok {
		return nil, &Error{Kind: ErrInsufficientScope, Code: "INSUFFICIENT_SCOPE", Err: errors.New("missing scope " + s)}
	}
	return &Identity{KeyID: c.KeyID, Subject: c.Subject, Scopes: c.Scopes, Claims: c}, nil
}

// key returns the published key kid, fetching the JWKS when it was never
// fetched, is older than jwksMaxAge, or lacks kid — but never more often
// than once per MinRefetchInterval.
func (v *JWT) key(ctx context.Context, kid string) (jose.JSONWebKey, error) {
	k, ok, fresh := v.lookup(kid)
	if ok && fresh {
		return k, nil
	}
	v.fetchMu.Lock()
	defer v.fetchMu.Unlock()
	k, ok, fresh = v.lookup(kid) // another goroutine may have fetched
	if ok && fresh {
		return k, nil
	}
	now := v.opts.Now()
	var epoch int64
	if v.opts.Revocations != nil {
		epoch = v.opts.Revocations.jwksEpoch()
	}
	v.mu.Lock()
	// A signing key withdrawn through the feed means a new one was
	// published: fetch at once rather than after MinRefetchInterval.
	recent := v.trying && now.Sub(v.tried) < v.opts.MinRefetchInterval && epoch == v.epoch
	have, lastErr := v.keys != nil, v.lastErr
	if !recent {
		v.trying, v.tried, v.epoch = true, now, epoch
	}
	v.mu.Unlock()
	if recent {
		switch {
		case ok:
			return k, nil
		case !have:
			return jose.JSONWebKey{}, &Error{Kind: ErrUnavailable, Code: "jwks unavailable", Err: lastErr}
		}
		return jose.JSONWebKey{}, invalid("unknown key")
	}

	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
	defer cancel()
	keys, err := fetchJWKS(fctx, v.opts.HTTPClient, v.opts.JWKSURL)
	v.mu.Lock()
	if err != nil {
		v.lastErr = err
	} else {
		v.keys, v.fetched, v.lastErr = keys, now, nil
	}
	v.mu.Unlock()
	if err != nil {
		if ok {
			return k, nil // keep using the previous set
		}
		return jose.JSONWebKey{}, &Error{Kind: ErrUnavailable, Code: "jwks unavailable", Err: err}
	}
	if k, ok := keys[kid]; ok {
		return k, nil
	}
	return jose.JSONWebKey{}, invalid("unknown key")
}

// lookup returns the cached key kid and whether the cache is fresh.
func (v *JWT) lookup(kid string) (k jose.JSONWebKey, ok, fresh bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.keys == nil {
		return k, false, false
	}
	k, ok = v.keys[kid]
	age := v.opts.Now().Sub(v.fetched)
	return k, ok, age >= 0 && age < jwksMaxAge
}
