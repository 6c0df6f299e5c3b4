package signer

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Supported signature algorithms. HMAC (HS*) is never supported: access tokens
// are verified by third parties holding only public keys (JWT-02, JWT-16).
const (
	EdDSA = "EdDSA"
	ES256 = "ES256"
	RS256 = "RS256"
)

// Schedule defaults used by Generate.
const (
	// JWKSCacheTTL is the longest time a relying party may cache the JWKS; a
	// new key is published at least this long before it signs (JWT-15a).
	JWKSCacheTTL = 10 * time.Minute
	// SignPeriod is how long a generated key signs.
	SignPeriod = 24 * time.Hour
	// MaxTokenTTL is the hard cap on an access token's lifetime.
	MaxTokenTTL = time.Hour
	// DefaultLeeway is the clock leeway for exp, nbf and iat.
	DefaultLeeway = 30 * time.Second
	// MinRSABits is the smallest accepted RSA modulus.
	MinRSABits = 2048
)

// Key is one signing key of the ring.
type Key struct {
	// ID is the kid: the RFC 7638 SHA-256 thumbprint (base64url) of the public JWK.
	ID string
	// Alg is the only algorithm this key is used with: EdDSA, ES256 or RS256.
	Alg string
	// Private is an ed25519.PrivateKey, *ecdsa.PrivateKey (P-256) or *rsa.PrivateKey.
	Private crypto.Signer
	// NotBefore is when the key starts signing; SignUntil when it stops.
	NotBefore, SignUntil time.Time
	// RetireAt is when the key leaves the JWKS and stops verifying.
	RetireAt time.Time
}

// Generate creates a key for alg ("" means EdDSA). The key is published at
// now, signs from now+JWKSCacheTTL for SignPeriod, and is retired once every
// token it may have signed has expired (SignUntil+MaxTokenTTL+DefaultLeeway).
func Generate(alg string, now time.Time) (*Key, error) {
	if alg == "" {
		alg = EdDSA
	}
	var priv crypto.Signer
	var err error
	switch alg {
	case EdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	case ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case RS256:
		priv, err = rsa.GenerateKey(rand.Reader, MinRSABits)
	default:
		return nil, fmt.Errorf("signer: generate: unsupported algorithm %q", alg)
	}
	if err != nil {
		return nil, fmt.Errorf("signer: generate %s key: %w", alg, err)
	}
	kid, err := Thumbprint(priv.Public())
	if err != nil {
		return nil, err
	}
	nbf := now.Add(JWKSCacheTTL)
	until := nbf.Add(SignPeriod)
	return &Key{
		ID:        kid,
		Alg:       alg,
		Private:   priv,
		NotBefore: nbf,
		SignUntil: until,
		RetireAt:  until.Add(MaxTokenTTL + DefaultLeeway),
	}, nil
}

// Thumbprint returns the RFC 7638 SHA-256 thumbprint (unpadded base64url) of
// a public key.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	jwk := jose.JSONWebKey{Key: pub}
	sum, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("signer: thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(sum), nil
}

// ValidateImported reports an error unless k is a strong key of a supported
// algorithm whose private key matches Alg, with a sane kid and schedule
// (JWT-16): HS*, RSA below 2048 bits, RSA e ≠ 65537, non-P-256 ES256 keys and
// malformed Ed25519 keys are rejected.
func ValidateImported(k *Key) error {
	if k == nil || k.Private == nil {
		return errors.New("signer: key: missing private key")
	}
	if k.ID == "" || len(k.ID) > 128 {
		return errors.New("signer: key: kid must be 1 to 128 characters")
	}
	switch k.Alg {
	case EdDSA:
		p, ok := k.Private.(ed25519.PrivateKey)
		if !ok || len(p) != ed25519.PrivateKeySize {
			return errors.New("signer: key: EdDSA needs an Ed25519 private key")
		}
	case ES256:
		p, ok := k.Private.(*ecdsa.PrivateKey)
		if !ok || p.Curve != elliptic.P256() {
			return errors.New("signer: key: ES256 needs a P-256 private key")
		}
	case RS256:
		p, ok := k.Private.(*rsa.PrivateKey)
		if !ok {
			return errors.New("signer: key: RS256 needs an RSA private key")
		}
		if p.N == nil || p.N.BitLen() < MinRSABits {
			return fmt.Errorf("signer: key: RSA modulus below %d bits", MinRSABits)
		}
		if p.E != 65537 {
			return errors.New("signer: key: RSA public exponent must be 65537")
		}
		if err := p.Validate(); err != nil {
			return fmt.Errorf("signer: key: invalid RSA key: %w", err)
		}
	default:
		return fmt.Errorf("signer: key: unsupported algorithm %q (only EdDSA, ES256, RS256)", k.Alg)
	}
	if !k.NotBefore.Before(k.SignUntil) || k.RetireAt.Before(k.SignUntil) {
		return errors.New("signer: key: need NotBefore < SignUntil <= RetireAt")
	}
	return nil
}

// publicJWK returns the public JWK of k, with kid, alg and use set.
func (k *Key) publicJWK() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.Private.Public(), KeyID: k.ID, Algorithm: k.Alg, Use: "sig"}
}
