package signer

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"hash"
	"math/big"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

func TestSEC_JWT01_AlgNone(t *testing.T) {
	k := testKey(t, EdDSA, t0)
	v := testVerifier(mustRing(t, k), t0)
	payload := b64(payloadJSON(t, t0, nil))
	for _, alg := range []string{"none", "None", "NONE", "nOnE"} {
		hdr := b64(`{"alg":"` + alg + `","kid":"` + k.ID + `","typ":"at+jwt"}`)
		t.Run("401/"+alg+" empty signature", func(t *testing.T) {
			wantReject(t, v, hdr+"."+payload+".")
		})
		t.Run("401/"+alg+" junk signature", func(t *testing.T) {
			wantReject(t, v, hdr+"."+payload+".AAAA")
		})
	}
	t.Run("401/RFC 7515 A.5 unsecured example", func(t *testing.T) {
		// RFC 7515 Appendix A.5, verbatim.
		const a5 = "eyJhbGciOiJub25lIn0." +
			"eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
		wantReject(t, v, a5)
	})
}

func TestSEC_JWT02_SymmetricKeyConfusion(t *testing.T) {
	for _, alg := range []string{EdDSA, ES256, RS256} {
		k := testKey(t, alg, t0)
		v := testVerifier(mustRing(t, k), t0)
		pub := k.Private.Public()
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		jwkJSON, err := json.Marshal(k.publicJWK())
		if err != nil {
			t.Fatal(err)
		}
		secrets := map[string][]byte{
			"PEM":  pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}),
			"DER":  der,
			"JWK":  jwkJSON,
			"text": []byte(k.ID),
		}
		switch p := pub.(type) {
		case ed25519.PublicKey:
			secrets["raw point"] = p
		case *ecdsa.PublicKey:
			raw, _ := p.Bytes()
			secrets["raw point"] = raw
		case *rsa.PublicKey:
			secrets["raw modulus"] = p.N.Bytes()
		}
		for name, secret := range secrets {
			for _, hs := range []jose.SignatureAlgorithm{jose.HS256, jose.HS384, jose.HS512} {
				t.Run("401/"+alg+" key as "+string(hs)+" secret/"+name, func(t *testing.T) {
					tok := hmacToken(t, string(hs), k.ID, secret, payloadJSON(t, t0, nil))
					if te := wantReject(t, v, tok); te != errAlg {
						t.Errorf("reason = %q, want %q", te.Reason, errAlg.Reason)
					}
				})
			}
		}
	}
	t.Run("401/HS256 even when put in the verifier allow-list", func(t *testing.T) {
		k := testKey(t, EdDSA, t0)
		v := testVerifier(mustRing(t, k), t0)
		v.Algs = []string{"HS256", EdDSA}
		tok := hmacToken(t, "HS256", k.ID, k.Private.Public().(ed25519.PublicKey), payloadJSON(t, t0, nil))
		wantReject(t, v, tok)
	})
}

// signWith signs payload with priv under the header alg and kid given,
// through go-jose, so that the header alg can differ from the ring's key.
func signWith(t *testing.T, alg jose.SignatureAlgorithm, priv any, kid, payload string) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: priv},
		(&jose.SignerOptions{}).WithType(TokenType).WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	obj, err := s.Sign([]byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestSEC_JWT03_AlgKeyMismatch(t *testing.T) {
	ed, ec, rs := testKey(t, EdDSA, t0), testKey(t, ES256, t0), testKey(t, RS256, t0)
	r := mustRing(t, ed, ec, rs)
	payload := payloadJSON(t, t0, nil)
	cases := []struct {
		name string
		tok  string
	}{
		{"401/ES384 header, P-256 key's kid", es384WithP256(t, ec, payload)},
		{"401/PS256 with the RS256 key", signWith(t, jose.PS256, rs.Private, rs.ID, payload)},
		{"401/EdDSA header on the EC key's kid, signed by the Ed key", signWith(t, jose.EdDSA, ed.Private, ec.ID, payload)},
		{"401/ES256 header on the RSA key's kid, signed by the EC key", signWith(t, jose.ES256, ec.Private, rs.ID, payload)},
		{"401/RS256 header on the Ed key's kid, signed by the RSA key", signWith(t, jose.RS256, rs.Private, ed.ID, payload)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := testVerifier(r, t0)
			v.Algs = []string{EdDSA, ES256, RS256, "ES384", "PS256"}
			wantReject(t, v, tc.tok)
		})
	}
	t.Run("200/each key with its own alg", func(t *testing.T) {
		for _, k := range []*Key{ed, ec, rs} {
			tok := signWith(t, jose.SignatureAlgorithm(k.Alg), k.Private, k.ID, payload)
			wantAccept(t, testVerifier(r, t0), tok)
		}
	})
}

