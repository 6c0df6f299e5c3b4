package signer

import (
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

func TestSEC_JWT09_OversizedToken(t *testing.T) {
	k := testKey(t, EdDSA, t0)
	v := testVerifier(mustRing(t, k), t0)
	inputs := map[string]string{
		"1 MiB of dots":             strings.Repeat(".", 1<<20),
		"1 MiB of base64":           strings.Repeat("A", 1<<20),
		"1 MiB of base64 with dots": strings.Repeat("AAAA.", 1<<18),
		"8 KiB + 1":                 strings.Repeat("A", DefaultMaxTokenLen+1),
	}
	for name, in := range inputs {
		t.Run("401/"+name, func(t *testing.T) {
			if te := wantReject(t, v, in); te != errTooLong {
				t.Fatalf("reason = %q, want %q", te.Reason, errTooLong.Reason)
			}
			allocs := testing.AllocsPerRun(100, func() { _, _ = v.Verify(in) })
			if allocs != 0 {
				t.Errorf("AllocsPerRun = %v, want 0", allocs)
			}
		})
	}
	t.Run("401/custom MaxTokenLen", func(t *testing.T) {
		tok := mustIssue(t, mustRing(t, k), validClaims(t0), t0)
		v := *v
		v.MaxTokenLen = len(tok) - 1
		wantReject(t, &v, tok)
		v.MaxTokenLen = len(tok)
		wantAccept(t, &v, tok)
	})
}

func TestSEC_JWT10_JWEAndCompression(t *testing.T) {
	k := testKey(t, EdDSA, t0)
	v := testVerifier(mustRing(t, k), t0)
	payload := payloadJSON(t, t0, nil)
	base := `"alg":"EdDSA","kid":"` + k.ID + `","typ":"at+jwt"`
	for _, extra := range []string{`"zip":"DEF"`, `"p2c":1000000000`, `"p2s":"AAAA"`, `"enc":"A256GCM"`, `"crit":["exp"]`, `"epk":{}`, `"b64":false`} {
		t.Run("401/header "+extra, func(t *testing.T) {
			if te := wantReject(t, v, rawEdToken(t, k, "{"+base+","+extra+"}", payload)); te != errHeaderParam {
				t.Errorf("reason = %q, want %q", te.Reason, errHeaderParam.Reason)
			}
		})
	}
	for _, p := range forbiddenHeader {
		t.Run("401/forbidden list "+p, func(t *testing.T) {
			wantReject(t, v, rawEdToken(t, k, "{"+base+`,"`+p+`":"x"}`, payload))
		})
	}
	t.Run("401/JWE compact (5 segments)", func(t *testing.T) {
		enc, err := jose.NewEncrypter(jose.A256GCM, jose.Recipient{Algorithm: jose.DIRECT, Key: make([]byte, 32)},
			(&jose.EncrypterOptions{Compression: jose.DEFLATE}).WithType(TokenType))
		if err != nil {
			t.Fatal(err)
		}
		obj, err := enc.Encrypt([]byte(payload))
		if err != nil {
			t.Fatal(err)
		}
		tok, _ := obj.CompactSerialize()
		wantReject(t, v, tok)
	})
}

func TestSEC_JWT11_TimeClaims(t *testing.T) {
	k := testKey(t, EdDSA, t0)
	v := testVerifier(mustRing(t, k), t0)
	lw := DefaultLeeway
	s := time.Second
	cases := []struct {
		name   string
		claims map[string]any
		ok     bool
	}{
		{"401/exp = now-(leeway+1s)", map[string]any{"exp": t0.Add(-lw - s).Unix(), "iat": t0.Add(-time.Minute).Unix()}, false},
		{"401/exp = now-leeway", map[string]any{"exp": t0.Add(-lw).Unix(), "iat": t0.Add(-time.Minute).Unix()}, false},
		{"200/exp = now-(leeway-1s)", map[string]any{"exp": t0.Add(-lw + s).Unix(), "iat": t0.Add(-time.Minute).Unix()}, true},
		{"401/exp missing", map[string]any{"exp": nil}, false},
		{"401/exp null", map[string]any{"exp": json.RawMessage("null")}, false},
		{"401/exp negative", map[string]any{"exp": -1}, false},
		{"401/exp absurd", map[string]any{"exp": 1e300}, false},
		{"401/nbf = now+leeway+1s", map[string]any{"nbf": t0.Add(lw + s).Unix()}, false},
		{"200/nbf = now+leeway-1s", map[string]any{"nbf": t0.Add(lw - s).Unix()}, true},
		{"200/nbf = now+leeway", map[string]any{"nbf": t0.Add(lw).Unix()}, true},
		{"401/iat = now+leeway+1s", map[string]any{"iat": t0.Add(lw + s).Unix()}, false},
		{"200/iat = now+leeway-1s", map[string]any{"iat": t0.Add(lw - s).Unix()}, true},
		{"401/iat far in the future", map[string]any{"iat": t0.Add(24 * 365 * time.Hour).Unix()}, false},
		{"401/iat missing", map[string]any{"iat": nil}, false},
		{"200/fractional exp", map[string]any{"exp": float64(t0.Unix()) + 0.5}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok := rawEdToken(t, k, edHeader(k), payloadJSON(t, t0, tc.claims))
			if tc.ok {
				wantAccept(t, v, tok)
			} else {
				wantReject(t, v, tok)
			}
		})
	}
	t.Run("leeway is configurable and capped at 60s", func(t *testing.T) {
		tok := rawEdToken(t, k, edHeader(k), payloadJSON(t, t0, map[string]any{"exp": t0.Add(-45 * s).Unix(), "iat": t0.Add(-time.Minute).Unix()}))
		v := *v
		v.Leeway = 10 * s
		wantReject(t, &v, tok)
		v.Leeway = 50 * s
		wantAccept(t, &v, tok)
		v.Leeway = time.Hour // capped to 60 s
		old := rawEdToken(t, k, edHeader(k), payloadJSON(t, t0, map[string]any{"exp": t0.Add(-61 * s).Unix(), "iat": t0.Add(-time.Hour).Unix()}))
		wantReject(t, &v, old)
	})
	t.Run("issued token follows the injected clock", func(t *testing.T) {
		r := mustRing(t, k)
		tok := mustIssue(t, r, validClaims(t0), t0) // exp = t0+5m
		for _, tc := range []struct {
			at time.Time
			ok bool
		}{
			{t0.Add(5*time.Minute + lw - s), true},
			{t0.Add(5*time.Minute + lw), false},
			{t0.Add(5*time.Minute + lw + s), false},
			{t0.Add(-lw - s), false}, // iat in the future
		} {
			v := testVerifier(r, tc.at)
			if _, err := v.Verify(tok); (err == nil) != tc.ok {
				t.Errorf("at %v: err = %v, want ok=%v", tc.at.Sub(t0), err, tc.ok)
			}
		}
	})
}

