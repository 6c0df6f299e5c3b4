package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/server"
	"github.com/latchkey/latchkey/verify"
)

// jwtFixture is a server with a keyspace "orders" and one key in it.
type jwtFixture struct {
	s   *testServer
	c   *client.Client
	key *api.CreatedKey
}

func newJWTFixture(t *testing.T, cfg server.Config, req api.CreateKeyRequest) *jwtFixture {
	t.Helper()
	s := startServer(t, cfg)
	c := s.client(t, s.Root)
	ctx := t.Context()
	if _, err := c.CreateKeyspace(ctx, api.KeyspaceRequest{Name: "orders", Audiences: &[]string{"https://orders.example.com"}}); err != nil {
		t.Fatal(err)
	}
	req.Keyspace = "orders"
	if req.Scopes == nil {
		req.Scopes = []string{"orders:read", "orders:write"}
	}
	k, err := c.CreateKey(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	return &jwtFixture{s: s, c: c, key: k}
}

func (f *jwtFixture) verifier(t *testing.T, aud string, rev *verify.Revocations) *verify.JWT {
	t.Helper()
	v, err := verify.NewJWT(verify.JWTOptions{JWKSURL: f.s.URL + "/.well-known/jwks.json",
		Issuer: f.s.URL, Audience: aud, Revocations: rev, MinRefetchInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (f *jwtFixture) exchange(t *testing.T, req api.TokenRequest) *api.TokenResponse {
	t.Helper()
	tr, err := f.c.ExchangeToken(t.Context(), f.key.Secret, req)
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	return tr
}

func TestJWT_ExchangeVerifiesWithSDK(t *testing.T) {
	f := newJWTFixture(t, server.Config{}, api.CreateKeyRequest{})
	tr := f.exchange(t, api.TokenRequest{})
	if tr.TokenType != "Bearer" || tr.ExpiresIn < 299 || tr.ExpiresIn > 300 {
		t.Fatalf("token response %+v: want Bearer, expires_in 300", tr)
	}
	c, err := f.verifier(t, "orders", nil).Verify(t.Context(), tr.AccessToken)
	if err != nil {
		t.Fatalf("SDK verify: %v", err)
	}
	if c.KeyID != f.key.ID || c.Subject != f.key.ID || c.ClientID != f.key.ID || c.Issuer != f.s.URL {
		t.Errorf("claims %+v: want key_id/sub/client_id %s, iss %s", c, f.key.ID, f.s.URL)
	}
	if strings.Join(c.Scopes, " ") != "orders:read orders:write" {
		t.Errorf("scope %q, want the key's effective scopes", c.Scopes)
	}
	if d := c.ExpiresAt.Sub(c.IssuedAt); d != 5*time.Minute {
		t.Errorf("exp - iat = %v, want 5m", d)
	}
	if _, err := f.verifier(t, "payments", nil).Verify(t.Context(), tr.AccessToken); !errors.Is(err, verify.ErrInvalidToken) {
		t.Errorf("wrong audience: %v, want invalid token", err)
	}
}

func TestJWT_ExchangeNarrowsNeverWidens(t *testing.T) {
	f := newJWTFixture(t, server.Config{}, api.CreateKeyRequest{})
	tr := f.exchange(t, api.TokenRequest{Scope: "orders:read"})
	c, err := f.verifier(t, "orders", nil).Verify(t.Context(), tr.AccessToken)
	if err != nil || strings.Join(c.Scopes, " ") != "orders:read" || tr.Scope != "orders:read" {
		t.Fatalf("narrowed token: %+v %v", c, err)
	}
	for _, scope := range []string{"admin", "orders:read orders:delete", "orders:*"} {
		_, err := f.c.ExchangeToken(t.Context(), f.key.Secret, api.TokenRequest{Scope: scope})
		var e *client.Error
		if !errors.As(err, &e) || e.Status != http.StatusBadRequest || e.Problem.Code != "invalid_scope" {
			t.Errorf("scope %q: %v, want 400 invalid_scope", scope, err)
		}
	}
}

func TestJWT_ExchangeLifetimeAndAudience(t *testing.T) {
	expires := time.Now().Add(2 * time.Minute)
	f := newJWTFixture(t, server.Config{}, api.CreateKeyRequest{ExpiresAt: &expires})
	tr := f.exchange(t, api.TokenRequest{ExpiresIn: 3600, Audience: "https://orders.example.com"})
	if tr.ExpiresIn > 121 {
		t.Errorf("expires_in %d outlives the key (2m)", tr.ExpiresIn)
	}
	if _, err := f.verifier(t, "https://orders.example.com", nil).Verify(t.Context(), tr.AccessToken); err != nil {
		t.Errorf("allowed audience: %v", err)
	}
	for _, req := range []api.TokenRequest{{ExpiresIn: 3601}, {ExpiresIn: -1}, {Audience: "https://evil.example.com"}} {
		_, err := f.c.ExchangeToken(t.Context(), f.key.Secret, req)
		var e *client.Error
		if !errors.As(err, &e) || e.Status != http.StatusBadRequest {
			t.Errorf("%+v: %v, want 400", req, err)
		}
	}
}

// (Keys with credits or rate limits are not exchanged at all: see
// TestSEC_KEY08_JWTExchangeKeepsLimitsAndCredits.)

// TestSEC_KEY06_DerivedTokensKeepCIDRs: a JWT would escape its key's IP
// allowlist, so an IP-bound key is not exchanged — and nothing is spent.
func TestSEC_KEY06_DerivedTokensKeepCIDRs(t *testing.T) {
	credits := int64(5)
	f := newJWTFixture(t, server.Config{}, api.CreateKeyRequest{IPAllow: []string{"127.0.0.1/32"}, Remaining: &credits})
	p := wantProblem(t, f.s.doJSON(t, "POST", "/v1/tokens", f.key.Secret, ""), http.StatusBadRequest)
	if p.Code != "key_not_exchangeable" {
		t.Errorf("code %s", p.Code)
	}
	k, err := f.c.Key(t.Context(), f.key.ID)
	if err != nil || *k.Remaining != credits {
		t.Errorf("credits %v (%v), want %d untouched", k.Remaining, err, credits)
	}
}

func TestJWT_ExchangeRefusals(t *testing.T) {
	f := newJWTFixture(t, server.Config{}, api.CreateKeyRequest{})
	for name, tok := range map[string]string{"none": "", "unknown": "orders_" + strings.Repeat("A", 49), "root": f.s.Root} {
		r := f.s.doJSON(t, "POST", "/v1/tokens", tok, "")
		wantProblem(t, r, http.StatusUnauthorized)
		if got := r.Header.Get("WWW-Authenticate"); got != `Bearer error="invalid_token"` {
			t.Errorf("%s: WWW-Authenticate %q", name, got)
		}
	}
	if _, err := f.c.RevokeKey(t.Context(), f.key.ID, "test"); err != nil {
		t.Fatal(err)
	}
	wantProblem(t, f.s.doJSON(t, "POST", "/v1/tokens", f.key.Secret, ""), http.StatusUnauthorized)
	wantProblem(t, f.s.doJSON(t, "POST", "/v1/tokens", f.key.Secret, `{"scope": 7}`), http.StatusBadRequest)
}

func TestJWT_WellKnown(t *testing.T) {
	f := newJWTFixture(t, server.Config{}, api.CreateKeyRequest{})
	r := f.s.do(t, "GET", "/.well-known/jwks.json", "", "", nil)
	if r.Status != 200 || r.Header.Get("Content-Type") != "application/jwk-set+json" ||
		r.Header.Get("Cache-Control") != "public, max-age=300" || r.Header.Get("ETag") == "" {
		t.Fatalf("jwks: %d %v", r.Status, r.Header)
	}
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(r.Body, &set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("jwks body %s: %v", r.Body, err)
	}
	for _, m := range []string{"kid", "alg", "use", "kty"} {
		if set.Keys[0][m] == nil {
			t.Errorf("jwk lacks %q", m)
		}
	}
	for _, m := range []string{"d", "p", "q", "dp", "dq", "qi", "k"} {
		if set.Keys[0][m] != nil {
			t.Errorf("jwk has private member %q", m)
		}
	}
	req, _ := http.NewRequest("GET", f.s.URL+"/.well-known/jwks.json", nil)
	req.Header.Set("If-None-Match", r.Header.Get("ETag"))
	resp, err := httpClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: %v %v, want 304", resp.StatusCode, err)
	}
	resp.Body.Close()

	r = f.s.do(t, "GET", "/.well-known/oauth-authorization-server", "", "", nil)
	var md api.AuthorizationServerMetadata
	if err := json.Unmarshal(r.Body, &md); err != nil || md.Issuer != f.s.URL || md.JWKSURI != f.s.URL+"/.well-known/jwks.json" {
		t.Fatalf("metadata %d %s: %v", r.Status, r.Body, err)
	}
}

// TestJWT_InteropGolangJWT verifies latchkey's JWT with golang-jwt/jwt/v5
// and the published JWKS, not with latchkey's own code.
func TestJWT_InteropGolangJWT(t *testing.T) {
	f := newJWTFixture(t, server.Config{SigningAlg: "ES256"}, api.CreateKeyRequest{})
	tr := f.exchange(t, api.TokenRequest{})
	r := f.s.do(t, "GET", "/.well-known/jwks.json", "", "", nil)
	keys := parseJWKSForInterop(t, r.Body)
	tok, err := jwt.Parse(tr.AccessToken, func(tk *jwt.Token) (any, error) {
		k, ok := keys[tk.Header["kid"].(string)]
		if !ok {
			return nil, errors.New("unknown kid")
		}
		return k, nil
	}, jwt.WithValidMethods([]string{"ES256"}), jwt.WithIssuer(f.s.URL), jwt.WithAudience("orders"), jwt.WithExpirationRequired())
	if err != nil || !tok.Valid || tok.Header["typ"] != "at+jwt" {
		t.Fatalf("golang-jwt: %v (header %v)", err, tok.Header)
	}
}

// TestJWT_RevocationFeedRejectsWithin5s: a JWT verifier subscribed to the
// revocation feed rejects a token within 5 s of its key's revocation (the
// SEC/issue bound); measured here.
func TestJWT_RevocationFeedRejectsWithin5s(t *testing.T) {
	f := newJWTFixture(t, server.Config{}, api.CreateKeyRequest{})
	other, err := f.c.CreateKey(t.Context(), api.CreateKeyRequest{Keyspace: "orders", Scopes: []string{"orders:read"}})
	if err != nil {
		t.Fatal(err)
	}
	verifierKey, err := f.c.CreateKey(t.Context(), api.CreateKeyRequest{Keyspace: "latchkey", Scopes: []string{"keys:verify"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	rev := verify.NewRevocations(f.s.client(t, verifierKey.Secret), verify.RevocationsOptions{})
	rev.Start(ctx)
	select {
	case <-rev.Synced():
	case <-time.After(10 * time.Second):
		t.Fatal("feed never synced")
	}
	v := f.verifier(t, "orders", rev)
	tok := f.exchange(t, api.TokenRequest{}).AccessToken
	otherTok, err := f.c.ExchangeToken(t.Context(), other.Secret, api.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(t.Context(), tok); err != nil {
		t.Fatalf("before revocation: %v", err)
	}
	if _, err := f.c.RevokeKey(t.Context(), f.key.ID, "leaked"); err != nil {
		t.Fatal(err)
	}
	revoked := time.Now()
	for {
		_, err := v.Verify(t.Context(), tok)
		if errors.Is(err, verify.ErrInvalidToken) {
			t.Logf("JWT rejected %v after its key's revocation", time.Since(revoked))
			break
		}
		if time.Since(revoked) > 5*time.Second {
			t.Fatalf("JWT still accepted 5s after its key was revoked (%v)", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := v.Verify(t.Context(), otherTok.AccessToken); err != nil {
		t.Errorf("another key's JWT rejected: %v", err)
	}
}

// TestJWT_RevocationFeedAuthz: the feed needs keys:verify or keys:read.
func TestJWT_RevocationFeedAuthz(t *testing.T) {
	f := newJWTFixture(t, server.Config{}, api.CreateKeyRequest{})
	w, err := f.c.CreateKey(t.Context(), api.CreateKeyRequest{Keyspace: "latchkey", Scopes: []string{"keys:write"}})
	if err != nil {
		t.Fatal(err)
	}
	wantProblem(t, f.s.do(t, "GET", "/v1/revocations", w.Secret, "", nil), http.StatusForbidden)
	// A personal credential sees only its owner's keys; the feed names all.
	if _, err := f.c.CreateUser(t.Context(), api.CreatePrincipalRequest{ID: "alice", Permissions: []string{"keys:read", "keys:verify"}}); err != nil {
		t.Fatal(err)
	}
	personal, err := f.c.CreateKey(t.Context(), api.CreateKeyRequest{Keyspace: "latchkey", Owner: &api.Owner{Type: "user", ID: "alice"}, Scopes: []string{"keys:read", "keys:verify"}})
	if err != nil {
		t.Fatal(err)
	}
	wantProblem(t, f.s.do(t, "GET", "/v1/revocations", personal.Secret, "", nil), http.StatusForbidden)
	wantProblem(t, f.s.do(t, "GET", "/v1/revocations", f.key.Secret, "", nil), http.StatusUnauthorized)
	for _, q := range []string{"since=-1", "since=x", "wait=26", "limit=0"} {
		wantProblem(t, f.s.do(t, "GET", "/v1/revocations?"+q, f.s.Root, "", nil), http.StatusBadRequest)
	}
}

// parseJWKSForInterop decodes a JWKS into public keys by kid.
func parseJWKSForInterop(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatalf("jwks: %v", err)
	}
	out := map[string]any{}
	for _, k := range set.Keys {
		out[k.KeyID] = k.Key
	}
	return out
}