type recordingTransport struct{ n atomic.Int64 }

func (rt *recordingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	rt.n.Add(1)
	return nil, http.ErrUseLastResponse
}

func TestSEC_JWT04_EmbeddedKeysAndURLs(t *testing.T) {
	rec := &recordingTransport{}
	old := http.DefaultTransport
	http.DefaultTransport = rec
	t.Cleanup(func() { http.DefaultTransport = old })

	ours := testKey(t, EdDSA, t0)
	v := testVerifier(mustRing(t, ours), t0)
	attacker := freshKey(t, EdDSA, t0)
	attackerJWK, _ := json.Marshal(attacker.publicJWK())
	payload := payloadJSON(t, t0, nil)

	for _, kid := range []string{attacker.ID, ours.ID} {
		cases := map[string]string{
			"jwk": `{"alg":"EdDSA","kid":"` + kid + `","typ":"at+jwt","jwk":` + string(attackerJWK) + `}`,
			"jku": `{"alg":"EdDSA","kid":"` + kid + `","typ":"at+jwt","jku":"https://attacker.example/jwks.json"}`,
			"x5u": `{"alg":"EdDSA","kid":"` + kid + `","typ":"at+jwt","x5u":"https://attacker.example/cert.pem"}`,
			"x5c": `{"alg":"EdDSA","kid":"` + kid + `","typ":"at+jwt","x5c":["MIIB"]}`,
		}
		for param, hdr := range cases {
			t.Run("401/"+param+" header, attacker signature, kid "+kid[:6], func(t *testing.T) {
				wantReject(t, v, rawEdToken(t, attacker, hdr, payload))
			})
			t.Run("401/"+param+" header even when signed by our key, kid "+kid[:6], func(t *testing.T) {
				wantReject(t, v, rawEdToken(t, ours, hdr, payload))
			})
		}
	}
	t.Run("401/go-jose EmbedJWK signer", func(t *testing.T) {
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: attacker.Private},
			&jose.SignerOptions{EmbedJWK: true, ExtraHeaders: map[jose.HeaderKey]any{"typ": TokenType}})
		if err != nil {
			t.Fatal(err)
		}
		obj, _ := s.Sign([]byte(payload))
		tok, _ := obj.CompactSerialize()
		wantReject(t, v, tok)
	})
	if n := rec.n.Load(); n != 0 {
		t.Fatalf("%d outbound requests made, want 0", n)
	}
}

func TestSEC_JWT05_KidInjection(t *testing.T) {
	k := testKey(t, EdDSA, t0)
	v := testVerifier(mustRing(t, k), t0)
	payload := payloadJSON(t, t0, nil)
	kids := map[string]string{
		"unknown":        "no-such-key",
		"path traversal": "../../../../dev/null",
		"sql":            "' OR '1'='1",
		"NUL bytes":      "abc\x00def",
		"64 KiB":         strings.Repeat("A", 64<<10),
		"blank":          " ",
	}
	for name, kid := range kids {
		t.Run("401/"+name, func(t *testing.T) {
			hdr, _ := json.Marshal(map[string]string{"alg": EdDSA, "kid": kid, "typ": TokenType})
			v := *v
			v.MaxTokenLen = 1 << 20 // reach the key lookup even for the 64 KiB kid
			if te := wantReject(t, &v, rawEdToken(t, k, string(hdr), payload)); te != errUnknownKey {
				t.Errorf("reason = %q, want %q", te.Reason, errUnknownKey.Reason)
			}
		})
	}
	t.Run("401/non-UTF-8 kid", func(t *testing.T) {
		hdr := `{"alg":"EdDSA","kid":"` + "\xff\xfe" + `","typ":"at+jwt"}`
		wantReject(t, v, rawEdToken(t, k, hdr, payload))
	})
	t.Run("401/kid of the right key, wrong JSON type", func(t *testing.T) {
		hdr := `{"alg":"EdDSA","kid":["` + k.ID + `"],"typ":"at+jwt"}`
		wantReject(t, v, rawEdToken(t, k, hdr, payload))
	})
}

