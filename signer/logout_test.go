package signer

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestVerifyIDTokenHint: an ID token of the ring with our iss is a hint,
// expired too (RP-Initiated Logout §2); another issuer, another key, a
// tampered payload, an access token and a logout token are not (JWT-14).
func TestVerifyIDTokenHint(t *testing.T) {
	ring := mustRing(t, testKey(t, EdDSA, t0))
	idt, err := IssueIDToken(ring, IDClaims{Issuer: testIssuer, Subject: "alice", Audience: "shop", SessionID: "ses_1",
		Expiry: t0.Add(5 * time.Minute)}, t0)
	if err != nil {
		t.Fatal(err)
	}
	c, err := VerifyIDTokenHint(ring, testIssuer, idt, t0.Add(2*time.Hour)) // long expired
	if err != nil || c.Subject != "alice" || len(c.Audience) != 1 || c.Audience[0] != "shop" || c.SessionID != "ses_1" {
		t.Fatalf("hint: %+v %v", c, err)
	}
	at, err := Issue(ring, AccessClaims{Issuer: testIssuer, Subject: "user:alice", Audience: []string{"shop"}, ID: "j",
		Expiry: t0.Add(5 * time.Minute)}, t0)
	if err != nil {
		t.Fatal(err)
	}
	lt, err := IssueLogoutToken(ring, LogoutClaims{Issuer: testIssuer, Audience: "shop", Subject: "alice", ID: "j"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(idt, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	forged := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), "ses_1", "ses_2", 1))) + "." + parts[2]
	other := mustRing(t, freshKey(t, EdDSA, t0))
	for name, tc := range map[string]struct {
		ring   *Ring
		issuer string
		tok    string
	}{
		"another issuer":   {ring, "https://other.example", idt},
		"another key":      {other, testIssuer, idt},
		"tampered payload": {ring, testIssuer, forged},
		"access token":     {ring, testIssuer, at},
		"logout token":     {ring, testIssuer, lt},
		"garbage":          {ring, testIssuer, "a.b.c"},
		"too long":         {ring, testIssuer, strings.Repeat("a", DefaultMaxTokenLen+1)},
	} {
		if _, err := VerifyIDTokenHint(tc.ring, tc.issuer, tc.tok, t0); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestIssueLogoutToken: typ logout+jwt, the claims of Back-Channel Logout
// §2.4, sid only when given, never a nonce; no access-token verifier
// takes it (JWT-14).
func TestIssueLogoutToken(t *testing.T) {
	ring := mustRing(t, testKey(t, ES256, t0))
	for _, sid := range []string{"ses_1", ""} {
		tok, err := IssueLogoutToken(ring, LogoutClaims{Issuer: testIssuer, Audience: "shop", Subject: "alice", SessionID: sid, ID: "jti-1"}, t0)
		if err != nil {
			t.Fatal(err)
		}
		parts := strings.Split(tok, ".")
		h, _ := base64.RawURLEncoding.DecodeString(parts[0])
		p, _ := base64.RawURLEncoding.DecodeString(parts[1])
		var hdr map[string]any
		var c map[string]any
		if json.Unmarshal(h, &hdr) != nil || json.Unmarshal(p, &c) != nil {
			t.Fatal("undecodable")
		}
		_, hasSid := c["sid"]
		ev, _ := c["events"].(map[string]any)
		if hdr["typ"] != LogoutTokenType || c["iss"] != testIssuer || c["aud"] != "shop" || c["sub"] != "alice" || c["jti"] != "jti-1" ||
			c["exp"].(float64)-c["iat"].(float64) != 120 || hasSid != (sid != "") || ev[BackchannelLogoutEvent] == nil || c["nonce"] != nil {
			t.Errorf("sid %q: header %v claims %v", sid, hdr, c)
		}
		v := &Verifier{Keys: ring, Issuer: testIssuer, Audience: "shop", Now: func() time.Time { return t0 }}
		if _, err := v.Verify(tok); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("JWT-14: the access-token verifier took a logout token: %v", err)
		}
	}
	if _, err := IssueLogoutToken(ring, LogoutClaims{Issuer: testIssuer, Audience: "shop", ID: "j"}, t0); err == nil {
		t.Error("a logout token without sub was issued")
	}
}