func TestSEC_JWT12_IssuerAudience(t *testing.T) {
	k := testKey(t, EdDSA, t0)
	v := testVerifier(mustRing(t, k), t0)
	cases := []struct {
		name   string
		claims map[string]any
		ok     bool
	}{
		{"401/iss trailing slash", map[string]any{"iss": testIssuer + "/"}, false},
		{"401/iss case change", map[string]any{"iss": strings.ToUpper(testIssuer)}, false},
		{"401/iss other", map[string]any{"iss": "https://evil.example"}, false},
		{"401/iss missing", map[string]any{"iss": nil}, false},
		{"401/iss empty", map[string]any{"iss": ""}, false},
		{"401/aud missing", map[string]any{"aud": nil}, false},
		{"401/aud wrong", map[string]any{"aud": "other"}, false},
		{"401/aud empty string", map[string]any{"aud": ""}, false},
		{"401/aud []", map[string]any{"aud": []string{}}, false},
		{"401/aud [\"\"]", map[string]any{"aud": []string{""}}, false},
		{"401/aud array without us", map[string]any{"aud": []string{"other", "third"}}, false},
		{"401/aud case change", map[string]any{"aud": strings.ToUpper(testAudience)}, false},
		{"200/aud string", map[string]any{"aud": testAudience}, true},
		{"200/aud array containing us", map[string]any{"aud": []string{"other", testAudience}}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok := rawEdToken(t, k, edHeader(k), payloadJSON(t, t0, tc.claims))
			if tc.ok {
				wantAccept(t, v, tok)
			} else {
				wantReject(t, v, tok)
			}
		})
	}
	t.Run("401/verifier without Audience or Issuer fails closed", func(t *testing.T) {
		tok := rawEdToken(t, k, edHeader(k), payloadJSON(t, t0, nil))
		for _, v := range []*Verifier{{Keys: v.Keys, Issuer: testIssuer}, {Keys: v.Keys, Audience: testAudience}, {Issuer: testIssuer, Audience: testAudience}} {
			wantReject(t, v, tok)
		}
	})
}