func TestSEC_JWT06_DegenerateSignatures(t *testing.T) {
	ec, rs, ed := testKey(t, ES256, t0), testKey(t, RS256, t0), testKey(t, EdDSA, t0)
	v := testVerifier(mustRing(t, ec, rs, ed), t0)
	payload := b64(payloadJSON(t, t0, nil))
	hdr := func(k *Key) string { return b64(`{"alg":"` + k.Alg + `","kid":"` + k.ID + `","typ":"at+jwt"}`) }
	n := rs.Private.Public().(*rsa.PublicKey).N
	rsaSig := func(x *big.Int) string {
		return base64.RawURLEncoding.EncodeToString(x.FillBytes(make([]byte, 256)))
	}
	cases := []struct{ name, tok string }{
		{"401/ES256 DER r=s=0 (MAYCAQACAQA)", hdr(ec) + "." + payload + ".MAYCAQACAQA"},
		{"401/ES256 64 zero bytes", hdr(ec) + "." + payload + "." + base64.RawURLEncoding.EncodeToString(make([]byte, 64))},
		{"401/ES256 r=s=n", hdr(ec) + "." + payload + "." + base64.RawURLEncoding.EncodeToString(append(ecdsaN().FillBytes(make([]byte, 32)), ecdsaN().FillBytes(make([]byte, 32))...))},
		{"401/RS256 sig 0", hdr(rs) + "." + payload + "." + rsaSig(big.NewInt(0))},
		{"401/RS256 sig 1", hdr(rs) + "." + payload + "." + rsaSig(big.NewInt(1))},
		{"401/RS256 sig n-1", hdr(rs) + "." + payload + "." + rsaSig(new(big.Int).Sub(n, big.NewInt(1)))},
		{"401/RS256 sig n", hdr(rs) + "." + payload + "." + rsaSig(n)},
		{"401/RS256 empty signature", hdr(rs) + "." + payload + "."},
		{"401/EdDSA 64 zero bytes", hdr(ed) + "." + payload + "." + base64.RawURLEncoding.EncodeToString(make([]byte, 64))},
		{"401/EdDSA empty signature", hdr(ed) + "." + payload + "."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { wantReject(t, v, tc.tok) })
	}
}

func ecdsaN() *big.Int {
	n, _ := new(big.Int).SetString("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551", 16)
	return n
}

func TestSEC_JWT07_MalformedCompact(t *testing.T) {
	k := testKey(t, EdDSA, t0)
	r := mustRing(t, k)
	v := testVerifier(r, t0)
	good := mustIssue(t, r, validClaims(t0), t0)
	wantAccept(t, v, good)
	parts := strings.Split(good, ".")
	h, p, s := parts[0], parts[1], parts[2]
	cases := []struct{ name, tok string }{
		{"401/empty", ""},
		{"401/2 segments", h + "." + p},
		{"401/4 segments", good + "." + s},
		{"401/5 segments (JWE shape)", h + "." + p + "." + s + "." + s + "." + s},
		{"401/empty header", "." + p + "." + s},
		{"401/empty payload", h + ".." + s},
		{"401/empty signature", h + "." + p + "."},
		{"401/trailing dot", good + "."},
		{"401/leading dot", "." + good},
		{"401/padding in signature", good + "=="},
		{"401/padding in header", h + "=." + p + "." + s},
		{"401/plus and slash", strings.NewReplacer("-", "+", "_", "/").Replace(good)},
		// The replacement above is a no-op when good happens to hold no
		// '-' or '_' (rarely, but it made this test flaky): force one.
		{"401/plus in signature", h + "." + p + ".+" + s[1:]},
		{"401/slash in payload", h + "./" + p[1:] + "." + s},
		{"401/whitespace", h + ". " + p + "." + s},
		{"401/newline", good + "\n"},
		{"401/JSON serialization", `{"payload":"` + p + `","protected":"` + h + `","header":{"kid":"` + k.ID + `"},"signature":"` + s + `"}`},
		{"401/non-base64 byte", h + "." + p + "?." + s},
	}
	for _, tc := range cases {
		if tc.tok == good {
			continue // see "plus in signature"
		}
		t.Run(tc.name, func(t *testing.T) { wantReject(t, v, tc.tok) })
	}
}

