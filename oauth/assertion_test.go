package oauth_test

import (
	"context"
	"crypto"
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
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/latchkey/latchkey/oauth"
	"github.com/latchkey/latchkey/signer"
	"github.com/latchkey/latchkey/store/sqlstore"
	"github.com/latchkey/latchkey/token"
)

const testIssuer = "https://as.example"

// nonceFaultStore is a token store whose UseNonce fails while fail is set:
// the replay store cannot answer.
type nonceFaultStore struct {
	token.Store
	fail  atomic.Bool
	calls atomic.Int64
}

func (s *nonceFaultStore) UseNonce(ctx context.Context, keyID, nonce string, expires time.Time) (bool, error) {
	s.calls.Add(1)
	if s.fail.Load() {
		return false, errors.New("injected: database is gone")
	}
	return s.Store.UseNonce(ctx, keyID, nonce, expires)
}

// pkjwtFixture is an OAuth service over real SQLite with one
// private_key_jwt client, "svc", whose jwks holds key.
type pkjwtFixture struct {
	svc    *oauth.Service
	store  *nonceFaultStore
	key    crypto.Signer
	alg    jose.SignatureAlgorithm
	kid    string
	client string
}

func newPKJWT(t *testing.T) *pkjwtFixture {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "latchkey.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	fs := &nonceFaultStore{Store: db}
	tokens := token.NewService(token.Config{Store: fs})
	if _, err := tokens.Bootstrap(ctx, ""); err != nil {
		t.Fatal(err)
	}
	m, err := signer.NewManager(signer.ManagerConfig{Store: db, MasterKey: [32]byte{9}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	f := &pkjwtFixture{store: fs, alg: jose.ES256, kid: "k1", client: "svc",
		svc: oauth.New(fixtureConfig(db, tokens, m))}
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	f.key = k
	f.register(t, f.client, jwksOf(t, jose.JSONWebKey{Key: k.Public(), KeyID: f.kid, Use: "sig"}))
	return f
}

// fixtureConfig is the oauth.Config of the fixture.
func fixtureConfig(db *sqlstore.DB, tokens *token.Service, m *signer.Manager) oauth.Config {
	return oauth.Config{Store: db, Tokens: tokens, Signer: m, Issuer: testIssuer}
}

func (f *pkjwtFixture) register(t *testing.T, id string, jwks json.RawMessage) {
	t.Helper()
	_, c, secret, err := f.svc.CreateApp(context.Background(), token.SystemActor,
		token.CreatePrincipalParams{ID: id, Name: id, Permissions: []string{"orders:read"}},
		oauth.Settings{GrantTypes: []string{oauth.GrantClientCredentials}, TokenEndpointAuthMethod: oauth.AuthPrivateKeyJWT, JWKS: jwks})
	if err != nil {
		t.Fatalf("register %s: %v", id, err)
	}
	if secret != "" || c.SecretDigest != nil {
		t.Fatal("a private_key_jwt client was given a client secret")
	}
}

func jwksOf(t *testing.T, keys ...jose.JSONWebKey) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// claims are the usual claims of a good assertion of client id.
func goodClaims(id string) map[string]any {
	now := time.Now()
	return map[string]any{"iss": id, "sub": id, "aud": testIssuer + "/oauth2/token",
		"iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(), "jti": fmt.Sprintf("jti-%d", time.Now().UnixNano())}
}

// sign signs claims with key as alg, with kid in the header when not "".
func sign(t *testing.T, key any, alg jose.SignatureAlgorithm, kid string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (f *pkjwtFixture) assertion(t *testing.T, claims map[string]any) string {
	return sign(t, f.key, f.alg, f.kid, claims)
}

type answer struct {
	status int
	body   map[string]any
}

// String shows the answer without its access token (no secrets in test
// output).
func (a answer) String() string {
	b := map[string]any{}
	for k, v := range a.body {
		if k == "access_token" {
			v = "[redacted]"
		}
		b[k] = v
	}
	return fmt.Sprintf("%d %v", a.status, b)
}

// token posts a client_credentials request with assertion to the token
// endpoint (extra form fields from extra).
func (f *pkjwtFixture) token(assertion string, extra url.Values) answer {
	form := url.Values{"grant_type": {oauth.GrantClientCredentials}, "client_assertion_type": {oauth.ClientAssertionType},
		"client_assertion": {assertion}}
	for k, v := range extra {
		form[k] = v
	}
	return f.post("/oauth2/token", form, f.svc.HandleToken)
}

func (f *pkjwtFixture) post(path string, form url.Values, h func(http.ResponseWriter, *http.Request) error) answer {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	if err := h(w, r); err != nil {
		oauth.WriteError(w, err)
	}
	a := answer{status: w.Code}
	json.Unmarshal(w.Body.Bytes(), &a.body) //nolint:errcheck // checked by the callers' expectations
	return a
}

func (a answer) ok() bool { return a.status == http.StatusOK && a.body["access_token"] != nil }

func (a answer) invalidClient() bool {
	return a.status == http.StatusUnauthorized && a.body["error"] == "invalid_client"
}

func TestPrivateKeyJWTClientCredentials(t *testing.T) {
	f := newPKJWT(t)
	if a := f.token(f.assertion(t, goodClaims("svc")), nil); !a.ok() || a.body["scope"] != "orders:read" {
		t.Fatalf("good assertion: %v", a)
	}
	// aud may be the issuer, as a string or in an array; client_id may be sent.
	c := goodClaims("svc")
	c["aud"] = []string{"https://other.example", testIssuer}
	if a := f.token(f.assertion(t, c), url.Values{"client_id": {"svc"}}); !a.ok() {
		t.Fatalf("aud = [other, issuer]: %v", a)
	}
	// Without a kid, the key is found by its algorithm.
	if a := f.token(sign(t, f.key, f.alg, "", goodClaims("svc")), nil); !a.ok() {
		t.Fatalf("assertion without kid: %v", a)
	}
	// Basic and an assertion together: one method only.
	r := httptest.NewRequest(http.MethodPost, "/oauth2/token", strings.NewReader(url.Values{"grant_type": {oauth.GrantClientCredentials},
		"client_assertion_type": {oauth.ClientAssertionType}, "client_assertion": {f.assertion(t, goodClaims("svc"))}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth("svc", "lkcs_x")
	w := httptest.NewRecorder()
	if err := f.svc.HandleToken(w, r); err == nil || !strings.Contains(err.Error(), "invalid_request") {
		t.Fatalf("Basic and client_assertion together: %v (%d)", err, w.Code)
	}
	// The client's secret methods do not work for it.
	form := url.Values{"grant_type": {oauth.GrantClientCredentials}, "client_id": {"svc"}, "client_secret": {"lkcs_x"}}
	if a := f.post("/oauth2/token", form, f.svc.HandleToken); !a.invalidClient() {
		t.Fatalf("client_secret_post for a private_key_jwt client: %v", a)
	}
}

// TestPrivateKeyJWTKeyTypes: each offered algorithm works with a key of
// its type, in a jwks of several keys picked by kid.
func TestPrivateKeyJWTKeyTypes(t *testing.T) {
	f := newPKJWT(t)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	f.register(t, "multi", jwksOf(t,
		jose.JSONWebKey{Key: rsaKey.Public(), KeyID: "rsa"},
		jose.JSONWebKey{Key: p384.Public(), KeyID: "p384", Algorithm: "ES384"},
		jose.JSONWebKey{Key: edKey.Public(), KeyID: "ed"}))
	for _, c := range []struct {
		key any
		alg jose.SignatureAlgorithm
		kid string
	}{{rsaKey, jose.RS256, "rsa"}, {rsaKey, jose.PS256, "rsa"}, {p384, jose.ES384, "p384"}, {edKey, jose.EdDSA, "ed"}, {edKey, jose.EdDSA, ""}} {
		if a := f.token(sign(t, c.key, c.alg, c.kid, goodClaims("multi")), nil); !a.ok() {
			t.Errorf("%s (kid %q): %v", c.alg, c.kid, a)
		}
	}
	// A kid naming another of the client's keys fails.
	if a := f.token(sign(t, edKey, jose.EdDSA, "rsa", goodClaims("multi")), nil); !a.invalidClient() {
		t.Errorf("EdDSA signature with kid of the RSA key: %v", a)
	}
}

// TestAS10_AssertionReplay: an assertion is good once — sequentially, and
// when 20 requests race with the same jti exactly one wins.
func TestAS10_AssertionReplay(t *testing.T) {
	f := newPKJWT(t)
	asr := f.assertion(t, goodClaims("svc"))
	if a := f.token(asr, nil); !a.ok() {
		t.Fatalf("first use: %v", a)
	}
	if a := f.token(asr, nil); !a.invalidClient() || !strings.Contains(a.body["error_description"].(string), "already used") {
		t.Fatalf("replay: %v", a)
	}
	// A new assertion with the same jti (new signature, same jti) is a replay too.
	c := goodClaims("svc")
	c["jti"] = "fixed-jti"
	if a := f.token(f.assertion(t, c), nil); !a.ok() {
		t.Fatalf("fresh jti: %v", a)
	}
	c["iat"] = time.Now().Unix() + 1
	if a := f.token(f.assertion(t, c), nil); !a.invalidClient() {
		t.Fatalf("re-signed assertion with a used jti: %v", a)
	}
	// The same jti of another client is that client's own.
	k2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	f.register(t, "other", jwksOf(t, jose.JSONWebKey{Key: k2.Public(), KeyID: "o"}))
	c2 := goodClaims("other")
	c2["jti"] = "fixed-jti"
	if a := f.token(sign(t, k2, jose.ES256, "o", c2), nil); !a.ok() {
		t.Fatalf("another client's assertion with the same jti: %v", a)
	}

	race := f.assertion(t, goodClaims("svc"))
	const n = 20
	var wins, replays atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			a := f.token(race, nil)
			switch {
			case a.ok():
				wins.Add(1)
			case a.invalidClient():
				replays.Add(1)
			default:
				t.Errorf("concurrent use: %v", a)
			}
		}()
	}
	close(start)
	wg.Wait()
	if wins.Load() != 1 || replays.Load() != n-1 {
		t.Fatalf("%d concurrent uses of one assertion: %d succeeded, %d refused; want exactly 1", n, wins.Load(), replays.Load())
	}
}

// TestAS10_AssertionMissingJTI: jti is required, and bounded.
func TestAS10_AssertionMissingJTI(t *testing.T) {
	f := newPKJWT(t)
	c := goodClaims("svc")
	delete(c, "jti")
	if a := f.token(f.assertion(t, c), nil); !a.invalidClient() || !strings.Contains(a.body["error_description"].(string), "jti") {
		t.Fatalf("no jti: %v", a)
	}
	c["jti"] = ""
	if a := f.token(f.assertion(t, c), nil); !a.invalidClient() {
		t.Fatalf("empty jti: %v", a)
	}
	c["jti"] = strings.Repeat("j", 257)
	if a := f.token(f.assertion(t, c), nil); !a.invalidClient() {
		t.Fatalf("257-byte jti: %v", a)
	}
	if n := f.store.calls.Load(); n != 0 {
		t.Fatalf("refused assertions reached the replay store %d times", n)
	}
	c["jti"] = strings.Repeat("j", 256)
	if a := f.token(f.assertion(t, c), nil); !a.ok() {
		t.Fatalf("256-byte jti: %v", a)
	}
}

// TestAS10_AssertionWrongAudience: aud must name this server.
func TestAS10_AssertionWrongAudience(t *testing.T) {
	f := newPKJWT(t)
	for name, aud := range map[string]any{
		"other server":     "https://evil.example/oauth2/token",
		"issuer prefix":    testIssuer + ".evil.example",
		"other endpoint":   testIssuer + "/oauth2/introspect",
		"trailing slash":   testIssuer + "/oauth2/token/",
		"none of an array": []string{"https://a.example", "https://b.example"},
	} {
		c := goodClaims("svc")
		c["aud"] = aud
		if a := f.token(f.assertion(t, c), nil); !a.invalidClient() {
			t.Errorf("%s: %v", name, a)
		}
	}
	c := goodClaims("svc")
	delete(c, "aud")
	if a := f.token(f.assertion(t, c), nil); !a.invalidClient() {
		t.Errorf("no aud: %v", a)
	}
}

// TestAS10_ReplayStoreErrorFailsClosed: when the replay store cannot
// record the jti, the request fails with 503 — never a token — and the
// same assertion works once the store is back.
func TestAS10_ReplayStoreErrorFailsClosed(t *testing.T) {
	f := newPKJWT(t)
	asr := f.assertion(t, goodClaims("svc"))
	f.store.fail.Store(true)
	for range 3 {
		a := f.token(asr, nil)
		if a.status != http.StatusServiceUnavailable || a.body["error"] != "temporarily_unavailable" || a.body["access_token"] != nil {
			t.Fatalf("replay store down: %v", a)
		}
	}
	if f.store.calls.Load() != 3 {
		t.Fatalf("the replay store was asked %d times, want 3", f.store.calls.Load())
	}
	// Introspection authenticates the same way.
	form := url.Values{"client_assertion_type": {oauth.ClientAssertionType}, "client_assertion": {f.assertion(t, goodClaims("svc"))}, "token": {"x"}}
	if a := f.post("/oauth2/introspect", form, f.svc.HandleIntrospect); a.status != http.StatusServiceUnavailable {
		t.Fatalf("introspection with the replay store down: %v", a)
	}
	f.store.fail.Store(false)
	if a := f.token(asr, nil); !a.ok() {
		t.Fatalf("after the store is back: %v", a)
	}
}

// TestAS10_AssertionRefusals: every other way an assertion can be wrong is
// invalid_client, and reaches neither the replay store nor a token.
func TestAS10_AssertionRefusals(t *testing.T) {
	f := newPKJWT(t)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	with := func(k string, v any) map[string]any {
		c := goodClaims("svc")
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	now := time.Now()
	hs := sign(t, []byte(strings.Repeat("s", 32)), jose.HS256, f.kid, goodClaims("svc"))
	payload := base64.RawURLEncoding.EncodeToString(mustJSON(t, goodClaims("svc")))
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + payload + "."
	good := f.assertion(t, goodClaims("svc"))
	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(mustJSON(t, with("sub", "svc2"))) + "." + parts[2]
	cases := map[string]struct {
		assertion string
		extra     url.Values
	}{
		"wrong key":            {sign(t, other, jose.ES256, f.kid, goodClaims("svc")), nil},
		"wrong key, no kid":    {sign(t, other, jose.ES256, "", goodClaims("svc")), nil},
		"unknown kid":          {sign(t, f.key, jose.ES256, "k9", goodClaims("svc")), nil},
		"alg none":             {none, nil},
		"HS256":                {hs, nil},
		"tampered claims":      {tampered, nil},
		"expired":              {f.assertion(t, with("exp", now.Add(-2*time.Minute).Unix())), nil},
		"no exp":               {f.assertion(t, with("exp", nil)), nil},
		"exp too far ahead":    {f.assertion(t, with("exp", now.Add(6*time.Minute).Unix())), nil},
		"exp a day ahead":      {f.assertion(t, with("exp", now.Add(24*time.Hour).Unix())), nil},
		"iat in the future":    {f.assertion(t, with("iat", now.Add(2*time.Minute).Unix())), nil},
		"nbf in the future":    {f.assertion(t, with("nbf", now.Add(2*time.Minute).Unix())), nil},
		"iss ≠ sub":            {f.assertion(t, with("sub", "someone")), nil},
		"no iss":               {f.assertion(t, with("iss", nil)), nil},
		"client_id ≠ iss":      {good, url.Values{"client_id": {"other"}}},
		"unknown client":       {f.assertion(t, map[string]any{"iss": "ghost", "sub": "ghost", "aud": testIssuer, "exp": now.Add(time.Minute).Unix(), "jti": "g"}), nil},
		"wrong assertion type": {good, url.Values{"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:saml2-bearer"}}},
		"no assertion":         {"", nil},
		"not a JWT":            {"not.a.jwt", nil},
		"JWE-shaped":           {"a.b.c.d.e", nil},
		"assertion and secret": {good, url.Values{"client_secret": {"lkcs_x"}}},
		"oversized":            {strings.Repeat("a", 9000), nil},
	}
	for name, c := range cases {
		a := f.token(c.assertion, c.extra)
		if a.ok() || a.status < 400 || a.status >= 500 {
			t.Errorf("%s: %v", name, a)
			continue
		}
		if name != "assertion and secret" && !a.invalidClient() {
			t.Errorf("%s: %v, want 401 invalid_client", name, a)
		}
		if d, _ := a.body["error_description"].(string); strings.Contains(d, "eyJ") {
			t.Errorf("%s: the description echoes the assertion: %q", name, d)
		}
	}
	if n := f.store.calls.Load(); n != 0 {
		t.Errorf("refused assertions reached the replay store %d times", n)
	}
	// A secret client cannot switch to assertions.
	_, _, _, err := f.svc.CreateApp(context.Background(), token.SystemActor, token.CreatePrincipalParams{ID: "secretive", Name: "s"},
		oauth.Settings{GrantTypes: []string{oauth.GrantClientCredentials}})
	if err != nil {
		t.Fatal(err)
	}
	secretive := f.token(sign(t, f.key, jose.ES256, f.kid, goodClaims("secretive")), nil)
	if !secretive.invalidClient() {
		t.Errorf("assertion for a client_secret_basic client: %v", secretive)
	}
	// Wrong key, unknown client, another method: one answer, so the
	// answer does not tell which client IDs exist or how they authenticate.
	unknown := f.token(sign(t, other, jose.ES256, f.kid, goodClaims("ghost")), nil)
	wrongKey := f.token(sign(t, other, jose.ES256, f.kid, goodClaims("svc")), nil)
	if unknown.String() != wrongKey.String() || secretive.String() != wrongKey.String() {
		t.Errorf("answers differ: unknown client %v, wrong key %v, secret client %v", unknown, wrongKey, secretive)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPrivateKeyJWTRegistration: jwks is checked when it is registered;
// private keys, symmetric keys and jwks without private_key_jwt are
// refused; the client has no secret to rotate.
func TestPrivateKeyJWTRegistration(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	pub := jose.JSONWebKey{Key: ec.Public(), KeyID: "a"}
	many := make([]jose.JSONWebKey, 11)
	for i := range many {
		many[i] = jose.JSONWebKey{Key: ec.Public(), KeyID: fmt.Sprint(i)}
	}
	pkjwt := func(jwks json.RawMessage) oauth.Settings {
		return oauth.Settings{GrantTypes: []string{oauth.GrantClientCredentials}, TokenEndpointAuthMethod: oauth.AuthPrivateKeyJWT, JWKS: jwks}
	}
	bad := map[string]oauth.Settings{
		"private key":          pkjwt(jwksOf(t, jose.JSONWebKey{Key: ec, KeyID: "a"})),
		"private and public":   pkjwt(jwksOf(t, pub, jose.JSONWebKey{Key: ec, KeyID: "b"})),
		"symmetric key":        pkjwt(jwksOf(t, jose.JSONWebKey{Key: []byte("0123456789abcdef0123456789abcdef"), KeyID: "a"})),
		"no jwks":              pkjwt(nil),
		"empty set":            pkjwt(json.RawMessage(`{"keys":[]}`)),
		"not JSON":             pkjwt(json.RawMessage(`{"keys":`)),
		"not a JWKS":           pkjwt(json.RawMessage(`[1,2]`)),
		"eleven keys":          pkjwt(jwksOf(t, many...)),
		"duplicate kid":        pkjwt(jwksOf(t, pub, pub)),
		"missing kid of two":   pkjwt(jwksOf(t, pub, jose.JSONWebKey{Key: ec.Public()})),
		"P-521":                pkjwt(jwksOf(t, jose.JSONWebKey{Key: p521.Public(), KeyID: "a"})),
		"RSA 1024":             pkjwt(jwksOf(t, jose.JSONWebKey{Key: small.Public(), KeyID: "a"})),
		"encryption key":       pkjwt(jwksOf(t, jose.JSONWebKey{Key: ec.Public(), KeyID: "a", Use: "enc"})),
		"alg HS256":            pkjwt(jwksOf(t, jose.JSONWebKey{Key: ec.Public(), KeyID: "a", Algorithm: "HS256"})),
		"alg of another type":  pkjwt(jwksOf(t, jose.JSONWebKey{Key: ec.Public(), KeyID: "a", Algorithm: "RS256"})),
		"jwks with a secret":   {GrantTypes: []string{oauth.GrantClientCredentials}, JWKS: jwksOf(t, pub)},
		"jwks of a public one": {GrantTypes: []string{oauth.GrantTokenExchange}, TokenEndpointAuthMethod: oauth.AuthNone, JWKS: jwksOf(t, pub)},
	}
	for name, s := range bad {
		_, err := oauth.NormalizeSettings(s)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if strings.Contains(err.Error(), `"d"`) || strings.Contains(err.Error(), "0123456789abcdef") {
			t.Errorf("%s: the error echoes key material: %v", name, err)
		}
	}
	for _, g := range [][]string{{oauth.GrantClientCredentials}, {oauth.GrantTokenExchange}, {oauth.GrantClientCredentials, oauth.GrantTokenExchange}} {
		s := pkjwt(jwksOf(t, pub))
		s.GrantTypes = g
		if _, err := oauth.NormalizeSettings(s); err != nil {
			t.Errorf("private_key_jwt with %v: %v", g, err)
		}
	}
	if _, err := oauth.NormalizeSettings(pkjwt(jwksOf(t, jose.JSONWebKey{Key: ec.Public()}))); err != nil {
		t.Errorf("one key without kid: %v", err)
	}

	f := newPKJWT(t)
	ctx := context.Background()
	if _, _, err := f.svc.RotateSecret(ctx, token.SystemActor, "svc", 0); err == nil || !strings.Contains(err.Error(), "private_key_jwt") {
		t.Errorf("RotateSecret of a private_key_jwt client: %v", err)
	}
	// Switching a secret client to private_key_jwt drops its secret;
	// switching back issues a new one.
	_, _, secret, err := f.svc.CreateApp(ctx, token.SystemActor, token.CreatePrincipalParams{ID: "switch", Name: "s"},
		oauth.Settings{GrantTypes: []string{oauth.GrantClientCredentials}})
	if err != nil || secret == "" {
		t.Fatalf("create: %v", err)
	}
	c, s2, err := f.svc.SetSettings(ctx, token.SystemActor, "switch", pkjwt(jwksOf(t, pub)))
	if err != nil || s2 != "" || c.SecretDigest != nil || c.PrevSecretDigest != nil {
		t.Fatalf("to private_key_jwt: secret %q, digest %v, %v", s2, c.SecretDigest != nil, err)
	}
	form := url.Values{"grant_type": {oauth.GrantClientCredentials}, "client_id": {"switch"}, "client_secret": {secret}}
	if a := f.post("/oauth2/token", form, f.svc.HandleToken); !a.invalidClient() {
		t.Errorf("the old secret after switching to private_key_jwt: %v", a)
	}
	if _, s3, err := f.svc.SetSettings(ctx, token.SystemActor, "switch", oauth.Settings{GrantTypes: []string{oauth.GrantClientCredentials}}); err != nil || s3 == "" {
		t.Errorf("back to client_secret_basic: secret issued %v, %v", s3 != "", err)
	}
}

// TestPrivateKeyJWTIntrospection: a private_key_jwt client is a
// confidential client at introspection and revocation.
func TestPrivateKeyJWTIntrospection(t *testing.T) {
	f := newPKJWT(t)
	form := url.Values{"client_assertion_type": {oauth.ClientAssertionType}, "client_assertion": {f.assertion(t, goodClaims("svc"))}, "token": {"x"}}
	if a := f.post("/oauth2/introspect", form, f.svc.HandleIntrospect); a.status != http.StatusOK || a.body["active"] != false {
		t.Fatalf("introspection by a private_key_jwt client: %v", a)
	}
	form.Set("client_assertion", f.assertion(t, goodClaims("svc")))
	if a := f.post("/oauth2/revoke", form, f.svc.HandleRevoke); a.status != http.StatusOK {
		t.Fatalf("revocation by a private_key_jwt client: %v", a)
	}
	// The introspection assertion was used up.
	if a := f.post("/oauth2/introspect", form, f.svc.HandleIntrospect); !a.invalidClient() {
		t.Fatalf("replayed assertion at introspection: %v", a)
	}
}