func TestSEC_JWT13_SignatureBeforeClaims(t *testing.T) {
	k := testKey(t, EdDSA, t0)
	r := mustRing(t, k)
	tok := mustIssue(t, r, validClaims(t0), t0)
	later := t0.Add(time.Hour) // expired by then
	v := testVerifier(r, later)
	if te := wantReject(t, v, tok); te != errExpired {
		t.Fatalf("control: reason = %q, want expired", te.Reason)
	}
	parts := strings.Split(tok, ".")
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sig[0] ^= 1
	bad := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)
	t.Run("401/expired and bad signature reports bad signature", func(t *testing.T) {
		te := wantReject(t, v, bad)
		if te != errSignature {
			t.Fatalf("reason = %q, want %q", te.Reason, errSignature.Reason)
		}
		if strings.Contains(te.Error(), "principal-1") || strings.Contains(te.Error(), testIssuer) {
			t.Fatalf("error leaks claims: %v", te)
		}
	})
	t.Run("401/wrong-audience payload with bad signature reports bad signature", func(t *testing.T) {
		other := rawEdToken(t, k, edHeader(k), payloadJSON(t, t0, map[string]any{"aud": "other", "exp": "garbage"}))
		p := strings.Split(other, ".")
		forged := parts[0] + "." + p[1] + "." + parts[2]
		if te := wantReject(t, testVerifier(r, t0), forged); te != errSignature {
			t.Fatalf("reason = %q, want %q", te.Reason, errSignature.Reason)
		}
	})
}

func TestSEC_JWT14_CrossJWTConfusion(t *testing.T) {
	k := testKey(t, EdDSA, t0)
	v := testVerifier(mustRing(t, k), t0)
	hdr := func(typ string) string {
		if typ == "" {
			return `{"alg":"EdDSA","kid":"` + k.ID + `"}`
		}
		return `{"alg":"EdDSA","kid":"` + k.ID + `","typ":"` + typ + `"}`
	}
	cases := []struct{ name, header, payload string }{
		{"401/ID token (typ JWT)", hdr("JWT"), payloadJSON(t, t0, map[string]any{"nonce": "n", "azp": "cli"})},
		{"401/ID token without typ", hdr(""), payloadJSON(t, t0, map[string]any{"nonce": "n"})},
		{"401/DPoP proof", hdr("dpop+jwt"), payloadJSON(t, t0, map[string]any{"htm": "POST", "htu": "https://x"})},
		{"401/client assertion", hdr("JWT"), payloadJSON(t, t0, map[string]any{"iss": "cli", "sub": "cli", "aud": testIssuer + "/token"})},
		{"401/logout token", hdr("logout+jwt"), payloadJSON(t, t0, map[string]any{"events": map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}}})},
		{"401/JWT-secured introspection response", hdr("token-introspection+jwt"), payloadJSON(t, t0, nil)},
		{"401/at+jwt missing sub", hdr("at+jwt"), payloadJSON(t, t0, map[string]any{"sub": nil})},
		{"401/at+jwt missing jti", hdr("at+jwt"), payloadJSON(t, t0, map[string]any{"jti": nil})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { wantReject(t, v, rawEdToken(t, k, tc.header, tc.payload)) })
	}
	t.Run("200/application/at+jwt", func(t *testing.T) {
		wantAccept(t, v, rawEdToken(t, k, hdr("application/at+jwt"), payloadJSON(t, t0, nil)))
	})
}

