package signer

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// IDTokenType is the typ header of ID tokens: plain "JWT", so that no
// access-token verifier (which demands "at+jwt", RFC 9068 §4) ever accepts
// one (JWT-14).
const IDTokenType = "JWT"

// IDClaims are the claims of an OpenID Connect ID token (OIDC Core §2).
type IDClaims struct {
	Issuer   string    `json:"iss"`
	Subject  string    `json:"sub"`
	Audience string    `json:"aud"` // the client ID
	Expiry   time.Time `json:"-"`
	IssuedAt time.Time `json:"-"`
	AuthTime time.Time `json:"-"`
	Nonce    string    `json:"nonce,omitempty"`
	ACR      string    `json:"acr,omitempty"`
	AMR      []string  `json:"amr,omitempty"`
	// SessionID is sid: the sign-in session (OIDC Front/Back-Channel
	// Logout).
	SessionID string `json:"sid,omitempty"`
	// AuthorizedParty is azp, the client ID.
	AuthorizedParty string `json:"azp,omitempty"`
	// AccessTokenHash is at_hash; CodeHash c_hash (OIDC Core §3.3.2.11).
	AccessTokenHash string `json:"at_hash,omitempty"`
	CodeHash        string `json:"c_hash,omitempty"`
	// Extra holds further claims (profile, email) by name.
	Extra map[string]any `json:"-"`
}

// IssueIDToken signs an ID token with the ring's signing key at now
// (typ "JWT"). exp must be within (now, now+MaxTokenTTL].
func IssueIDToken(ring *Ring, c IDClaims, now time.Time) (string, error) {
	key, err := ring.Signing(now)
	if err != nil {
		return "", err
	}
	if c.Issuer == "" || c.Subject == "" || c.Audience == "" {
		return "", errors.New("signer: id token: iss, sub and aud are required")
	}
	if !c.Expiry.After(now) || c.Expiry.After(now.Add(MaxTokenTTL)) || c.Expiry.Add(DefaultLeeway).After(key.RetireAt) {
		return "", fmt.Errorf("signer: id token: exp must be within (now, now+%s] and the key's publication", MaxTokenTTL)
	}
	m := map[string]any{}
	for k, v := range c.Extra {
		m[k] = v
	}
	b, _ := json.Marshal(c)
	var base map[string]any
	if err := json.Unmarshal(b, &base); err != nil {
		return "", err
	}
	for k, v := range base {
		m[k] = v
	}
	m["iat"] = now.Unix()
	m["exp"] = c.Expiry.Unix()
	if !c.AuthTime.IsZero() {
		m["auth_time"] = c.AuthTime.Unix()
	}
	payload, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	h, err := key.headerTyped(IDTokenType)
	if err != nil {
		return "", fmt.Errorf("signer: id token: %w", err)
	}
	return signCompact(key, h, payload)
}

// HalfHash is at_hash / c_hash of value v for signing algorithm alg: the
// left half of its hash (SHA-256 for ES256 and RS256, SHA-512 for EdDSA
// with Ed25519, as OpenID Connect's EdDSA profile uses), base64url.
func HalfHash(alg, v string) string {
	var sum []byte
	if alg == EdDSA {
		s := sha512.Sum512([]byte(v))
		sum = s[:]
	} else {
		s := sha256.Sum256([]byte(v))
		sum = s[:]
	}
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

// SigningAlg returns the algorithm of the ring's signing key at now ("" if
// none).
func SigningAlg(ring *Ring, now time.Time) string {
	k, err := ring.Signing(now)
	if err != nil {
		return ""
	}
	return k.Alg
}

// headerTyped is the base64url protected header of k with typ (not
// cached: ID tokens are not the hot path).
func (k *Key) headerTyped(typ string) (string, error) {
	switch k.Alg {
	case EdDSA, ES256, RS256:
	default:
		return "", fmt.Errorf("unsupported algorithm %q", k.Alg)
	}
	j, err := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}{k.Alg, k.ID, typ})
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(j), nil
}
