package dpop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

var now = time.Unix(1_800_000_000, 0)

const cryptoSHA256 = crypto.SHA256

// proof signs claims with key (its public part in the header's jwk).
func proof(t *testing.T, key any, alg jose.SignatureAlgorithm, typ string, claims map[string]any, embed bool) string {
	t.Helper()
	opts := (&jose.SignerOptions{EmbedJWK: embed}).WithType(jose.ContentType(typ))
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(claims)
	jws, err := s.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func good() map[string]any {
	return map[string]any{"jti": "e1j3V_bKic8-LAEB", "htm": "POST", "htu": "https://server.example.com/token", "iat": now.Unix()}
}

func TestVerifyGood(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	for name, k := range map[string]struct {
		key any
		alg jose.SignatureAlgorithm
	}{"ES256": {ec, jose.ES256}, "EdDSA": {ed, jose.EdDSA}} {
		p, err := Verify(proof(t, k.key, k.alg, "dpop+jwt", good(), true), "POST", "https://server.example.com/token", Options{Now: now})
		if err != nil || p.JTI != "e1j3V_bKic8-LAEB" || len(p.JKT) != 43 {
			t.Errorf("%s: %+v %v", name, p, err)
		}
	}
}

// TestDP01_MalformedProofs: every malformed proof is invalid_dpop_proof.
func TestDP01_MalformedProofs(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ok := proof(t, ec, jose.ES256, "dpop+jwt", good(), true)
	parts := strings.Split(ok, ".")
	without := func(k string) map[string]any { c := good(); delete(c, k); return c }
	// A proof whose header carries another key than the one that signed.
	hdr, _ := base64.RawURLEncoding.DecodeString(strings.Split(proof(t, other, jose.ES256, "dpop+jwt", good(), true), ".")[0])
	swapped := base64.RawURLEncoding.EncodeToString(hdr) + "." + parts[1] + "." + parts[2]
	// A header jwk that is a private key.
	priv := jose.JSONWebKey{Key: ec, Algorithm: "ES256"}
	privJSON, _ := priv.MarshalJSON()
	privHdr := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"ES256","typ":"dpop+jwt","jwk":` + string(privJSON) + `}`))
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"dpop+jwt"}`)) + "." + parts[1] + "."
	cases := map[string]string{
		"empty":          "",
		"not a JWT":      "hello",
		"typ JWT":        proof(t, ec, jose.ES256, "JWT", good(), true),
		"no jwk":         proof(t, ec, jose.ES256, "dpop+jwt", good(), false),
		"HS256":          proof(t, []byte(strings.Repeat("k", 32)), jose.HS256, "dpop+jwt", good(), false),
		"alg none":       none,
		"jwk with d":     privHdr + "." + parts[1] + "." + parts[2],
		"wrong key":      swapped,
		"no jti":         proof(t, ec, jose.ES256, "dpop+jwt", without("jti"), true),
		"no htm":         proof(t, ec, jose.ES256, "dpop+jwt", without("htm"), true),
		"no htu":         proof(t, ec, jose.ES256, "dpop+jwt", without("htu"), true),
		"no iat":         proof(t, ec, jose.ES256, "dpop+jwt", without("iat"), true),
		"long jti":       proof(t, ec, jose.ES256, "dpop+jwt", map[string]any{"jti": strings.Repeat("j", 65), "htm": "POST", "htu": "https://server.example.com/token", "iat": now.Unix()}, true),
		"string iat":     proof(t, ec, jose.ES256, "dpop+jwt", map[string]any{"jti": "j", "htm": "POST", "htu": "https://server.example.com/token", "iat": "now"}, true),
		"tampered claim": parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"jti":"x","htm":"POST","htu":"https://server.example.com/token","iat":1800000000}`)) + "." + parts[2],
	}
	for name, p := range cases {
		if _, err := Verify(p, "POST", "https://server.example.com/token", Options{Now: now}); !errors.Is(err, ErrInvalidProof) {
			t.Errorf("%s: %v, want invalid_dpop_proof", name, err)
		}
	}
}

// TestDP02_MethodAndURL: htm must match; htu must match scheme, host, port
// and path, after normalisation, ignoring query and fragment.
func TestDP02_MethodAndURL(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p := proof(t, ec, jose.ES256, "dpop+jwt", good(), true)
	if _, err := Verify(p, "GET", "https://server.example.com/token", Options{Now: now}); err == nil {
		t.Error("htm POST accepted on a GET")
	}
	for _, u := range []string{"http://server.example.com/token", "https://other.example.com/token", "https://server.example.com:8443/token", "https://server.example.com/other", "https://server.example.com/token/"} {
		if _, err := Verify(p, "POST", u, Options{Now: now}); err == nil {
			t.Errorf("htu accepted for %s", u)
		}
	}
	for _, u := range []string{"https://server.example.com/token?x=1", "https://server.example.com/token#f", "https://SERVER.example.com/token", "https://server.example.com:443/token", "HTTPS://server.example.com/token"} {
		if _, err := Verify(p, "POST", u, Options{Now: now}); err != nil {
			t.Errorf("htu refused for %s: %v", u, err)
		}
	}
}

// TestDP03_IssuedAtWindow: too old or too far in the future is refused,
// at the boundaries.
func TestDP03_IssuedAtWindow(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	at := func(d time.Duration) string {
		c := good()
		c["iat"] = now.Add(d).Unix()
		return proof(t, ec, jose.ES256, "dpop+jwt", c, true)
	}
	for d, want := range map[time.Duration]bool{-DefaultMaxAge: true, -DefaultMaxAge - time.Second: false, DefaultSkew: true, DefaultSkew + time.Second: false, 0: true} {
		_, err := Verify(at(d), "POST", "https://server.example.com/token", Options{Now: now})
		if (err == nil) != want {
			t.Errorf("iat %+v: %v, want accepted=%v", d, err, want)
		}
	}
}

// TestDP05_NonceAndDP06_ATH: a server nonce and the access token's hash
// are checked when the caller asks for them.
func TestDP05_NonceAndDP06_ATH(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	const at = "eyJ.access.token"
	h := sha256.Sum256([]byte(at))
	c := good()
	c["nonce"] = "n-1"
	c["ath"] = base64.RawURLEncoding.EncodeToString(h[:])
	p := proof(t, ec, jose.ES256, "dpop+jwt", c, true)
	if _, err := Verify(p, "POST", "https://server.example.com/token", Options{Now: now, Nonce: "n-1", AccessToken: at}); err != nil {
		t.Fatalf("good nonce and ath: %v", err)
	}
	if _, err := Verify(p, "POST", "https://server.example.com/token", Options{Now: now, Nonce: "n-2"}); err == nil {
		t.Error("stale nonce accepted")
	}
	if _, err := Verify(p, "POST", "https://server.example.com/token", Options{Now: now, AccessToken: "another token"}); err == nil {
		t.Error("ath of another token accepted")
	}
	plain := proof(t, ec, jose.ES256, "dpop+jwt", good(), true)
	if _, err := Verify(plain, "POST", "https://server.example.com/token", Options{Now: now, Nonce: "n-1"}); err == nil {
		t.Error("missing nonce accepted")
	}
	if _, err := Verify(plain, "POST", "https://server.example.com/token", Options{Now: now, AccessToken: at}); err == nil {
		t.Error("missing ath accepted")
	}
}

// TestThumbprintRFC7638: the JKT of the RFC 7638 §3.1 example key.
func TestThumbprintRFC7638(t *testing.T) {
	var k jose.JSONWebKey
	if err := k.UnmarshalJSON([]byte(`{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}`)); err != nil {
		t.Fatal(err)
	}
	tp, err := k.Thumbprint(cryptoSHA256)
	if err != nil || base64.RawURLEncoding.EncodeToString(tp) != "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs" {
		t.Fatalf("thumbprint %s %v", base64.RawURLEncoding.EncodeToString(tp), err)
	}
}

// FuzzVerify: no input panics or passes without a valid signature by its
// own header key.
func FuzzVerify(f *testing.F) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	t := &testing.T{}
	f.Add(proof(t, ec, jose.ES256, "dpop+jwt", good(), true), "POST", "https://server.example.com/token")
	f.Add("a.b.c", "GET", "http://x/")
	f.Fuzz(func(t *testing.T, p, method, u string) {
		got, err := Verify(p, method, u, Options{Now: now})
		if err == nil && (got.JKT == "" || got.JTI == "") {
			t.Fatalf("accepted without a thumbprint or jti: %+v", got)
		}
	})
}