func TestSEC_JWT15_Rotation(t *testing.T) {
	// The old key signs [t0-1h, t0+1h) and is retired at t0+3h; the new key
	// is generated (and published) at t0, and signs from t0+JWKSCacheTTL.
	old := testKey(t, EdDSA, t0)
	r := mustRing(t, old)
	newer := freshKey(t, EdDSA, t0)
	if newer.NotBefore.Sub(t0) < JWKSCacheTTL {
		t.Fatalf("generated key signs %v after creation, want >= %v", newer.NotBefore.Sub(t0), JWKSCacheTTL)
	}
	if err := r.Add(newer); err != nil {
		t.Fatal(err)
	}

	t.Run("(a) new key in JWKS before it signs", func(t *testing.T) {
		if !jwksHas(t, r, t0, newer.ID) {
			t.Fatal("new key not published at creation")
		}
		if k, _ := r.Signing(t0); k.ID != old.ID {
			t.Fatalf("signing key at t0 = %s, want the old key", k.ID)
		}
		if k, _ := r.Signing(newer.NotBefore); k.ID != newer.ID {
			t.Fatalf("signing key at NotBefore = %s, want the new key", k.ID)
		}
		if k, _ := r.Signing(newer.NotBefore.Add(-time.Nanosecond)); k.ID != old.ID {
			t.Fatal("new key signs before its NotBefore")
		}
	})

	issued := newer.NotBefore.Add(-time.Minute)
	oldTok := mustIssue(t, r, validClaims(issued), issued)
	if k, _ := r.Signing(issued); k.ID != old.ID {
		t.Fatal("old key should sign before the new key's NotBefore")
	}
	t.Run("(b) old key's tokens verify after rotation until they expire", func(t *testing.T) {
		wantAccept(t, testVerifier(r, newer.NotBefore.Add(time.Minute)), oldTok)
		// The last token the old key may sign lives MaxTokenTTL; it verifies
		// until its exp (+ leeway) even though the new key signs by then.
		last := old.SignUntil.Add(-time.Second)
		tok := signOld(t, old, last, last.Add(MaxTokenTTL))
		if k, _ := r.Signing(last); k.ID != newer.ID {
			t.Fatalf("at %v the new key should sign", last)
		}
		wantAccept(t, testVerifier(r, last.Add(MaxTokenTTL+DefaultLeeway-time.Second)), tok)
		wantReject(t, testVerifier(r, last.Add(MaxTokenTTL+DefaultLeeway)), tok)
	})
	t.Run("(c) old key's tokens fail after RetireAt", func(t *testing.T) {
		at := old.RetireAt.Add(-5 * time.Minute)
		tok := signOld(t, old, at, at.Add(time.Hour))
		wantAccept(t, testVerifier(r, old.RetireAt.Add(-time.Second)), tok)
		if te := wantReject(t, testVerifier(r, old.RetireAt), tok); te != errUnknownKey {
			t.Fatalf("reason = %q, want unknown key", te.Reason)
		}
		if jwksHas(t, r, old.RetireAt, old.ID) {
			t.Fatal("retired key still in JWKS")
		}
		if !jwksHas(t, r, old.RetireAt.Add(-time.Second), old.ID) {
			t.Fatal("key dropped from JWKS before RetireAt")
		}
	})
	t.Run("(d) JWKS has no private members", func(t *testing.T) {
		r := mustRing(t, testKey(t, EdDSA, t0), testKey(t, ES256, t0), testKey(t, RS256, t0))
		assertPublicJWKS(t, r, t0)
	})
	t.Run("(e) duplicate kid rejected", func(t *testing.T) {
		dup := *old
		if err := r.Add(&dup); err == nil {
			t.Fatal("Add accepted a duplicate kid")
		}
		if _, err := NewRing(newer, newer); err == nil {
			t.Fatal("NewRing accepted a duplicate kid")
		}
	})
	t.Run("every key Signing returns is in the JWKS", func(t *testing.T) {
		for at := t0.Add(-2 * time.Hour); at.Before(t0.Add(30 * time.Hour)); at = at.Add(7 * time.Minute) {
			if k, err := r.Signing(at); err == nil && !jwksHas(t, r, at, k.ID) {
				t.Fatalf("at %v: signing key %s not in JWKS", at, k.ID)
			}
		}
	})
}

