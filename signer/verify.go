package signer

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// DefaultMaxTokenLen is the longest token Verify reads (JWT-09).
const DefaultMaxTokenLen = 8 << 10

// maxLeeway caps Verifier.Leeway (SECURITY.md JWT-11: leeway ≤ 60 s).
const maxLeeway = 60 * time.Second

// supportedAlgs are the only algorithms that can ever verify, whatever
// Verifier.Algs says.
var supportedAlgs = []string{EdDSA, ES256, RS256}

// forbiddenHeader are header parameters that make a token invalid outright:
// keys or key URLs carried by the token (JWT-04), crit, and JWE or
// compression parameters (JWT-10). Any other parameter than alg, kid and typ
// is rejected as well.
var forbiddenHeader = []string{"jwk", "jku", "x5u", "x5c", "x5t", "x5t#S256", "crit", "zip", "p2c", "p2s", "enc", "epk", "b64"}

// Verifier checks latchkey access tokens against an in-memory key ring. It
// makes no network requests and reads no files. Its fields must not change
// while Verify is running.
type Verifier struct {
	// Keys holds the verification keys, looked up by kid; a key verifies
	// while now < RetireAt.
	Keys *Ring
	// Issuer must equal iss exactly.
	Issuer string
	// Audience must be one of the aud values.
	Audience string
	// Leeway applies to exp, nbf and iat; 0 means DefaultLeeway; capped at 60 s.
	Leeway time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MaxTokenLen is the longest accepted token; 0 means DefaultMaxTokenLen.
	MaxTokenLen int
	// Algs is the algorithm allow-list; empty means EdDSA, ES256, RS256.
	// Algorithms outside that set are never accepted.
	Algs []string
}

// Verify checks token and returns its claims. Every failure is a
// *TokenError matching ErrInvalidToken, whose reason never includes token
// data. The signature is checked before any claim is read (JWT-13).
func (v *Verifier) Verify(token string) (*AccessClaims, error) {
	// JWT-09: the length is checked before anything splits or decodes.
	maxLen := v.MaxTokenLen
	if maxLen <= 0 {
		maxLen = DefaultMaxTokenLen
	}
	if len(token) > maxLen {
		return nil, errTooLong
	}
	if v.Keys == nil || v.Issuer == "" || v.Audience == "" {
		return nil, errMisconfigured
	}

	// JWT-07: exactly three non-empty unpadded base64url segments.
	h, rest, ok1 := strings.Cut(token, ".")
	p, s, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || !b64url(h) || !b64url(p) || !b64url(s) {
		return nil, errMalformed
	}
	enc := base64.RawURLEncoding.Strict()
	rawHeader, err := enc.DecodeString(h)
	if err != nil {
		return nil, errMalformed
	}
	if _, err := enc.DecodeString(p); err != nil {
		return nil, errMalformed
	}

	alg, kid, typ, terr := parseHeader(rawHeader)
	if terr != nil {
		return nil, terr
	}
	if !slices.Contains(supportedAlgs, alg) || !slices.Contains(v.algs(), alg) {
		return nil, errAlg // JWT-01, JWT-02
	}
	// JWT-14: only access tokens.
	if !strings.EqualFold(typ, TokenType) && !strings.EqualFold(typ, "application/"+TokenType) {
		return nil, errType
	}
	now := v.now()
	// JWT-05: kid is only ever a map key; unknown and hostile kids look alike.
	key, ok := v.Keys.published(kid, now)
	if !ok {
		return nil, errUnknownKey
	}
	// JWT-02/03: the algorithm is the key's own, never the header's choice.
	if key.Alg != alg {
		return nil, errAlg
	}

	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(key.Alg)})
	if err != nil || len(jws.Signatures) != 1 {
		return nil, errMalformed
	}
	payload, err := jws.Verify(key.Private.Public())
	if err != nil {
		return nil, errSignature
	}
	// Only now may the payload be read (JWT-13).
	return v.claims(payload, now)
}

func (v *Verifier) algs() []string {
	if len(v.Algs) == 0 {
		return supportedAlgs
	}
	return v.Algs
}

func (v *Verifier) now() time.Time {
	if v.Now == nil {
		return time.Now()
	}
	return v.Now()
}

