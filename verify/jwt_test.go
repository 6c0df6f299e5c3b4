package verify

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

const (
	testIssuer   = "https://auth.example.com"
	testAudience = "payments"
)

// testKey is a signing key and its published form.
type testKey struct {
	kid  string
	alg  jose.SignatureAlgorithm
	priv any
	pub  jose.JSONWebKey
}

func newTestKey(t *testing.T, kid string, alg jose.SignatureAlgorithm) testKey {
	t.Helper()
	var priv, pub any
	switch alg {
	case jose.EdDSA:
		p, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		priv, pub = k, p
	case jose.ES256:
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		priv, pub = k, &k.PublicKey
	case jose.RS256, jose.PS256:
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		priv, pub = k, &k.PublicKey
	default:
		t.Fatalf("no key for %s", alg)
	}
	return testKey{kid: kid, alg: alg, priv: priv,
		pub: jose.JSONWebKey{Key: pub, KeyID: kid, Algorithm: string(alg), Use: "sig"}}
}

// jwksServer serves the public keys of ks and counts requests.
type jwksServer struct {
	*httptest.Server
	mu    sync.Mutex
	body  []byte
	count atomic.Int64
}

func newJWKSServer(t *testing.T, ks ...testKey) *jwksServer {
	t.Helper()
	s := &jwksServer{}
	s.set(t, ks...)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.count.Add(1)
		s.mu.Lock()
		defer s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(s.body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(t *testing.T, ks ...testKey) {
	t.Helper()
	set := jose.JSONWebKeySet{}
	for _, k := range ks {
		set.Keys = append(set.Keys, k.pub)
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	s.setRaw(b)
}

func (s *jwksServer) setRaw(b []byte) {
	s.mu.Lock()
	s.body = b
	s.mu.Unlock()
}

// clock is an injected, settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func newVerifier(t *testing.T, url string, c *clock, mod ...func(*JWTOptions)) *JWT {
	t.Helper()
	o := JWTOptions{JWKSURL: url, Issuer: testIssuer, Audience: testAudience, Now: c.Now}
	for _, m := range mod {
		m(&o)
	}
	v, err := NewJWT(o)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// claims returns valid claims at now.
func claims(now time.Time) map[string]any {
	return map[string]any{
		"iss": testIssuer, "sub": "user:alice", "aud": testAudience,
		"exp": now.Add(5 * time.Minute).Unix(), "iat": now.Unix(), "jti": "j1",
		"scope": "orders:read billing:*", "key_id": "key_1",
	}
}

// mint signs payload with k; hdr adds or overrides header members.
func mint(t *testing.T, k testKey, payload map[string]any, hdr map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("at+jwt").WithHeader("kid", k.kid)
	for n, v := range hdr {
		opts = opts.WithHeader(jose.HeaderKey(n), v)
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: k.alg, Key: k.priv}, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := sig.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	s, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// raw assembles a token from a header and payload given as JSON text and
// a signature segment.
func raw(header, payload, sig string) string {
	e := base64.RawURLEncoding.EncodeToString
	return e([]byte(header)) + "." + e([]byte(payload)) + "." + sig
}

func mustInvalid(t *testing.T, v *JWT, token string) {
	t.Helper()
	c, err := v.Verify(context.Background(), token)
	if !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("Verify = %+v, %v; want ErrInvalidToken", c, err)
	}
	if len(token) > 16 && strings.Contains(err.Error(), token) {
		t.Fatal("error echoes the token")
	}
}

func TestJWTValid(t *testing.T) {
	for _, alg := range []jose.SignatureAlgorithm{jose.EdDSA, jose.ES256, jose.RS256} {
		t.Run(string(alg), func(t *testing.T) {
			k := newTestKey(t, "k-"+string(alg), alg)
			s := newJWKSServer(t, k)
			c := &clock{t: t0}
			v := newVerifier(t, s.URL, c)
			got, err := v.Verify(context.Background(), mint(t, k, claims(t0), nil))
			if err != nil {
				t.Fatal(err)
			}
			if got.Subject != "user:alice" || got.KeyID != "key_1" || got.JTI != "j1" ||
				len(got.Audience) != 1 || got.Audience[0] != testAudience ||
				strings.Join(got.Scopes, " ") != "orders:read billing:*" ||
				!got.ExpiresAt.Equal(t0.Add(5*time.Minute)) || !got.IssuedAt.Equal(t0) {
				t.Fatalf("claims = %+v", got)
			}
			id, err := v.Check(context.Background(), mint(t, k, claims(t0), nil), []string{"billing:refund"})
			if err != nil || id.Subject != "user:alice" || id.KeyID != "key_1" {
				t.Fatalf("Check = %+v, %v", id, err)
			}
			if _, err := v.Check(context.Background(), mint(t, k, claims(t0), nil), []string{"orders:write"}); !errors.Is(err, ErrInsufficientScope) {
				t.Fatalf("Check without scope: %v", err)
			}
		})
	}
}

// JWT-01
func TestJWT01AlgNone(t *testing.T) {
	k := newTestKey(t, "k1", jose.EdDSA)
	s := newJWKSServer(t, k)
	v := newVerifier(t, s.URL, &clock{t: t0})
	body, _ := json.Marshal(claims(t0))
	for _, alg := range []string{"none", "None", "NONE", "nOnE"} {
		t.Run(alg, func(t *testing.T) {
			h := `{"alg":"` + alg + `","typ":"at+jwt","kid":"k1"}`
			mustInvalid(t, v, raw(h, string(body), ""))
			mustInvalid(t, v, raw(h, string(body), "AAAA"))
		})
	}
}

// JWT-02: HS256 with our public key as the MAC secret.
func TestJWT02KeyConfusion(t *testing.T) {
	k := newTestKey(t, "k1", jose.RS256)
	s := newJWKSServer(t, k)
	v := newVerifier(t, s.URL, &clock{t: t0})
	pubJSON, _ := k.pub.MarshalJSON()
	for name, secret := range map[string][]byte{"jwk": pubJSON, "modulus": k.pub.Key.(*rsa.PublicKey).N.Bytes()} {
		t.Run(name, func(t *testing.T) {
			hk := testKey{kid: "k1", alg: jose.HS256, priv: secret}
			mustInvalid(t, v, mint(t, hk, claims(t0), nil))
		})
	}
}

// JWT-03: right family, wrong alg.
func TestJWT03KeyAlgBinding(t *testing.T) {
	rsaKey := newTestKey(t, "rsa", jose.PS256)
	ecKey := newTestKey(t, "ec", jose.ES256)
	s := newJWKSServer(t, rsaKey, ecKey)
	v := newVerifier(t, s.URL, &clock{t: t0}, func(o *JWTOptions) {
		o.Algorithms = []string{"RS256", "PS256", "ES256", "EdDSA"}
	})
	// RS256 signature with the RSA key bound to PS256.
	mustInvalid(t, v, mint(t, testKey{kid: "rsa", alg: jose.RS256, priv: rsaKey.priv}, claims(t0), nil))
	// EdDSA header pointing at the EC key.
	ed := newTestKey(t, "ec", jose.EdDSA)
	mustInvalid(t, v, mint(t, ed, claims(t0), nil))
	// Sanity: the right alg passes.
	if _, err := v.Verify(context.Background(), mint(t, rsaKey, claims(t0), nil)); err != nil {
		t.Fatal(err)
	}
}

// recordingTransport counts outbound requests other than the JWKS.
type recordingTransport struct {
	jwks  string
	other atomic.Int64
}

func (rt *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.String() != rt.jwks {
		rt.other.Add(1)
		return nil, errors.New("unexpected request")
	}
	return http.DefaultTransport.RoundTrip(r)
}

// JWT-04: keys or key locations in the header.
func TestJWT04EmbeddedKeys(t *testing.T) {
	k := newTestKey(t, "k1", jose.ES256)
	s := newJWKSServer(t, k)
	rt := &recordingTransport{jwks: s.URL}
	v := newVerifier(t, s.URL, &clock{t: t0}, func(o *JWTOptions) { o.HTTPClient = &http.Client{Transport: rt} })
	attacker := newTestKey(t, "k1", jose.ES256)
	for name, hdr := range map[string]map[string]any{
		"jwk":  {"jwk": attacker.pub},
		"jku":  {"jku": "https://attacker.example/jwks.json"},
		"x5u":  {"x5u": "https://attacker.example/cert.pem"},
		"x5c":  {"x5c": []string{"MIIB"}},
		"crit": {"crit": []string{"exp"}, "exp": 1},
	} {
		t.Run(name, func(t *testing.T) {
			mustInvalid(t, v, mint(t, attacker, claims(t0), hdr))
			mustInvalid(t, v, mint(t, k, claims(t0), hdr))
		})
	}
	if n := rt.other.Load(); n != 0 {
		t.Fatalf("%d requests to attacker URLs", n)
	}
}

// JWT-05: hostile kids all look like an unknown kid.
func TestJWT05KidInjection(t *testing.T) {
	k := newTestKey(t, "k1", jose.EdDSA)
	s := newJWKSServer(t, k)
	v := newVerifier(t, s.URL, &clock{t: t0})
	for _, kid := range []string{"../../../../dev/null", "' OR '1'='1", strings.Repeat("a", 4096), "k1\x00", ""} {
		kk := k
		kk.kid = kid
		_, err := v.Verify(context.Background(), mint(t, kk, claims(t0), nil))
		var e *Error
		if !errors.As(err, &e) || e.Kind != ErrInvalidToken || e.Code != "unknown key" {
			t.Errorf("kid %.20q: %v", kid, err)
		}
	}
	// Non-UTF-8 in the header.
	mustInvalid(t, v, raw("{\"alg\":\"EdDSA\",\"typ\":\"at+jwt\",\"kid\":\"\xff\"}", `{}`, "AAAA"))
}

// JWT-06: degenerate signatures.
func TestJWT06ZeroSignatures(t *testing.T) {
	ec := newTestKey(t, "ec", jose.ES256)
	rs := newTestKey(t, "rs", jose.RS256)
	s := newJWKSServer(t, ec, rs)
	v := newVerifier(t, s.URL, &clock{t: t0})
	body, _ := json.Marshal(claims(t0))
	e := base64.RawURLEncoding.EncodeToString
	n := rs.pub.Key.(*rsa.PublicKey).N
	for name, tc := range map[string]struct{ hdr, sig string }{
		"es256 der r=s=0": {`{"alg":"ES256","typ":"at+jwt","kid":"ec"}`, "MAYCAQACAQA"},
		"es256 zeros":     {`{"alg":"ES256","typ":"at+jwt","kid":"ec"}`, e(make([]byte, 64))},
		"rs256 zero":      {`{"alg":"RS256","typ":"at+jwt","kid":"rs"}`, e(make([]byte, 256))},
		"rs256 one":       {`{"alg":"RS256","typ":"at+jwt","kid":"rs"}`, e(append(make([]byte, 255), 1))},
		"rs256 n":         {`{"alg":"RS256","typ":"at+jwt","kid":"rs"}`, e(n.Bytes())},
		"rs256 empty":     {`{"alg":"RS256","typ":"at+jwt","kid":"rs"}`, ""},
	} {
		t.Run(name, func(t *testing.T) { mustInvalid(t, v, raw(tc.hdr, string(body), tc.sig)) })
	}
}

// JWT-07, JWT-08, JWT-10: malformed serializations.
func TestJWT07Malformed(t *testing.T) {
	k := newTestKey(t, "k1", jose.EdDSA)
	s := newJWKSServer(t, k)
	v := newVerifier(t, s.URL, &clock{t: t0})
	good := mint(t, k, claims(t0), nil)
	parts := strings.Split(good, ".")
	h, p, sig := parts[0], parts[1], parts[2]
	body, _ := json.Marshal(claims(t0))
	for name, tok := range map[string]string{
		"2 segments":      h + "." + p,
		"4 segments":      good + ".AAAA",
		"5 segments jwe":  good + ".AAAA.AAAA",
		"empty header":    "." + p + "." + sig,
		"empty payload":   h + ".." + sig,
		"trailing dot":    good + ".",
		"padding":         h + "." + p + "." + sig + "==",
		"std alphabet":    h + "." + p + "." + strings.NewReplacer("-", "+", "_", "/").Replace(sig) + "+/",
		"json serialized": `{"payload":"` + p + `","signatures":[{"protected":"` + h + `","signature":"` + sig + `"}]}`,
		"dup alg":         raw(`{"alg":"EdDSA","alg":"none","typ":"at+jwt","kid":"k1"}`, string(body), sig),
		"zip":             raw(`{"alg":"EdDSA","typ":"at+jwt","kid":"k1","zip":"DEF"}`, string(body), sig),
		"no typ":          raw(`{"alg":"EdDSA","kid":"k1"}`, string(body), sig),
		"typ JWT":         mint(t, k, claims(t0), map[string]any{"typ": "JWT"}),
		"typ dpop":        mint(t, k, claims(t0), map[string]any{"typ": "dpop+jwt"}),
	} {
		t.Run(name, func(t *testing.T) { mustInvalid(t, v, tok) })
	}
	// Wrong claim types and duplicated claims, correctly signed.
	for name, c := range map[string]map[string]any{
		"exp string": {"exp": "tomorrow"},
		"aud number": {"aud": 7},
		"sub number": {"sub": 7},
	} {
		t.Run(name, func(t *testing.T) {
			cl := claims(t0)
			for n, x := range c {
				cl[n] = x
			}
			mustInvalid(t, v, mint(t, k, cl, nil))
		})
	}
}

// JWT-09: oversized tokens are refused before any parsing.
func TestJWT09Oversized(t *testing.T) {
	k := newTestKey(t, "k1", jose.EdDSA)
	s := newJWKSServer(t, k)
	v := newVerifier(t, s.URL, &clock{t: t0})
	dots := strings.Repeat(".", 1<<20)
	b64 := strings.Repeat("A", 1<<20)
	for _, tok := range []string{dots, b64} {
		mustInvalid(t, v, tok)
		allocs := testing.AllocsPerRun(10, func() { _, _ = v.Verify(context.Background(), tok) })
		if allocs > 3 {
			t.Errorf("%.0f allocations for an oversized token", allocs)
		}
	}
	if n := s.count.Load(); n != 0 {
		t.Errorf("oversized tokens caused %d JWKS fetches", n)
	}
}

// JWT-11: time claims at the leeway boundary, ±1s, with an injected clock.
func TestJWT11TimeClaims(t *testing.T) {
	k := newTestKey(t, "k1", jose.EdDSA)
	s := newJWKSServer(t, k)
	c := &clock{t: t0}
	v := newVerifier(t, s.URL, c)
	leeway := DefaultLeeway
	sec := func(d time.Duration) int64 { return t0.Add(d).Unix() }
	for _, tc := range []struct {
		name  string
		set   map[string]any
		valid bool
	}{
		{"exp now-(leeway+1s)", map[string]any{"exp": sec(-leeway - time.Second), "iat": sec(-time.Hour)}, false},
		{"exp now-(leeway-1s)", map[string]any{"exp": sec(-leeway + time.Second), "iat": sec(-time.Hour)}, true},
		{"nbf now+leeway+1s", map[string]any{"nbf": sec(leeway + time.Second)}, false},
		{"nbf now+leeway-1s", map[string]any{"nbf": sec(leeway - time.Second)}, true},
		{"iat now+leeway+1s", map[string]any{"iat": sec(leeway + time.Second)}, false},
		{"iat now+leeway-1s", map[string]any{"iat": sec(leeway - time.Second)}, true},
		{"iat far future", map[string]any{"iat": sec(24 * time.Hour)}, false},
		{"exp missing", map[string]any{"exp": nil}, false},
		{"iat missing", map[string]any{"iat": nil}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl := claims(t0)
			for n, x := range tc.set {
				if x == nil {
					delete(cl, n)
				} else {
					cl[n] = x
				}
			}
			_, err := v.Verify(context.Background(), mint(t, k, cl, nil))
			if (err == nil) != tc.valid {
				t.Fatalf("err = %v, want valid=%v", err, tc.valid)
			}
		})
	}
}

// JWT-12: issuer and audience variants.
func TestJWT12IssAud(t *testing.T) {
	k := newTestKey(t, "k1", jose.EdDSA)
	s := newJWKSServer(t, k)
	v := newVerifier(t, s.URL, &clock{t: t0})
	for _, tc := range []struct {
		name  string
		claim string
		val   any
		valid bool
	}{
		{"iss trailing slash", "iss", testIssuer + "/", false},
		{"iss case", "iss", strings.ToUpper(testIssuer), false},
		{"iss missing", "iss", nil, false},
		{"aud missing", "aud", nil, false},
		{"aud wrong", "aud", "other", false},
		{"aud []", "aud", []string{}, false},
		{`aud [""]`, "aud", []string{""}, false},
		{"aud other array", "aud", []string{"other", "x"}, false},
		{"aud array containing", "aud", []string{"other", testAudience}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl := claims(t0)
			if tc.val == nil {
				delete(cl, tc.claim)
			} else {
				cl[tc.claim] = tc.val
			}
			_, err := v.Verify(context.Background(), mint(t, k, cl, nil))
			if (err == nil) != tc.valid {
				t.Fatalf("err = %v, want valid=%v", err, tc.valid)
			}
		})
	}
}

// JWT-13: expired and badly signed is a signature failure.
func TestJWT13ExpiredAndBadSignature(t *testing.T) {
	k := newTestKey(t, "k1", jose.EdDSA)
	s := newJWKSServer(t, k)
	v := newVerifier(t, s.URL, &clock{t: t0})
	cl := claims(t0)
	cl["exp"] = t0.Add(-time.Hour).Unix()
	tok := mint(t, k, cl, nil)
	tok = tok[:len(tok)-4] + "AAAA"
	_, err := v.Verify(context.Background(), tok)
	var e *Error
	if !errors.As(err, &e) || e.Code != "bad signature" {
		t.Fatalf("err = %v, want bad signature", err)
	}
}

// JWT-14: other JWT kinds signed by a trusted key.
func TestJWT14CrossJWT(t *testing.T) {
	k := newTestKey(t, "k1", jose.EdDSA)
	s := newJWKSServer(t, k)
	v := newVerifier(t, s.URL, &clock{t: t0})
	for _, typ := range []string{"JWT", "dpop+jwt", "logout+jwt", "client-authentication+jwt", "id_token"} {
		mustInvalid(t, v, mint(t, k, claims(t0), map[string]any{"typ": typ}))
	}
	// "application/at+jwt" is the same media type.
	if _, err := v.Verify(context.Background(), mint(t, k, claims(t0), map[string]any{"typ": "application/at+jwt"})); err != nil {
		t.Fatal(err)
	}
}

// JWT-15 (verifier side): a new key is picked up on first sight of its
// kid, a removed key stops verifying after the cache is refreshed, and a
// JWKS with private members or duplicate kids is not trusted.
func TestJWT15Rotation(t *testing.T) {
	old := newTestKey(t, "old", jose.EdDSA)
	s := newJWKSServer(t, old)
	c := &clock{t: t0}
	v := newVerifier(t, s.URL, c)
	if _, err := v.Verify(context.Background(), mint(t, old, claims(c.Now()), nil)); err != nil {
		t.Fatal(err)
	}
	c.Add(DefaultMinRefetchInterval)
	next := newTestKey(t, "new", jose.EdDSA)
	s.set(t, old, next)
	if _, err := v.Verify(context.Background(), mint(t, next, claims(c.Now()), nil)); err != nil {
		t.Fatalf("new key: %v", err)
	}
	s.set(t, next)
	c.Add(jwksMaxAge)
	mustInvalid(t, v, mint(t, old, claims(c.Now()), nil))
}

func TestJWKSRejectsPrivateMembers(t *testing.T) {
	k := newTestKey(t, "k1", jose.EdDSA)
	privJWK := jose.JSONWebKey{Key: k.priv, KeyID: "k1", Algorithm: "EdDSA", Use: "sig"}
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{privJWK}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"d"`) {
		t.Fatal("test JWKS lacks d")
	}
	s := newJWKSServer(t)
	s.setRaw(b)
	v := newVerifier(t, s.URL, &clock{t: t0})
	mustInvalid(t, v, mint(t, k, claims(t0), nil))

	sym := []byte(`{"keys":[{"kty":"oct","kid":"k1","alg":"HS256","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}]}`)
	keys, err := parseJWKS(sym)
	if err != nil || len(keys) != 0 {
		t.Fatalf("symmetric key accepted: %v %v", keys, err)
	}
	dup, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{k.pub, newTestKey(t, "k1", jose.EdDSA).pub}})
	if keys, _ := parseJWKS(dup); len(keys) != 0 {
		t.Fatalf("duplicate kid accepted: %v", keys)
	}
}

// Unknown kids cause at most one JWKS fetch per MinRefetchInterval.
func TestJWKSRefetchRateLimited(t *testing.T) {
	k := newTestKey(t, "k1", jose.EdDSA)
	s := newJWKSServer(t, k)
	c := &clock{t: t0}
	v := newVerifier(t, s.URL, c)
	if _, err := v.Verify(context.Background(), mint(t, k, claims(t0), nil)); err != nil {
		t.Fatal(err)
	}
	if n := s.count.Load(); n != 1 {
		t.Fatalf("%d fetches, want 1", n)
	}
	c.Add(DefaultMinRefetchInterval) // a refetch is allowed again
	attacker := newTestKey(t, "", jose.EdDSA)
	for round := 0; round < 3; round++ {
		before := s.count.Load()
		var wg sync.WaitGroup
		for i := 0; i < 100; i++ {
			kk := attacker
			kk.kid = fmt.Sprintf("random-%d-%d", round, i)
			tok := mint(t, kk, claims(c.Now()), nil)
			wg.Add(1)
			go func() {
				defer wg.Done()
				mustInvalid(t, v, tok)
			}()
		}
		wg.Wait()
		if n := s.count.Load() - before; n > 1 {
			t.Fatalf("round %d: %d refetches in one interval", round, n)
		}
		// Known keys keep working throughout.
		if _, err := v.Verify(context.Background(), mint(t, k, claims(c.Now()), nil)); err != nil {
			t.Fatal(err)
		}
		c.Add(DefaultMinRefetchInterval)
	}
}

func TestJWKSUnavailable(t *testing.T) {
	k := newTestKey(t, "k1", jose.EdDSA)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusBadGateway)
	}))
	defer srv.Close()
	v := newVerifier(t, srv.URL, &clock{t: t0})
	for i := 0; i < 2; i++ {
		if _, err := v.Verify(context.Background(), mint(t, k, claims(t0), nil)); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("err = %v, want ErrUnavailable", err)
		}
	}
}

func TestNewJWTOptions(t *testing.T) {
	base := JWTOptions{JWKSURL: "https://x/jwks", Issuer: testIssuer, Audience: testAudience}
	for name, mod := range map[string]func(*JWTOptions){
		"no issuer":   func(o *JWTOptions) { o.Issuer = "" },
		"no audience": func(o *JWTOptions) { o.Audience = "" },
		"no url":      func(o *JWTOptions) { o.JWKSURL = "" },
		"HS256":       func(o *JWTOptions) { o.Algorithms = []string{"HS256"} },
		"none":        func(o *JWTOptions) { o.Algorithms = []string{"none"} },
		"leeway 61s":  func(o *JWTOptions) { o.Leeway = 61 * time.Second },
		"leeway neg":  func(o *JWTOptions) { o.Leeway = -time.Second },
	} {
		o := base
		mod(&o)
		if _, err := NewJWT(o); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := NewJWT(base); err != nil {
		t.Fatal(err)
	}
}