// signOld issues, at 'at', a token with the old key only.
func signOld(t *testing.T, k *Key, at, exp time.Time) string {
	t.Helper()
	only := *k
	only.SignUntil = exp.Add(time.Second) // let the key sign at 'at' in its own ring
	only.RetireAt = exp.Add(time.Hour)
	return mustIssue(t, mustRing(t, &only), AccessClaims{
		Issuer: testIssuer, Subject: "s", Audience: []string{testAudience}, Expiry: exp,
	}, at)
}

func jwksHas(t *testing.T, r *Ring, at time.Time, kid string) bool {
	t.Helper()
	b, err := r.JWKS(at)
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		t.Fatal(err)
	}
	for _, k := range set.Keys {
		if k.Kid == kid {
			return true
		}
	}
	return false
}

func assertPublicJWKS(t *testing.T, r *Ring, at time.Time) {
	t.Helper()
	b, err := r.JWKS(at)
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) == 0 {
		t.Fatal("empty JWKS")
	}
	for _, k := range set.Keys {
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k", "oth"} {
			if _, ok := k[private]; ok {
				t.Errorf("JWKS key %v has private member %q", k["kid"], private)
			}
		}
		for _, need := range []string{"kty", "kid", "alg", "use"} {
			if _, ok := k[need]; !ok {
				t.Errorf("JWKS key lacks %q: %v", need, k)
			}
		}
		if k["use"] != "sig" {
			t.Errorf("use = %v, want sig", k["use"])
		}
	}
}

