package signer

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestIssueHeaderAndClaims(t *testing.T) {
	for _, alg := range []string{EdDSA, ES256, RS256} {
		t.Run(alg, func(t *testing.T) {
			k := testKey(t, alg, t0)
			r := mustRing(t, k)
			c := validClaims(t0)
			c.NotBefore = t0
			tok := mustIssue(t, r, c, t0)
			hdr, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
			var h map[string]any
			if err := json.Unmarshal(hdr, &h); err != nil {
				t.Fatal(err)
			}
			if len(h) != 3 || h["alg"] != alg || h["kid"] != k.ID || h["typ"] != TokenType {
				t.Fatalf("header = %s, want exactly alg, kid, typ", hdr)
			}
			got := wantAccept(t, testVerifier(r, t0), tok)
			if got.Subject != c.Subject || strings.Join(got.Scope, " ") != "read write" || got.ClientID != "cli" ||
				got.KeyID != "key-1" || !got.IssuedAt.Equal(t0) || !got.NotBefore.Equal(t0) || !got.Expiry.Equal(c.Expiry) ||
				len(got.Audience) != 1 || got.Audience[0] != testAudience {
				t.Fatalf("claims = %+v", got)
			}
			other := wantAccept(t, testVerifier(r, t0), mustIssue(t, r, c, t0))
			if other.ID == got.ID {
				t.Fatal("two tokens share a jti")
			}
		})
	}
}

func TestIssueRejectsBadClaims(t *testing.T) {
	r := mustRing(t, testKey(t, EdDSA, t0))
	cases := map[string]func(*AccessClaims){
		"no iss":             func(c *AccessClaims) { c.Issuer = "" },
		"no sub":             func(c *AccessClaims) { c.Subject = "" },
		"no aud":             func(c *AccessClaims) { c.Audience = nil },
		"empty aud":          func(c *AccessClaims) { c.Audience = []string{""} },
		"exp now":            func(c *AccessClaims) { c.Expiry = t0 },
		"exp over 1h cap":    func(c *AccessClaims) { c.Expiry = t0.Add(MaxTokenTTL + time.Second) },
		"scope with a space": func(c *AccessClaims) { c.Scope = []string{"a b"} },
		"empty scope":        func(c *AccessClaims) { c.Scope = []string{""} },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			c := validClaims(t0)
			mutate(&c)
			if _, err := Issue(r, c, t0); err == nil {
				t.Fatal("Issue accepted invalid claims")
			}
		})
	}
	t.Run("exp past the key's RetireAt", func(t *testing.T) {
		k := testKey(t, EdDSA, t0)
		k.RetireAt = k.SignUntil
		r := mustRing(t, k)
		at := k.SignUntil.Add(-time.Minute)
		c := validClaims(at)
		if _, err := Issue(r, c, at); err == nil {
			t.Fatal("Issue signed a token that outlives its key in the JWKS")
		}
	})
}
