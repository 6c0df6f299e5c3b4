package server_test

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/httpsig"
	"github.com/latchkey/latchkey/proxy"
	"github.com/latchkey/latchkey/server"
	"github.com/latchkey/latchkey/verify"
)

// upstream is an API behind the gateway that records what reaches it.
type upstream struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []seen
}

type seen struct {
	header  http.Header
	body    []byte
	readErr error
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		u.mu.Lock()
		u.reqs = append(u.reqs, seen{header: r.Header.Clone(), body: b, readErr: err})
		u.mu.Unlock()
		if err != nil {
			return
		}
		w.Write([]byte("upstream ok"))
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) last(t *testing.T) seen {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.reqs) == 0 {
		t.Fatal("the upstream was never reached")
	}
	return u.reqs[len(u.reqs)-1]
}

func (u *upstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.reqs)
}

const gatewayRoutes = `routes:
  - path: /legacy
    scopes: [orders:read]
    api_key_header: true
    keyspace: "*"
  - path: /default-legacy
    scopes: [orders:read]
    api_key_header: true
  - path: /expr
    scope: orders:read AND admin
  - path: /orders
    methods: [GET, POST]
    scopes: [orders:read]
  - path: /public
    anonymous: true
`

// startGatewayServer runs latchkey serve with the in-process gateway in
// front of up and returns the server and the gateway's base URL.
func startGatewayServer(t *testing.T, up *upstream, cfg server.Config) (*testServer, string) {
	t.Helper()
	rs, err := proxy.Parse([]byte(gatewayRoutes))
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(up.URL)
	addr := make(chan string, 1)
	cfg.Proxy = &server.ProxyConfig{Addr: "127.0.0.1:0", Upstream: u, Routes: rs, Keyspace: "default", JWTAudience: "default",
		Started: func(a string) { addr <- a }}
	s := startServer(t, cfg)
	return s, "http://" + <-addr
}