func TestSEC_JWT08_StrictJSON(t *testing.T) {
	k := testKey(t, EdDSA, t0)
	v := testVerifier(mustRing(t, k), t0)
	good := payloadJSON(t, t0, nil)
	exp := now5(t0)
	cases := []struct{ name, header, payload string }{
		{"401/duplicate alg in header", `{"alg":"EdDSA","alg":"none","kid":"` + k.ID + `","typ":"at+jwt"}`, good},
		{"401/duplicate kid in header", `{"alg":"EdDSA","kid":"x","kid":"` + k.ID + `","typ":"at+jwt"}`, good},
		{"401/duplicate via escape in header", `{"alg":"EdDSA","\u0061lg":"EdDSA","kid":"` + k.ID + `","typ":"at+jwt"}`, good},
		{"401/duplicate sub in payload", edHeader(k), `{"iss":"` + testIssuer + `","sub":"a","sub":"admin","aud":"` + testAudience + `","exp":` + exp + `,"iat":` + unix(t0) + `,"jti":"j"}`},
		{"401/duplicate aud in payload", edHeader(k), `{"iss":"` + testIssuer + `","sub":"a","aud":"other","aud":"` + testAudience + `","exp":` + exp + `,"iat":` + unix(t0) + `,"jti":"j"}`},
		{"401/duplicate exp in payload", edHeader(k), `{"iss":"` + testIssuer + `","sub":"a","aud":"` + testAudience + `","exp":1,"exp":` + exp + `,"iat":` + unix(t0) + `,"jti":"j"}`},
		{"401/duplicate in nested cnf", edHeader(k), strings.TrimSuffix(good, "}") + `,"cnf":{"jkt":"a","jkt":"b"}}`},
		{"401/invalid UTF-8 in header", `{"alg":"EdDSA","kid":"` + k.ID + `","typ":"at+jwt","x":"` + "\xc3\x28" + `"}`, good},
		{"401/invalid UTF-8 in payload", edHeader(k), strings.Replace(good, "principal-1", "principal-\xff", 1)},
		{"401/exp as string", edHeader(k), payloadJSON(t, t0, map[string]any{"exp": "tomorrow"})},
		{"401/exp as numeric string", edHeader(k), payloadJSON(t, t0, map[string]any{"exp": exp})},
		{"401/iat as bool", edHeader(k), payloadJSON(t, t0, map[string]any{"iat": true})},
		{"401/sub as number", edHeader(k), payloadJSON(t, t0, map[string]any{"sub": 42})},
		{"401/aud as object", edHeader(k), payloadJSON(t, t0, map[string]any{"aud": map[string]string{"a": testAudience}})},
		{"401/aud array of numbers", edHeader(k), payloadJSON(t, t0, map[string]any{"aud": []int{1}})},
		{"401/payload is an array", edHeader(k), `[` + good + `]`},
		{"401/trailing data after payload", edHeader(k), good + `{}`},
		{"401/header typ as number", `{"alg":"EdDSA","kid":"` + k.ID + `","typ":1}`, good},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { wantReject(t, v, rawEdToken(t, k, tc.header, tc.payload)) })
	}
	t.Run("200/control: raw token with the same builder", func(t *testing.T) {
		wantAccept(t, v, rawEdToken(t, k, edHeader(k), good))
	})
}

func unix(t time.Time) string { return json.Number(big.NewInt(t.Unix()).String()).String() }
func now5(t time.Time) string { return unix(t.Add(5 * time.Minute)) }

// hmacToken forges an HS* token with secret, as an attacker would.
func hmacToken(t *testing.T, alg, kid string, secret []byte, payload string) string {
	t.Helper()
	h := map[string]func() hash.Hash{"HS256": sha256.New, "HS384": sha512.New384, "HS512": sha512.New}[alg]
	in := b64(`{"alg":"`+alg+`","kid":"`+kid+`","typ":"at+jwt"}`) + "." + b64(payload)
	m := hmac.New(h, secret)
	m.Write([]byte(in))
	return in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// es384WithP256 signs an ES384-labelled token with the P-256 key (SHA-384
// digest), which go-jose refuses to produce.
func es384WithP256(t *testing.T, k *Key, payload string) string {
	t.Helper()
	in := b64(`{"alg":"ES384","kid":"`+k.ID+`","typ":"at+jwt"}`) + "." + b64(payload)
	d := sha512.Sum384([]byte(in))
	r, s, err := ecdsa.Sign(randReader{}, k.Private.(*ecdsa.PrivateKey), d[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}
