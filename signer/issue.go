package signer

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// TokenType is the typ header of every access token (RFC 9068 §2.1).
const TokenType = "at+jwt"

// Issue signs claims with the ring's signing key at now and returns a compact
// JWS whose header holds only alg, kid and typ "at+jwt". It sets iat to now
// and, when claims.ID is empty, a 128-bit random jti. It refuses claims
// without iss, sub or aud, an exp not in (now, now+MaxTokenTTL], and an exp
// that outlives the key's publication (RetireAt).
func Issue(ring *Ring, claims AccessClaims, now time.Time) (string, error) {
	key, err := ring.Signing(now)
	if err != nil {
		return "", err
	}
	if claims.Issuer == "" || claims.Subject == "" {
		return "", errors.New("signer: issue: iss and sub are required")
	}
	if len(claims.Audience) == 0 {
		return "", errors.New("signer: issue: aud is required")
	}
	for _, a := range claims.Audience {
		if a == "" {
			return "", errors.New("signer: issue: empty audience")
		}
	}
	for _, s := range claims.Scope {
		if s == "" || strings.ContainsAny(s, " \t\r\n") {
			return "", fmt.Errorf("signer: issue: invalid scope %q", s)
		}
	}
	if !claims.Expiry.After(now) || claims.Expiry.After(now.Add(MaxTokenTTL)) {
		return "", fmt.Errorf("signer: issue: exp must be within (now, now+%s]", MaxTokenTTL)
	}
	if claims.Expiry.Add(DefaultLeeway).After(key.RetireAt) {
		return "", errors.New("signer: issue: token would outlive its key in the JWKS")
	}
	claims.IssuedAt = now
	if claims.ID == "" {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", fmt.Errorf("signer: issue: jti: %w", err)
		}
		claims.ID = base64.RawURLEncoding.EncodeToString(b[:])
	}
	payload := appendClaims(make([]byte, 0, 384), &claims)
	s, err := key.joseSigner()
	if err != nil {
		return "", fmt.Errorf("signer: issue: %w", err)
	}
	jws, err := s.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("signer: issue: sign: %w", err)
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		return "", fmt.Errorf("signer: issue: %w", err)
	}
	return tok, nil
}

// joseSigner returns the go-jose signer of k (alg, kid, typ "at+jwt"),
// made once per key and kept in signers: building one per token cost more
// than the claims. A jose.Signer only reads its configuration when signing,
// so one serves concurrent calls. An entry is used only for the very key
// (same *Key, same ID, alg and private key) it was made for.
func (k *Key) joseSigner() (jose.Signer, error) {
	if v, ok := signers.Load(k); ok {
		if c := v.(*cachedSigner); c.id == k.ID && c.alg == k.Alg && samePrivate(c.priv, k.Private) {
			return c.s, nil
		}
	}
	s, err := jose.NewSigner(
		jose.SigningKey{
			Algorithm: jose.SignatureAlgorithm(k.Alg),
			Key:       jose.JSONWebKey{Key: k.Private, KeyID: k.ID, Algorithm: k.Alg},
		},
		(&jose.SignerOptions{}).WithType(TokenType),
	)
	if err != nil {
		return nil, err
	}
	signersMu.Lock()
	if signersLen >= maxCachedSigners { // keys rotate rarely: start over
		signers.Clear()
		signersLen = 0
	}
	signers.Store(k, &cachedSigner{id: k.ID, alg: k.Alg, priv: k.Private, s: s})
	signersLen++
	signersMu.Unlock()
	return s, nil
}

const maxCachedSigners = 64

var (
	signers    sync.Map // *Key → *cachedSigner
	signersMu  sync.Mutex
	signersLen int
)

type cachedSigner struct {
	id, alg string
	priv    crypto.Signer
	s       jose.Signer
}

// samePrivate reports whether a and b are the same private key object.
func samePrivate(a, b crypto.Signer) bool {
	switch a := a.(type) {
	case ed25519.PrivateKey:
		b, ok := b.(ed25519.PrivateKey)
		return ok && len(a) == len(b) && len(a) > 0 && &a[0] == &b[0]
	case *ecdsa.PrivateKey:
		b, ok := b.(*ecdsa.PrivateKey)
		return ok && a == b
	case *rsa.PrivateKey:
		b, ok := b.(*rsa.PrivateKey)
		return ok && a == b
	}
	return false
}
