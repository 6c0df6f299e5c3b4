package signer

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/latchkey/latchkey/internal/jsonenc"
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
	h, err := key.header()
	if err != nil {
		return "", fmt.Errorf("signer: issue: %w", err)
	}
	return signCompact(key, h, appendClaims(make([]byte, 0, 384), &claims))
}

// signCompact returns the compact JWS of payload under key k whose
// protected header, already base64url-encoded, is h: what go-jose's
// Sign + CompactSerialize produce, byte for byte, without its per-token
// header marshalling and copies. The signature is Ed25519 (RFC 8037), ES256
// as the fixed 64-byte R||S (RFC 7518 §3.4) or RS256 (PKCS #1 v1.5, SHA-256).
func signCompact(k *Key, h string, payload []byte) (string, error) {
	enc := base64.RawURLEncoding
	n := len(h) + 1 + enc.EncodedLen(len(payload))
	var sigLen int
	switch priv := k.Private.(type) {
	case ed25519.PrivateKey:
		sigLen = ed25519.SignatureSize
	case *ecdsa.PrivateKey:
		sigLen = 64
	case *rsa.PrivateKey:
		sigLen = priv.Size()
	default:
		return "", errors.New("signer: issue: unsupported private key")
	}
	buf := make([]byte, 0, n+1+enc.EncodedLen(sigLen))
	buf = append(buf, h...)
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, payload)
	input := buf[:n]
	var sig []byte
	switch priv := k.Private.(type) {
	case ed25519.PrivateKey:
		if k.Alg != EdDSA {
			return "", errors.New("signer: issue: key and algorithm differ")
		}
		sig = ed25519.Sign(priv, input)
	case *ecdsa.PrivateKey:
		if k.Alg != ES256 || priv.Curve != elliptic.P256() {
			return "", errors.New("signer: issue: key and algorithm differ")
		}
		d := sha256.Sum256(input)
		r, s, err := ecdsa.Sign(rand.Reader, priv, d[:])
		if err != nil {
			return "", fmt.Errorf("signer: issue: sign: %w", err)
		}
		sig = make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
	case *rsa.PrivateKey:
		if k.Alg != RS256 {
			return "", errors.New("signer: issue: key and algorithm differ")
		}
		d := sha256.Sum256(input)
		var err error
		if sig, err = rsa.SignPKCS1v15(nil, priv, crypto.SHA256, d[:]); err != nil {
			return "", fmt.Errorf("signer: issue: sign: %w", err)
		}
	}
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, sig)
	return string(buf), nil
}

// header returns the base64url-encoded protected header of k's tokens,
// {"alg":…,"kid":…,"typ":"at+jwt"} with the keys in go-jose's (sorted)
// order, made once per key and kept in headers. An entry is used only for
// the very key (same *Key, same ID, alg and private key) it was made for.
func (k *Key) header() (string, error) {
	if v, ok := headers.Load(k); ok {
		if c := v.(*cachedHeader); c.id == k.ID && c.alg == k.Alg && samePrivate(c.priv, k.Private) {
			return c.h, nil
		}
	}
	switch k.Alg {
	case EdDSA, ES256, RS256:
	default:
		return "", fmt.Errorf("unsupported algorithm %q", k.Alg)
	}
	j := jsonenc.AppendString([]byte(`{"alg":`), k.Alg)
	j = jsonenc.AppendString(append(j, `,"kid":`...), k.ID)
	j = append(j, `,"typ":"`+TokenType+`"}`...)
	h := base64.RawURLEncoding.EncodeToString(j)
	headersMu.Lock()
	if headersLen >= maxCachedHeaders { // keys rotate rarely: start over
		headers.Clear()
		headersLen = 0
	}
	headers.Store(k, &cachedHeader{id: k.ID, alg: k.Alg, priv: k.Private, h: h})
	headersLen++
	headersMu.Unlock()
	return h, nil
}

const maxCachedHeaders = 64

var (
	headers    sync.Map // *Key → *cachedHeader
	headersMu  sync.Mutex
	headersLen int
)

type cachedHeader struct {
	id, alg string
	priv    crypto.Signer
	h       string
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