func (v *Verifier) leeway() time.Duration {
	switch {
	case v.Leeway <= 0:
		return DefaultLeeway
	case v.Leeway > maxLeeway:
		return maxLeeway
	}
	return v.Leeway
}

// b64url reports whether s is non-empty and only of the unpadded base64url
// alphabet (so no '=', '+', '/', '.', whitespace).
func b64url(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// parseHeader accepts only a strict JSON object whose members are the
// strings alg, kid and typ.
func parseHeader(raw []byte) (alg, kid, typ string, err *TokenError) {
	if !strictObject(raw) {
		return "", "", "", errHeader
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return "", "", "", errHeader
	}
	for name, val := range m {
		var dst *string
		switch name {
		case "alg":
			dst = &alg
		case "kid":
			dst = &kid
		case "typ":
			dst = &typ
		default:
			return "", "", "", errHeaderParam // includes forbiddenHeader
		}
		if json.Unmarshal(val, dst) != nil {
			return "", "", "", errHeader
		}
	}
	if alg == "" || kid == "" {
		return "", "", "", errHeader
	}
	return alg, kid, typ, nil
}

func (v *Verifier) claims(payload []byte, now time.Time) (*AccessClaims, error) {
	if !strictObject(payload) {
		return nil, errPayload
	}
	var w wireIn
	if json.Unmarshal(payload, &w) != nil {
		return nil, errPayload
	}
	leeway := v.leeway()

	// JWT-11
	if w.Exp == nil || w.Iat == nil {
		return nil, errMissingClaim
	}
	exp, ok := numericDate(*w.Exp)
	if !ok {
		return nil, errPayload
	}
	if !now.Before(exp.Add(leeway)) {
		return nil, errExpired
	}
	var nbf time.Time
	if w.Nbf != nil {
		if nbf, ok = numericDate(*w.Nbf); !ok {
			return nil, errPayload
		}
		if now.Add(leeway).Before(nbf) {
			return nil, errNotYetValid
		}
	}
	iat, ok := numericDate(*w.Iat)
	if !ok {
		return nil, errPayload
	}
	if iat.After(now.Add(leeway)) {
		return nil, errIssuedFuture
	}

	// JWT-12
	if w.Iss == nil || *w.Iss != v.Issuer {
		return nil, errIssuer
	}
	aud, ok := audience(w.Aud)
	if !ok || !slices.Contains(aud, v.Audience) {
		return nil, errAudience
	}
	if deref(w.Sub) == "" || deref(w.Jti) == "" {
		return nil, errMissingClaim
	}

	c := &AccessClaims{
		Issuer:    *w.Iss,
		Subject:   *w.Sub,
		Audience:  aud,
		Expiry:    exp,
		IssuedAt:  iat,
		NotBefore: nbf,
		ID:        *w.Jti,
		Scope:     strings.Fields(deref(w.Scope)),
		ClientID:  deref(w.ClientID),
		KeyID:     deref(w.KeyID),
	}
	if w.Cnf != nil {
		c.ConfirmationJKT = w.Cnf.JKT
	}
	if w.Act != nil {
		if d := w.Act.Depth(); d > MaxActorDepth || !actorValid(w.Act) {
			return nil, errMissingClaim
		}
		c.Actor = w.Act
	}
	return c, nil
}

// actorValid reports whether every link of an act chain names a subject.
func actorValid(a *Actor) bool {
	for ; a != nil; a = a.Actor {
		if a.Subject == "" {
			return false
		}
	}
	return true
}

// PeekAudiences returns the aud values of a JWT without verifying it, so
// that a caller accepting several audiences knows which one to verify it
// for; nil for anything that is not a JWT with an aud.
func PeekAudiences(tok string) []string {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || len(tok) > DefaultMaxTokenLen {
		return nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil
	}
	var body struct {
		Aud json.RawMessage `json:"aud"`
	}
	if json.Unmarshal(raw, &body) != nil {
		return nil
	}
	var auds []string
	if json.Unmarshal(body.Aud, &auds) != nil {
		var one string
		if json.Unmarshal(body.Aud, &one) != nil || one == "" {
			return nil
		}
		auds = []string{one}
	}
	return auds
}