func TestSEC_JWT16_WeakKeysRejected(t *testing.T) {
	good := testKey(t, RS256, t0)
	rsaKey := good.Private.(*rsa.PrivateKey)
	small, err := rsa.GenerateKey(randReader{}, 1024)
	if err != nil {
		t.Fatal(err)
	}
	withE := func(e int) *rsa.PrivateKey {
		c := *rsaKey
		c.PublicKey.E = e
		return &c
	}
	ec := testKey(t, ES256, t0)
	ed := testKey(t, EdDSA, t0)
	cases := []struct {
		name string
		key  Key
	}{
		{"RSA-1024", Key{Alg: RS256, Private: small}},
		{"RSA e=1", Key{Alg: RS256, Private: withE(1)}},
		{"RSA e=3", Key{Alg: RS256, Private: withE(3)}},
		{"HS256 secret", Key{Alg: "HS256", Private: ed.Private}},
		{"none alg", Key{Alg: "none", Private: ed.Private}},
		{"ES256 alg on Ed25519 key", Key{Alg: ES256, Private: ed.Private}},
		{"EdDSA alg on EC key", Key{Alg: EdDSA, Private: ec.Private}},
		{"RS256 alg on EC key", Key{Alg: RS256, Private: ec.Private}},
		{"truncated Ed25519 key", Key{Alg: EdDSA, Private: ed.Private.(ed25519.PrivateKey)[:32]}},
		{"no private key", Key{Alg: EdDSA}},
		{"ROCA-vulnerable RSA modulus", Key{Alg: RS256, Private: rocaKey(t)}},
	}
	for _, tc := range cases {
		t.Run("rejected/"+tc.name, func(t *testing.T) {
			k := tc.key
			k.ID = "kid"
			k.NotBefore, k.SignUntil, k.RetireAt = t0, t0.Add(time.Hour), t0.Add(2*time.Hour)
			if err := ValidateImported(&k); err == nil {
				t.Fatal("ValidateImported accepted a weak key")
			}
			if _, err := NewRing(&k); err == nil {
				t.Fatal("NewRing accepted a weak key")
			}
		})
	}
	for _, k := range []*Key{good, ec, ed} {
		if err := ValidateImported(k); err != nil {
			t.Errorf("ValidateImported(%s): %v", k.Alg, err)
		}
	}
	t.Run("rejected/bad schedule", func(t *testing.T) {
		k := *ed
		k.SignUntil = k.NotBefore
		if ValidateImported(&k) == nil {
			t.Fatal("accepted SignUntil == NotBefore")
		}
	})
	t.Run("Generate refuses HS256", func(t *testing.T) {
		if _, err := Generate("HS256", t0); err == nil {
			t.Fatal("Generate(HS256) succeeded")
		}
	})
}

// rocaPublicKey is a ROCA-vulnerable (CVE-2017-15361) RSA-2048 public key,
// a published test vector (github.com/titanous/rocacheck, from
// github.com/crocs-muni/roca).
const rocaPublicKey = `-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAlze9c7qGdjDLVR/ntk+4
ZkfMcYsAnmfTFHfe3Xv7jRQqPCXCULtr0y0jG3aRJmEenoXO9uDveqr43gFB9yvA
dLEhu0aJqpB7lNZ+yXsvfVp/96dkSN8oWYL/dd9Z7GQOvVniHUY3Xsd7zdw2eYOy
HSXhhA2Ttwnj3c1jEYfC0y9q1cU99aL0ogGDqolcOvlkJu+mGb+6+WyboFa1gwRu
kYxBHZWKiHCt/eihvXsPTzTlXmTXWdGJtA1xZDnCBWuZ90b5R0agXVIESTl0cCyH
aQM/tLZmktJIU+Eu7ALBXemPg9kh3SCnYd3/YvDGCtYSXOWthHwlP5CImRBcQaNn
cQIDAQAB
-----END PUBLIC KEY-----`

// rocaKey wraps the ROCA public key as a private key (its private half is
// unknown; the check must refuse it on the modulus alone, before anything
// else about the private key is looked at).
func rocaKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	b, _ := pem.Decode([]byte(rocaPublicKey))
	pub, err := x509.ParsePKIXPublicKey(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	rp := pub.(*rsa.PublicKey)
	if rp.N.BitLen() < MinRSABits || rp.E != 65537 {
		t.Fatalf("test vector: %d bits, e=%d", rp.N.BitLen(), rp.E)
	}
	return &rsa.PrivateKey{PublicKey: *rp, D: big.NewInt(3), Primes: []*big.Int{big.NewInt(5), big.NewInt(7)}}
}

func TestROCACheckNamesTheProblem(t *testing.T) {
	k := Key{ID: "kid", Alg: RS256, Private: rocaKey(t), NotBefore: t0, SignUntil: t0.Add(time.Hour), RetireAt: t0.Add(2 * time.Hour)}
	if err := ValidateImported(&k); err == nil || !strings.Contains(err.Error(), "ROCA") {
		t.Fatalf("ValidateImported: %v, want the ROCA refusal", err)
	}
	// A sound key of the same size passes (the check is not a blanket
	// refusal of RSA).
	good := testKey(t, RS256, t0)
	if err := ValidateImported(good); err != nil {
		t.Fatal(err)
	}
}
