package signer

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
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

// TestIssueMatchesGoJose checks the hand-made JWS against go-jose for each
// algorithm: the same protected header bytes, the same payload, a
// signature go-jose verifies, and for EdDSA (deterministic) the very token.
func TestIssueMatchesGoJose(t *testing.T) {
	for _, alg := range []string{EdDSA, ES256, RS256} {
		t.Run(alg, func(t *testing.T) {
			k := testKey(t, alg, t0)
			r := mustRing(t, k)
			c := validClaims(t0)
			c.ID = "fixed-jti"
			tok := mustIssue(t, r, c, t0)
			parts := strings.Split(tok, ".")
			if len(parts) != 3 {
				t.Fatalf("token %q is not a compact JWS", tok)
			}
			js, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg),
				Key: jose.JSONWebKey{Key: k.Private, KeyID: k.ID, Algorithm: alg}},
				(&jose.SignerOptions{}).WithType(TokenType))
			if err != nil {
				t.Fatal(err)
			}
			payload, err := base64.RawURLEncoding.DecodeString(parts[1])
			if err != nil {
				t.Fatal(err)
			}
			obj, err := js.Sign(payload)
			if err != nil {
				t.Fatal(err)
			}
			want, err := obj.CompactSerialize()
			if err != nil {
				t.Fatal(err)
			}
			wparts := strings.Split(want, ".")
			if parts[0] != wparts[0] || parts[1] != wparts[1] {
				t.Fatalf("header.payload differs from go-jose's:\n got %s.%s\nwant %s.%s", parts[0], parts[1], wparts[0], wparts[1])
			}
			if alg == EdDSA && tok != want {
				t.Fatalf("EdDSA token differs from go-jose's:\n got %s\nwant %s", tok, want)
			}
			if len(parts[2]) != len(wparts[2]) {
				t.Fatalf("signature length %d, go-jose's %d", len(parts[2]), len(wparts[2]))
			}
			parsed, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
			if err != nil {
				t.Fatal(err)
			}
			got, err := parsed.Verify(k.Private.Public())
			if err != nil {
				t.Fatalf("go-jose does not verify the token: %v", err)
			}
			if string(got) != string(payload) {
				t.Fatal("go-jose verified another payload")
			}
			// A flipped signature bit must not verify.
			sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
			sig[len(sig)/2] ^= 1
			bad := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)
			if p, err := jose.ParseSignedCompact(bad, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)}); err == nil {
				if _, err := p.Verify(k.Private.Public()); err == nil {
					t.Fatal("go-jose verified a tampered signature")
				}
			}
		})
	}
}

// TestIssueRefusesMismatchedKey: a key whose private key does not fit its
// algorithm signs nothing.
func TestIssueRefusesMismatchedKey(t *testing.T) {
	k := testKey(t, EdDSA, t0)
	bad := *k
	bad.Alg = ES256
	if _, err := signCompact(&bad, "e30", []byte("{}")); err == nil {
		t.Fatal("an Ed25519 key signed as ES256")
	}
}
