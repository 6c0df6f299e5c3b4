package signer

import (
	"crypto/ed25519"
	cryptorand "crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"
)

const (
	testIssuer   = "https://latchkey.example"
	testAudience = "payments"
)

// t0 is the fixed time every test starts from.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

var (
	keyCacheMu sync.Mutex
	keyCache   = map[string]*Key{}
)

// testKey returns a key of alg that signs from now−1h to now+1h and is
// retired at now+3h. RSA keys are generated once per test binary.
func testKey(t testing.TB, alg string, now time.Time) *Key {
	t.Helper()
	keyCacheMu.Lock()
	base, ok := keyCache[alg]
	if !ok {
		var err error
		base, err = Generate(alg, now)
		if err != nil {
			keyCacheMu.Unlock()
			t.Fatalf("Generate(%s): %v", alg, err)
		}
		keyCache[alg] = base
	}
	keyCacheMu.Unlock()
	k := *base
	k.NotBefore, k.SignUntil, k.RetireAt = now.Add(-time.Hour), now.Add(time.Hour), now.Add(3*time.Hour)
	return &k
}

func freshKey(t testing.TB, alg string, now time.Time) *Key {
	t.Helper()
	k, err := Generate(alg, now)
	if err != nil {
		t.Fatalf("Generate(%s): %v", alg, err)
	}
	return k
}

func mustRing(t testing.TB, keys ...*Key) *Ring {
	t.Helper()
	r, err := NewRing(keys...)
	if err != nil {
		t.Fatalf("NewRing: %v", err)
	}
	return r
}

func testVerifier(r *Ring, now time.Time) *Verifier {
	return &Verifier{Keys: r, Issuer: testIssuer, Audience: testAudience, Now: func() time.Time { return now }}
}

func validClaims(now time.Time) AccessClaims {
	return AccessClaims{
		Issuer:   testIssuer,
		Subject:  "principal-1",
		Audience: []string{testAudience},
		Expiry:   now.Add(5 * time.Minute),
		Scope:    []string{"read", "write"},
		ClientID: "cli",
		KeyID:    "key-1",
	}
}

func mustIssue(t testing.TB, r *Ring, c AccessClaims, now time.Time) string {
	t.Helper()
	tok, err := Issue(r, c, now)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	return tok
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// rawEdToken builds a compact JWS from literal header and payload JSON,
// signed with the Ed25519 key k, so that tests can produce tokens Issue
// would never produce.
func rawEdToken(t testing.TB, k *Key, header, payload string) string {
	t.Helper()
	priv, ok := k.Private.(ed25519.PrivateKey)
	if !ok {
		t.Fatalf("rawEdToken needs an Ed25519 key")
	}
	in := b64(header) + "." + b64(payload)
	return in + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, []byte(in)))
}

func edHeader(k *Key) string {
	return `{"alg":"EdDSA","kid":"` + k.ID + `","typ":"at+jwt"}`
}

// payloadJSON is the JSON of the valid claims at now, with overrides (nil
// value deletes the member).
func payloadJSON(t testing.TB, now time.Time, override map[string]any) string {
	t.Helper()
	m := map[string]any{
		"iss": testIssuer, "sub": "principal-1", "aud": testAudience,
		"exp": now.Add(5 * time.Minute).Unix(), "iat": now.Unix(), "jti": "jti-1",
		"scope": "read", "client_id": "cli",
	}
	for k, v := range override {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// wantReject asserts that Verify rejects tok with a *TokenError.
func wantReject(t *testing.T, v *Verifier, tok string) *TokenError {
	t.Helper()
	c, err := v.Verify(tok)
	if err == nil {
		t.Fatalf("Verify accepted a token it must reject: %+v", c)
	}
	if c != nil {
		t.Fatalf("Verify returned claims with an error")
	}
	var te *TokenError
	if !errors.As(err, &te) || !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("error %v (%T) is not a *TokenError", err, err)
	}
	return te
}

func wantAccept(t *testing.T, v *Verifier, tok string) *AccessClaims {
	t.Helper()
	c, err := v.Verify(tok)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return c
}

// randReader is crypto/rand for key generation in tests.
type randReader struct{}

func (randReader) Read(p []byte) (int, error) { return cryptorand.Read(p) }
