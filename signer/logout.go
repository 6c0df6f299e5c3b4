package signer

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// LogoutTokenType is the typ header of back-channel logout tokens (OpenID
// Connect Back-Channel Logout 1.0 §2.4): no access-token verifier, which
// demands "at+jwt", and no ID-token check, which demands "JWT", ever
// accepts one (JWT-14).
const LogoutTokenType = "logout+jwt"

// BackchannelLogoutEvent is the member of a logout token's events claim.
const BackchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// LogoutTokenTTL is how long a logout token is valid.
const LogoutTokenTTL = 2 * time.Minute

// LogoutClaims are the claims of a back-channel logout token (Back-Channel
// Logout §2.4). It never has a nonce.
type LogoutClaims struct {
	Issuer   string
	Audience string // the client ID
	Subject  string // the user ID
	// SessionID is sid; empty when every session of the user ended.
	SessionID string
	// ID is jti, unique per token.
	ID string
}

// IssueLogoutToken signs a logout token with the ring's signing key at now
// (typ "logout+jwt", exp now+LogoutTokenTTL, the back-channel logout
// event).
func IssueLogoutToken(ring *Ring, c LogoutClaims, now time.Time) (string, error) {
	key, err := ring.Signing(now)
	if err != nil {
		return "", err
	}
	if c.Issuer == "" || c.Audience == "" || c.Subject == "" || c.ID == "" {
		return "", errors.New("signer: logout token: iss, aud, sub and jti are required")
	}
	m := map[string]any{"iss": c.Issuer, "aud": c.Audience, "sub": c.Subject, "jti": c.ID,
		"iat": now.Unix(), "exp": now.Add(LogoutTokenTTL).Unix(),
		"events": map[string]any{BackchannelLogoutEvent: map[string]any{}}}
	if c.SessionID != "" {
		m["sid"] = c.SessionID
	}
	payload, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	h, err := key.headerTyped(LogoutTokenType)
	if err != nil {
		return "", fmt.Errorf("signer: logout token: %w", err)
	}
	return signCompact(key, h, payload)
}

// HintClaims are what an id_token_hint tells: who it was issued to, for
// which client(s), in which session.
type HintClaims struct {
	Subject   string
	Audience  []string
	SessionID string
	Expiry    time.Time
}

// VerifyIDTokenHint checks an ID token this server issued, presented back
// as id_token_hint (OpenID Connect RP-Initiated Logout 1.0 §2): typ "JWT",
// signed by a key of ring published at now (the algorithm the key's own),
// iss equal to issuer, a sub and an aud. Its expiry is not checked: the
// specification accepts an expired hint. Every failure is a *TokenError
// matching ErrInvalidToken.
func VerifyIDTokenHint(ring *Ring, issuer, tok string, now time.Time) (*HintClaims, error) {
	if len(tok) > DefaultMaxTokenLen {
		return nil, errTooLong
	}
	if ring == nil || issuer == "" {
		return nil, errMisconfigured
	}
	h, rest, ok1 := strings.Cut(tok, ".")
	p, s, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || !b64url(h) || !b64url(p) || !b64url(s) {
		return nil, errMalformed
	}
	rawHeader, err := base64.RawURLEncoding.Strict().DecodeString(h)
	if err != nil {
		return nil, errMalformed
	}
	alg, kid, typ, terr := parseHeader(rawHeader)
	if terr != nil {
		return nil, terr
	}
	if typ != IDTokenType {
		return nil, errType
	}
	key, ok := ring.published(kid, now)
	if !ok {
		return nil, errUnknownKey
	}
	if key.Alg != alg {
		return nil, errAlg
	}
	jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(key.Alg)})
	if err != nil || len(jws.Signatures) != 1 {
		return nil, errMalformed
	}
	payload, err := jws.Verify(key.Private.Public())
	if err != nil {
		return nil, errSignature
	}
	if !strictObject(payload) {
		return nil, errPayload
	}
	var w struct {
		Iss *string         `json:"iss"`
		Sub *string         `json:"sub"`
		Aud json.RawMessage `json:"aud"`
		Sid *string         `json:"sid"`
		Exp *float64        `json:"exp"`
	}
	if json.Unmarshal(payload, &w) != nil {
		return nil, errPayload
	}
	if w.Iss == nil || *w.Iss != issuer {
		return nil, errIssuer
	}
	aud, ok := audience(w.Aud)
	if !ok || len(aud) == 0 {
		return nil, errAudience
	}
	if deref(w.Sub) == "" {
		return nil, errMissingClaim
	}
	c := &HintClaims{Subject: *w.Sub, Audience: aud, SessionID: deref(w.Sid)}
	if w.Exp != nil {
		c.Expiry, _ = numericDate(*w.Exp)
	}
	return c, nil
}
