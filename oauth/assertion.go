package oauth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/latchkey/latchkey/token"
)

// ClientAssertionType is the only client_assertion_type accepted (RFC 7523 §2.2).
const ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// AssertionAlgs are the signature algorithms a client assertion may use:
// asymmetric only, never none or HMAC (a client's jwks holds public keys).
var AssertionAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.PS256, jose.ES256, jose.ES384, jose.EdDSA}

// Limits of a client assertion.
const (
	// MaxAssertionLifetime bounds how far ahead of now an assertion's exp
	// may be: a longer-lived one is refused, so a stolen one is short-lived
	// and the replay store stays small.
	MaxAssertionLifetime = 5 * time.Minute
	// assertionLeeway is the clock skew allowed on exp, iat and nbf.
	assertionLeeway = 60 * time.Second
	maxAssertionLen = 8 << 10
	maxJTILen       = 256
	// MaxJWKSKeys bounds the keys a client may register.
	MaxJWKSKeys = 10
)

// assertionFail is the invalid_client answer to a bad assertion; desc is
// safe to show (it never echoes the assertion).
func assertionFail(desc string) error {
	return &Error{Code: "invalid_client", Description: "client assertion: " + desc}
}

// authenticateAssertion authenticates a private_key_jwt client (RFC 7523
// §2.2 and §3, OpenID Connect Core §9): a JWT whose iss and sub are the
// client's ID, for this server (aud: the issuer or the token endpoint),
// short-lived, signed by a key of the client's registered jwks, and used
// once (its jti is recorded until it expires, atomically across nodes). A
// replay store that cannot answer fails the request (503), never passes it.
func (s *Service) authenticateAssertion(r *http.Request, form url.Values) (*Client, error) {
	if form.Get("client_assertion_type") != ClientAssertionType {
		return nil, assertionFail("client_assertion_type must be " + ClientAssertionType)
	}
	raw := form.Get("client_assertion")
	if raw == "" {
		return nil, assertionFail("client_assertion is required")
	}
	if form.Has("client_secret") {
		return nil, &Error{Code: "invalid_request", Description: "authenticate one way only: client_assertion or client_secret"}
	}
	if len(raw) > maxAssertionLen {
		return nil, assertionFail("the assertion is too large")
	}
	tok, err := jwt.ParseSigned(raw, AssertionAlgs)
	if err != nil {
		return nil, assertionFail("not a JWS compact JWT signed with " + algList())
	}
	if len(tok.Headers) != 1 {
		return nil, assertionFail("exactly one signature is required")
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return nil, assertionFail("the claims are not valid JSON")
	}
	id := unverified.Issuer
	if id == "" || unverified.Subject != id {
		return nil, assertionFail("iss and sub must both be the client_id")
	}
	if fid := form.Get("client_id"); fid != "" && fid != id {
		return nil, assertionFail("client_id differs from the assertion's iss")
	}
	if len(id) > 128 {
		return nil, errClient
	}
	c, err := s.client(r.Context(), id)
	if errors.Is(err, token.ErrNotFound) {
		// The same work as a known client: a signature check that fails.
		if k := dummyKeys()[tok.Headers[0].Algorithm]; k != nil {
			tok.Claims(k) //nolint:errcheck // it fails
		}
		return nil, errClient
	}
	if err != nil {
		return nil, unavailable(err, "get client")
	}
	if c.Settings.TokenEndpointAuthMethod != AuthPrivateKeyJWT {
		return nil, errClient
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(c.Settings.JWKS, &set); err != nil {
		return nil, errClient
	}
	var claims jwt.Claims
	if !verifyAssertion(tok, &set, &claims) {
		return nil, errClient // as for an unknown client: no oracle of which clients exist
	}
	// Only the verified claims count from here on.
	if claims.Issuer != id || claims.Subject != id {
		return nil, assertionFail("iss and sub must both be the client_id")
	}
	if !slices.ContainsFunc(claims.Audience, func(a string) bool { return a == s.issuer || a == s.issuer+"/oauth2/token" }) {
		return nil, assertionFail("aud must be this server's issuer or token endpoint")
	}
	now := s.tokens.Now()
	if claims.Expiry == nil {
		return nil, assertionFail("exp is required")
	}
	exp := claims.Expiry.Time()
	if !now.Before(exp.Add(assertionLeeway)) {
		return nil, assertionFail("the assertion has expired")
	}
	if exp.After(now.Add(MaxAssertionLifetime)) {
		return nil, assertionFail(fmt.Sprintf("exp is more than %s ahead; use short-lived assertions", MaxAssertionLifetime))
	}
	if claims.IssuedAt != nil && claims.IssuedAt.Time().After(now.Add(assertionLeeway)) {
		return nil, assertionFail("iat is in the future")
	}
	if claims.NotBefore != nil && claims.NotBefore.Time().After(now.Add(assertionLeeway)) {
		return nil, assertionFail("the assertion is not valid yet (nbf)")
	}
	if claims.ID == "" {
		return nil, assertionFail("jti is required")
	}
	if len(claims.ID) > maxJTILen {
		return nil, assertionFail("jti is longer than 256 bytes")
	}
	// Remembered past exp by the leeway, during which it still passes.
	fresh, err := s.tokens.UseNonce(r.Context(), "client_assertion:"+id, claims.ID, exp.Add(assertionLeeway))
	if err != nil {
		s.log.WarnContext(r.Context(), "client assertion replay check failed", "client_id", id, "err", err)
		return nil, &Error{Code: "temporarily_unavailable", Description: "the server cannot check the assertion for replay now; retry later"}
	}
	if !fresh {
		return nil, assertionFail("this assertion (its jti) was already used")
	}
	return c, nil
}

// dummyKeys are public keys nobody holds the private part of (the RSA
// modulus is fixed, the others fresh), one per assertion algorithm: the
// assertion of an unknown client is checked against one, so that it costs
// what a known client's does.
var dummyKeys = sync.OnceValue(func() map[string]any {
	m := map[string]any{}
	n, _ := base64.RawURLEncoding.DecodeString(dummyRSAModulus)
	rk := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537}
	m[string(jose.RS256)], m[string(jose.PS256)] = rk, rk
	if k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err == nil {
		m[string(jose.ES256)] = &k.PublicKey
	}
	if k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader); err == nil {
		m[string(jose.ES384)] = &k.PublicKey
	}
	if pk, _, err := ed25519.GenerateKey(rand.Reader); err == nil {
		m[string(jose.EdDSA)] = pk
	}
	return m
})