func gatewayGet(t *testing.T, url, tok string, hdr ...string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// TestGateway_InProcess: the gateway inside serve admits a valid key and
// a JWT exchanged for it, forwards the identity and strips the credential
// and spoofed identity headers, and refuses without reaching the upstream.
func TestGateway_InProcess(t *testing.T) {
	up := newUpstream(t)
	s, gw := startGatewayServer(t, up, server.Config{})
	c := s.client(t, s.Root)
	k, err := c.CreateKey(t.Context(), api.CreateKeyRequest{Scopes: []string{"orders:read"},
		RateLimits: []api.RateLimit{{Name: "r", Limit: 100, Window: "1m"}}})
	if err != nil {
		t.Fatal(err)
	}
	resp := gatewayGet(t, gw+"/orders/7", k.Secret, "X-Latchkey-Principal", "user:admin", "X-Latchkey-Key-Id", "key_spoofed")
	if resp.StatusCode != 200 || resp.Header.Get("X-RateLimit-Limit") != "100" {
		t.Fatalf("valid key: %d, X-RateLimit-Limit %q", resp.StatusCode, resp.Header.Get("X-RateLimit-Limit"))
	}
	got := up.last(t).header
	if got.Get("X-Latchkey-Key-Id") != k.ID || got.Get("X-Latchkey-Principal") != "" || got.Get("Authorization") != "" ||
		got.Get("X-Latchkey-Scopes") != "orders:read" {
		t.Errorf("upstream saw %v", got)
	}

	// A rate-limited key is not exchanged: the JWT is of a key without.
	jk, err := c.CreateKey(t.Context(), api.CreateKeyRequest{Scopes: []string{"orders:read"}})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := c.ExchangeToken(t.Context(), jk.Secret, api.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if resp := gatewayGet(t, gw+"/orders", tr.AccessToken); resp.StatusCode != 200 || up.last(t).header.Get("X-Latchkey-Key-Id") != jk.ID {
		t.Errorf("JWT through the in-process gateway: %d", resp.StatusCode)
	}

	before := up.count()
	for name, tc := range map[string]struct {
		tok    string
		path   string
		status int
	}{
		"no credential": {"", "/orders", 401},
		"unknown key":   {"default_" + strings.Repeat("x", 49), "/orders", 401},
		"no route":      {k.Secret, "/admin", 404},
	} {
		if resp := gatewayGet(t, gw+tc.path, tc.tok); resp.StatusCode != tc.status {
			t.Errorf("%s: %d, want %d", name, resp.StatusCode, tc.status)
		}
	}
	if up.count() != before {
		t.Errorf("refused requests reached the upstream (%d)", up.count()-before)
	}
	for _, id := range []string{k.ID, jk.ID} {
		if _, err := c.RevokeKey(t.Context(), id, "test"); err != nil {
			t.Fatal(err)
		}
	}
	if resp := gatewayGet(t, gw+"/orders", k.Secret); resp.StatusCode != 401 {
		t.Errorf("revoked key: %d, want 401 at once (in process)", resp.StatusCode)
	}
	if resp := gatewayGet(t, gw+"/orders", tr.AccessToken); resp.StatusCode != 401 {
		t.Errorf("JWT of a revoked key: %d, want 401 at once (in process)", resp.StatusCode)
	}
}

// TestSEC_KEY06_GatewayIPAllowlist: the gateway hands the client's address
// (X-Forwarded-For only from a trusted proxy) to the key's IP allowlist.
func TestSEC_KEY06_GatewayIPAllowlist(t *testing.T) {
	up := newUpstream(t)
	s, gw := startGatewayServer(t, up, server.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	c := s.client(t, s.Root)
	k, err := c.CreateKey(t.Context(), api.CreateKeyRequest{Scopes: []string{"orders:read"}, IPAllow: []string{"203.0.113.0/24"}})
	if err != nil {
		t.Fatal(err)
	}
	if resp := gatewayGet(t, gw+"/orders", k.Secret); resp.StatusCode != 403 {
		t.Errorf("from 127.0.0.1: %d, want 403", resp.StatusCode)
	}
	if resp := gatewayGet(t, gw+"/orders", k.Secret, "X-Forwarded-For", "203.0.113.9"); resp.StatusCode != 200 {
		t.Errorf("from 203.0.113.9 via a trusted proxy: %d, want 200", resp.StatusCode)
	}
	if got := up.last(t).header.Get("X-Forwarded-For"); got != "203.0.113.9" {
		t.Errorf("upstream X-Forwarded-For %q", got)
	}
}

// newSigningKey creates a key with a request-signing secret and a Signer
// for it.
func newSigningKey(t *testing.T, s *testServer, req api.CreateKeyRequest) (*api.CreatedKey, *httpsig.Signer) {
	t.Helper()
	req.SigningSecret = true
	if req.Scopes == nil {
		req.Scopes = []string{"orders:read"}
	}
	k, err := s.client(t, s.Root).CreateKey(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(k.SigningSecret, "lkss_") || !k.SignsRequests {
		t.Fatalf("signing secret %.8q…, signs_requests %v", k.SigningSecret, k.SignsRequests)
	}
	sg, err := httpsig.NewSigner(k.ID, []byte(k.SigningSecret))
	if err != nil {
		t.Fatal(err)
	}
	return k, sg
}

// signedPost builds a POST of body to url with the key as bearer, signed
// by sg over body (pass another body as sent to tamper with it).
func signedPost(t *testing.T, sg *httpsig.Signer, url, key string, signed, sent []byte) *http.Request {
	t.Helper()
	req, _ := http.NewRequest("POST", url, bytes.NewReader(signed))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	if sg != nil {
		if err := sg.Sign(req, signed); err != nil {
			t.Fatal(err)
		}
	}
	if sent != nil {
		req.Body = io.NopCloser(bytes.NewReader(sent))
		req.ContentLength = int64(len(sent))
	}
	return req
}

func do(t *testing.T, req *http.Request) int {
	t.Helper()
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0 // the gateway may cut a tampered upload short
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestSEC_KEY07_SignedRequestsThroughGateway: a key with a signing secret
// passes the in-process gateway only on requests signed with it; a
// tampered body never reaches the upstream whole; a replay is refused.
func TestSEC_KEY07_SignedRequestsThroughGateway(t *testing.T) {
	up := newUpstream(t)
	s, gw := startGatewayServer(t, up, server.Config{})
	credits := int64(100)
	k, sg := newSigningKey(t, s, api.CreateKeyRequest{Remaining: &credits})
	body := []byte(`{"amount": 42}`)

	if st := do(t, signedPost(t, sg, gw+"/orders", k.Secret, body, nil)); st != 200 {
		t.Fatalf("signed request: %d", st)
	}
	if got := up.last(t); !bytes.Equal(got.body, body) || got.readErr != nil {
		t.Fatalf("upstream got %q (%v)", got.body, got.readErr)
	}
	before := up.count()
	if st := do(t, signedPost(t, nil, gw+"/orders", k.Secret, body, nil)); st != 401 {
		t.Errorf("unsigned request with a signing key: %d, want 401", st)
	}
	if up.count() != before {
		t.Error("an unsigned request reached the upstream")
	}

	tampered := []byte(`{"amount": 43}`)
	st := do(t, signedPost(t, sg, gw+"/orders", k.Secret, body, tampered))
	if st == 200 {
		t.Errorf("tampered body: 200")
	}
	up.mu.Lock()
	for _, r := range up.reqs[before:] {
		if bytes.Equal(r.body, tampered) && r.readErr == nil {
			t.Error("the tampered body reached the upstream whole")
		}
	}
	up.mu.Unlock()

	replay := signedPost(t, sg, gw+"/orders", k.Secret, body, nil)
	again := replay.Clone(t.Context())
	again.Body = io.NopCloser(bytes.NewReader(body))
	if st := do(t, replay); st != 200 {
		t.Fatalf("first use: %d", st)
	}
	if st := do(t, again); st != 401 {
		t.Errorf("replayed signature: %d, want 401", st)
	}
	got, err := s.client(t, s.Root).Key(t.Context(), k.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Spent: the two valid requests and the tampered one, whose signature
	// (over the headers, Content-Digest included) held — its body fails
	// only while it streams. The unsigned request and the replay spend
	// nothing: the signature is checked before credits.
	if *got.Remaining != credits-3 {
		t.Errorf("credits left %d, want %d", *got.Remaining, credits-3)
	}
}

// TestSEC_KEY07_SignedRequestsVerifyAPI: POST /v1/keys/verify checks the
// signature from the request components a remote gateway forwards.
func TestSEC_KEY07_SignedRequestsVerifyAPI(t *testing.T) {
	s := startServer(t, server.Config{})
	k, sg := newSigningKey(t, s, api.CreateKeyRequest{})
	c := s.client(t, s.Root)
	req, _ := http.NewRequest("GET", "https://api.example.com/orders?id=7", nil)
	if err := sg.Sign(req, nil); err != nil {
		t.Fatal(err)
	}
	components := verify.SignedRequestOf(req, "https://api.example.com")
	check := func(name string, vr api.VerifyRequest, want string) {
		t.Helper()
		res, err := c.Verify(t.Context(), vr)
		if err != nil || res.Code != want {
			t.Errorf("%s: %+v %v, want %s", name, res, err, want)
		}
	}
	check("signed", api.VerifyRequest{Key: k.Secret, Request: components}, "VALID")
	check("replayed", api.VerifyRequest{Key: k.Secret, Request: components}, "INVALID_SIGNATURE")
	check("no request", api.VerifyRequest{Key: k.Secret}, "INVALID_SIGNATURE")
	req2, _ := http.NewRequest("GET", "https://api.example.com/orders?id=7", nil)
	sg.Sign(req2, nil)
	tampered := verify.SignedRequestOf(req2, "https://api.example.com")
	tampered.TargetURI = "https://api.example.com/orders?id=8"
	check("tampered query", api.VerifyRequest{Key: k.Secret, Request: tampered}, "INVALID_SIGNATURE")
	other, _ := httpsig.NewSigner(k.ID, []byte("lkss_"+strings.Repeat("w", 49)))
	req3, _ := http.NewRequest("GET", "https://api.example.com/orders", nil)
	other.Sign(req3, nil)
	check("wrong secret", api.VerifyRequest{Key: k.Secret, Request: verify.SignedRequestOf(req3, "https://api.example.com")}, "INVALID_SIGNATURE")

	// A key that signs its requests is never exchanged for a bearer JWT,
	// signed exchange request or not: the JWT would drop the requirement.
	p := wantProblem(t, s.doJSON(t, "POST", "/v1/tokens", k.Secret, ""), http.StatusBadRequest)
	ex := signedPost(t, sg, s.URL+"/v1/tokens", k.Secret, []byte(`{}`), nil)
	if st := do(t, ex); st != http.StatusBadRequest || p.Code != "key_not_exchangeable" {
		t.Errorf("exchange of a signing key: %d %s, want 400 key_not_exchangeable", st, p.Code)
	}
	// The secret never appears again.
	got := s.doJSON(t, "GET", "/v1/keys/"+k.ID, s.Root, "")
	if bytes.Contains(got.Body, []byte(k.SigningSecret)) || !bytes.Contains(got.Body, []byte(`"signs_requests":true`)) {
		t.Errorf("GET key: %s", got.Body)
	}
}

// TestGateway_TLSAndHTTP2: with the server's certificate the in-process
// gateway serves HTTPS and speaks HTTP/2 to clients that offer it.
func TestGateway_TLSAndHTTP2(t *testing.T) {
	up := newUpstream(t)
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	_, gw := startGatewayServer(t, up, server.Config{DataDir: dir, TLSCert: certFile, TLSKey: keyFile})
	gw = strings.Replace(gw, "http://", "https://", 1)
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	resp, err := hc.Get(gw + "/public")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
		t.Errorf("gateway over TLS: %d %s, want 200 over HTTP/2", resp.StatusCode, resp.Proto)
	}
}

// TestGateway_APIKeyHeaderPerKeyspace: X-API-Key is accepted on a route
// that allows it only for keys whose keyspace allows it (SPEC §2).
func TestGateway_APIKeyHeaderPerKeyspace(t *testing.T) {
	up := newUpstream(t)
	s, gw := startGatewayServer(t, up, server.Config{})
	c := s.client(t, s.Root)
	yes := true
	if _, err := c.CreateKeyspace(t.Context(), api.KeyspaceRequest{Name: "legacy", AllowAPIKeyHeader: &yes}); err != nil {
		t.Fatal(err)
	}
	legacy, err := c.CreateKey(t.Context(), api.CreateKeyRequest{Keyspace: "legacy", Scopes: []string{"orders:read"}})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := c.CreateKey(t.Context(), api.CreateKeyRequest{Scopes: []string{"orders:read"}})
	if err != nil {
		t.Fatal(err)
	}
	if resp := gatewayGet(t, gw+"/legacy", "", "X-API-Key", legacy.Secret); resp.StatusCode != 200 {
		t.Errorf("X-API-Key of a keyspace that allows it: %d", resp.StatusCode)
	}
	if got := up.last(t).header.Get("X-Api-Key"); got != "" {
		t.Error("X-API-Key reached the upstream")
	}
	if resp := gatewayGet(t, gw+"/legacy", "", "X-API-Key", plain.Secret); resp.StatusCode != 401 {
		t.Errorf("X-API-Key of a keyspace that does not allow it: %d, want 401", resp.StatusCode)
	}
	if resp := gatewayGet(t, gw+"/legacy", plain.Secret); resp.StatusCode != 200 {
		t.Errorf("the same key as a bearer token: %d", resp.StatusCode)
	}
}

// TestGateway_RefusalsSpendNoCredits: a request the in-process gateway
// refuses for the key's keyspace, a failed scope expression or an
// X-API-Key its keyspace does not allow spends none of the key's credits
// (found by a penetration test: each refusal cost one); an admitted one
// spends one.
func TestGateway_RefusalsSpendNoCredits(t *testing.T) {
	up := newUpstream(t)
	s, gw := startGatewayServer(t, up, server.Config{})
	c := s.client(t, s.Root)
	if _, err := c.CreateKeyspace(t.Context(), api.KeyspaceRequest{Name: "acme_test"}); err != nil {
		t.Fatal(err)
	}
	credits := int64(10)
	other, err := c.CreateKey(t.Context(), api.CreateKeyRequest{Keyspace: "acme_test", Scopes: []string{"orders:read"}, Remaining: &credits})
	if err != nil {
		t.Fatal(err)
	}
	key, err := c.CreateKey(t.Context(), api.CreateKeyRequest{Scopes: []string{"orders:read"}, Remaining: &credits})
	if err != nil {
		t.Fatal(err)
	}
	left := func(id string) int64 {
		t.Helper()
		k, err := c.Key(t.Context(), id)
		if err != nil || k.Remaining == nil {
			t.Fatalf("key %s: %v %+v", id, err, k)
		}
		return *k.Remaining
	}
	before := up.count()
	for _, tc := range []struct {
		name, path, tok string
		hdr             []string
		status          int
	}{
		{"a key of another keyspace", "/orders", other.Secret, nil, 401},
		{"a failed scope expression", "/expr", key.Secret, nil, 403},
		{"X-API-Key its keyspace does not allow (route of one keyspace)", "/default-legacy", "", []string{"X-API-Key", key.Secret}, 401},
		{"X-API-Key its keyspace does not allow (route of every keyspace)", "/legacy", "", []string{"X-API-Key", key.Secret}, 401},
		{"X-API-Key of another keyspace", "/legacy", "", []string{"X-API-Key", other.Secret}, 401},
	} {
		if resp := gatewayGet(t, gw+tc.path, tc.tok, tc.hdr...); resp.StatusCode != tc.status {
			t.Errorf("%s: %d, want %d", tc.name, resp.StatusCode, tc.status)
		}
	}
	if up.count() != before {
		t.Error("a refused request reached the upstream")
	}
	if l := left(key.ID); l != credits {
		t.Errorf("credits of the key after refusals: %d, want %d", l, credits)
	}
	if l := left(other.ID); l != credits {
		t.Errorf("credits of the other keyspace's key after refusals: %d, want %d", l, credits)
	}
	if resp := gatewayGet(t, gw+"/orders", key.Secret); resp.StatusCode != 200 {
		t.Fatalf("admitted request: %d", resp.StatusCode)
	}
	if l := left(key.ID); l != credits-1 {
		t.Errorf("credits after one admitted request: %d, want %d", l, credits-1)
	}
}

// TestGateway_IssuerTrailingSlash: an issuer configured with a trailing
// slash is the same issuer everywhere. The token endpoints and the
// metadata trim it; the in-process gateway compared iss with the untrimmed
// value and refused every JWT latchkey itself had issued.
func TestGateway_IssuerTrailingSlash(t *testing.T) {
	up := newUpstream(t)
	s, gw := startGatewayServer(t, up, server.Config{Issuer: "https://auth.example/"})
	c := s.client(t, s.Root)
	k, err := c.CreateKey(t.Context(), api.CreateKeyRequest{Scopes: []string{"orders:read"}})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := c.ExchangeToken(t.Context(), k.Secret, api.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if resp := gatewayGet(t, gw+"/orders", tr.AccessToken); resp.StatusCode != 200 {
		t.Fatalf("JWT of issuer https://auth.example/ through the in-process gateway: %d, want 200", resp.StatusCode)
	}
	var md api.AuthorizationServerMetadata
	r := s.doJSON(t, http.MethodGet, "/.well-known/oauth-authorization-server", "", "")
	if err := json.Unmarshal(r.Body, &md); err != nil || md.Issuer != "https://auth.example" {
		t.Fatalf("metadata issuer %q (%v)", md.Issuer, err)
	}
}
