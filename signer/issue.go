package signer

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
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
	payload, err := json.Marshal(claims.wire())
	if err != nil {
		return "", fmt.Errorf("signer: issue: %w", err)
	}
	s, err := jose.NewSigner(
		jose.SigningKey{
			Algorithm: jose.SignatureAlgorithm(key.Alg),
			Key:       jose.JSONWebKey{Key: key.Private, KeyID: key.ID, Algorithm: key.Alg},
		},
		(&jose.SignerOptions{}).WithType(TokenType),
	)
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