// dummyRSAModulus is the modulus of a 2048-bit RSA key whose private part
// was thrown away.
const dummyRSAModulus = "pLKljuCzLQ4DrgCLl13WXES_HmMQKoqJZ9nFtYTCzBHVsvifHKUaWQoyUeusOpHvyNU381oT3AFhxMbDaVLeGyzMpaI2RBvHDNJA9yZ8TJmvibNtkMoQ7LjvnFUkTVqNGQHlooWcSfMxD6_koGOJzuZOseY4CirXqyazACFHdedbv0N9653FggxSjZPPw0OMchPRPFGAsSppHWEazInmnLfDZ75KzcE5tS9JiLlCMelDuCbuQaWloRxqY-_Db0HukWw4_jNoLWkM0ulVXzjvcZW-fB0NnMV6gYIFBLTheENF6tGu2Mj-TI5BVljxn94ZF-SaYr58kkWlBe4cSxBCbw"

// verifyAssertion checks tok's signature with the key of set its header
// names (kid), or else with each key of a matching algorithm, and decodes
// the claims into out.
func verifyAssertion(tok *jwt.JSONWebToken, set *jose.JSONWebKeySet, out ...any) bool {
	h := tok.Headers[0]
	keys := set.Keys
	if h.KeyID != "" {
		keys = set.Key(h.KeyID)
	}
	for _, k := range keys {
		if !keyFitsAlg(k, h.Algorithm) {
			continue
		}
		if err := tok.Claims(k.Key, out...); err == nil {
			return true
		}
	}
	return false
}

// keyFitsAlg reports whether public key k may verify a signature of alg:
// its own alg if it names one, else the family of its key type.
func keyFitsAlg(k jose.JSONWebKey, alg string) bool {
	if k.Algorithm != "" && k.Algorithm != alg {
		return false
	}
	if k.Use != "" && k.Use != "sig" {
		return false
	}
	switch pk := k.Key.(type) {
	case *rsa.PublicKey:
		return alg == string(jose.RS256) || alg == string(jose.PS256)
	case *ecdsa.PublicKey:
		return (alg == string(jose.ES256) && pk.Curve.Params().BitSize == 256) || (alg == string(jose.ES384) && pk.Curve.Params().BitSize == 384)
	case ed25519.PublicKey:
		return alg == string(jose.EdDSA)
	}
	return false
}

func algList() string {
	s := ""
	for i, a := range AssertionAlgs {
		if i > 0 {
			s += ", "
		}
		s += string(a)
	}
	return s
}

// validJWKS checks a client's jwks for private_key_jwt: a JWKS document of
// 1–MaxJWKSKeys public asymmetric signing keys (RSA of at least 2048 bits,
// P-256, P-384, Ed25519), with distinct kids when there are several.
func validJWKS(raw json.RawMessage) error {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &set); err != nil {
		return fmt.Errorf("not a valid JWKS document: %v", err)
	}
	if len(set.Keys) == 0 || len(set.Keys) > MaxJWKSKeys {
		return fmt.Errorf("must hold 1 to %d keys, not %d", MaxJWKSKeys, len(set.Keys))
	}
	kids := map[string]bool{}
	for i, k := range set.Keys {
		switch k.Key.(type) {
		case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
			return fmt.Errorf("key %d holds private key material: register public keys only", i)
		case []byte:
			return fmt.Errorf("key %d is a symmetric key: register public keys only", i)
		}
		if k.Use != "" && k.Use != "sig" {
			return fmt.Errorf("key %d has use %q, not sig", i, k.Use)
		}
		switch pk := k.Key.(type) {
		case *rsa.PublicKey:
			if pk.N.BitLen() < 2048 {
				return fmt.Errorf("key %d: RSA keys need at least 2048 bits", i)
			}
		case *ecdsa.PublicKey:
			if b := pk.Curve.Params().BitSize; b != 256 && b != 384 {
				return fmt.Errorf("key %d: only P-256 and P-384 curves", i)
			}
		case ed25519.PublicKey:
		default:
			return fmt.Errorf("key %d is not an asymmetric signing key (RSA, EC or Ed25519)", i)
		}
		if k.Algorithm != "" && !slices.Contains(AssertionAlgs, jose.SignatureAlgorithm(k.Algorithm)) {
			return fmt.Errorf("key %d: alg %q is not one of %s", i, k.Algorithm, algList())
		}
		if k.Algorithm != "" && !keyFitsAlg(k, k.Algorithm) {
			return fmt.Errorf("key %d: alg %q does not fit its key type", i, k.Algorithm)
		}
		if len(set.Keys) > 1 {
			if k.KeyID == "" {
				return fmt.Errorf("key %d has no kid: each key of a JWKS with several needs one", i)
			}
			if kids[k.KeyID] {
				return fmt.Errorf("kid %q is used twice", k.KeyID)
			}
		}
		kids[k.KeyID] = true
	}
	return nil
}
