package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/httpsig"
)

// startProxyBinary runs `latchkey proxy` with args and env and returns its
// base URL once it serves.
func startProxyBinary(t *testing.T, env []string, args ...string) (string, *lockedBuffer) {
	t.Helper()
	stderr := &lockedBuffer{gateway: make(chan string, 1)}
	cmd := exec.Command(latchkeyBinary(t), append([]string{"proxy", "--addr", "127.0.0.1:0", "--log-format", "json"}, args...)...)
	cmd.Env = append(baseEnv(), env...)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-done })
	select {
	case addr := <-stderr.gateway:
		return "http://" + addr, stderr
	case <-done:
		t.Fatalf("latchkey proxy exited: %s", stderr)
	case <-time.After(20 * time.Second):
		t.Fatalf("latchkey proxy did not start: %s", stderr)
	}
	return "", nil
}

// TestProxyCommand_RemoteVerification runs the real binaries: latchkey
// serve, and latchkey proxy in front of an upstream, verifying remotely
// with a keys:verify credential. It walks the route file of the issue,
// the header contract, refusals, JWTs with the revocation feed, and a
// signed request whose components the proxy forwards to the server.
func TestProxyCommand_RemoteVerification(t *testing.T) {
	root := newRootKey()
	srv := startBinary(t, t.TempDir(), root)
	c := srv.client(t, root)
	ctx := t.Context()
	verifier, err := c.CreateKey(ctx, api.CreateKeyRequest{Keyspace: "latchkey", Scopes: []string{"keys:verify"}})
	if err != nil {
		t.Fatal(err)
	}
	key, err := c.CreateKey(ctx, api.CreateKeyRequest{Scopes: []string{"orders:read"}})
	if err != nil {
		t.Fatal(err)
	}
	signing, err := c.CreateKey(ctx, api.CreateKeyRequest{Scopes: []string{"orders:read"}, SigningSecret: true})
	if err != nil {
		t.Fatal(err)
	}

	var hits atomic.Int32
	var lastHeader atomic.Pointer[http.Header]
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		h := r.Header.Clone()
		lastHeader.Store(&h)
		io.Copy(w, r.Body)
	}))
	defer up.Close()
	routes := filepath.Join(t.TempDir(), "routes.yaml")
	os.WriteFile(routes, []byte("routes: [{path: /orders, methods: [GET, POST], scopes: [orders:read]}, {path: /public, anonymous: true}]\n"), 0o600)
	gw, logs := startProxyBinary(t, []string{"LATCHKEY_URL=" + srv.URL, "LATCHKEY_TOKEN=" + verifier.Secret},
		"--upstream", up.URL, "--routes", routes, "--keyspace", "default", "--jwt-audience", "default")

	get := func(path, tok string) int {
		req, _ := http.NewRequest("GET", gw+path, nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		req.Header.Set("X-Latchkey-Key-Id", "spoofed")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := get("/orders", key.Secret); st != 200 || (*lastHeader.Load()).Get("X-Latchkey-Key-Id") != key.ID {
		t.Fatalf("valid key: %d, upstream saw key id %q", st, (*lastHeader.Load()).Get("X-Latchkey-Key-Id"))
	}
	if (*lastHeader.Load()).Get("Authorization") != "" {
		t.Error("the credential reached the upstream")
	}
	n := hits.Load()
	for _, tc := range []struct {
		path, tok string
		want      int
	}{{"/orders", "", 401}, {"/orders", "default_" + strings.Repeat("z", 49), 401}, {"/admin", key.Secret, 404}} {
		if st := get(tc.path, tc.tok); st != tc.want {
			t.Errorf("GET %s: %d, want %d", tc.path, st, tc.want)
		}
	}
	if get("/public", "") != 200 {
		t.Error("anonymous route refused")
	}
	if hits.Load() != n+1 {
		t.Errorf("refusals reached the upstream: %d hits, want %d", hits.Load(), n+1)
	}

	// A signed request: the proxy forwards its components to the server.
	sg, err := httpsig.NewSigner(signing.ID, []byte(signing.SigningSecret))
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"order": 1}`)
	req, _ := http.NewRequest("POST", gw+"/orders", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+signing.Secret)
	sg.Sign(req, body)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	echoed, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(echoed, body) {
		t.Errorf("signed request through the remote proxy: %d %q", resp.StatusCode, echoed)
	}
	if st := get("/orders", signing.Secret); st != 401 {
		t.Errorf("unsigned request with a signing key: %d, want 401", st)
	}

	// A JWT is verified offline; after its key is revoked, the revocation
	// feed refuses it within seconds.
	tr, err := c.ExchangeToken(ctx, key.Secret, api.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if st := get("/orders", tr.AccessToken); st != 200 {
		t.Fatalf("JWT: %d", st)
	}
	if _, err := c.RevokeKey(ctx, key.ID, "test"); err != nil {
		t.Fatal(err)
	}
	revoked := time.Now()
	for get("/orders", tr.AccessToken) != 401 {
		if time.Since(revoked) > 5*time.Second {
			t.Fatal("the proxy still admits the JWT of a revoked key after 5s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("JWT refused by the remote proxy %v after revocation", time.Since(revoked).Round(time.Millisecond))
	if strings.Contains(logs.String(), key.Secret) || strings.Contains(logs.String(), tr.AccessToken) || strings.Contains(logs.String(), verifier.Secret) {
		t.Error("the proxy's log contains a credential")
	}
}

// TestProxyCommand_KeyspaceAndRefusalsSpendNoCredits: a gateway started
// with --keyspace acme_live refuses an acme_test_ key (found by a
// penetration test: it passed a "live" gateway set up like the README),
// and what the remote gateway refuses after asking the server — another
// keyspace, a failed scope expression, X-API-Key its keyspace does not
// allow — spends no credits.
func TestProxyCommand_KeyspaceAndRefusalsSpendNoCredits(t *testing.T) {
	root := newRootKey()
	srv := startBinary(t, t.TempDir(), root)
	c := srv.client(t, root)
	ctx := t.Context()
	verifier, err := c.CreateKey(ctx, api.CreateKeyRequest{Keyspace: "latchkey", Scopes: []string{"keys:verify"}})
	if err != nil {
		t.Fatal(err)
	}
	credits := int64(10)
	keys := map[string]*api.CreatedKey{}
	for _, ks := range []string{"acme_live", "acme_test"} {
		if _, err := c.CreateKeyspace(ctx, api.KeyspaceRequest{Name: ks}); err != nil {
			t.Fatal(err)
		}
		k, err := c.CreateKey(ctx, api.CreateKeyRequest{Keyspace: ks, Scopes: []string{"orders:read"}, Remaining: &credits})
		if err != nil {
			t.Fatal(err)
		}
		keys[ks] = k
	}
	if !strings.HasPrefix(keys["acme_test"].Secret, "acme_test_") {
		t.Fatalf("acme_test key %.10q…", keys["acme_test"].Secret)
	}
	var hits atomic.Int32
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer up.Close()
	routes := filepath.Join(t.TempDir(), "routes.yaml")
	os.WriteFile(routes, []byte(`routes:
  - {path: /orders, methods: [GET], scopes: [orders:read]}
  - {path: /expr, scope: orders:read AND admin}
  - {path: /legacy, scopes: [orders:read], api_key_header: true}
  - {path: /any-legacy, scopes: [orders:read], api_key_header: true, keyspace: "*"}
`), 0o600)
	gw, _ := startProxyBinary(t, []string{"LATCHKEY_URL=" + srv.URL, "LATCHKEY_TOKEN=" + verifier.Secret},
		"--upstream", up.URL, "--routes", routes, "--keyspace", "acme_live")
	get := func(path string, hdr ...string) int {
		req, _ := http.NewRequest("GET", gw+path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	left := func(ks string) int64 {
		t.Helper()
		k, err := c.Key(ctx, keys[ks].ID)
		if err != nil || k.Remaining == nil {
			t.Fatalf("key of %s: %v", ks, err)
		}
		return *k.Remaining
	}
	live, test := keys["acme_live"].Secret, keys["acme_test"].Secret
	for _, tc := range []struct {
		name, path string
		hdr        []string
		want       int
	}{
		{"an acme_test key at a live gateway", "/orders", []string{"Authorization", "Bearer " + test}, 401},
		{"a failed scope expression", "/expr", []string{"Authorization", "Bearer " + live}, 403},
		{"X-API-Key not allowed (the gateway's keyspace)", "/legacy", []string{"X-API-Key", live}, 401},
		{"X-API-Key not allowed (every keyspace)", "/any-legacy", []string{"X-API-Key", test}, 401},
	} {
		if st := get(tc.path, tc.hdr...); st != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, st, tc.want)
		}
	}
	if hits.Load() != 0 {
		t.Errorf("refusals reached the upstream %d times", hits.Load())
	}
	for _, ks := range []string{"acme_live", "acme_test"} {
		if l := left(ks); l != credits {
			t.Errorf("credits of the %s key after refusals: %d, want %d", ks, l, credits)
		}
	}
	if st := get("/orders", "Authorization", "Bearer "+live); st != 200 {
		t.Fatalf("acme_live key: %d", st)
	}
	if l := left("acme_live"); l != credits-1 {
		t.Errorf("credits after one admitted request: %d, want %d", l, credits-1)
	}
}

// TestProxyRefusesBadCredentialAtStart: `latchkey proxy` checks its
// LATCHKEY_TOKEN at start with a call that needs keys:verify; an unknown
// key or one without that scope stops it with exit 3 (refused) and a
// message naming LATCHKEY_TOKEN, instead of serving 503 to everything.
func TestProxyRefusesBadCredentialAtStart(t *testing.T) {
	root := newRootKey()
	srv := startBinary(t, t.TempDir(), root)
	weak, err := srv.client(t, root).CreateKey(t.Context(), api.CreateKeyRequest{Keyspace: "latchkey", Scopes: []string{"keys:read"}})
	if err != nil {
		t.Fatal(err)
	}
	routes := filepath.Join(t.TempDir(), "routes.yaml")
	os.WriteFile(routes, []byte("routes: [{path: /orders, scopes: [orders:read]}]\n"), 0o600)
	for name, tok := range map[string]string{"unknown key": newRootKey(), "no keys:verify": weak.Secret} {
		t.Run(name, func(t *testing.T) {
			r := runBinary(t, map[string]string{"LATCHKEY_URL": srv.URL, "LATCHKEY_TOKEN": tok}, "",
				"proxy", "--addr", "127.0.0.1:0", "--log-format", "json", "--upstream", "http://127.0.0.1:9", "--routes", routes, "--keyspace", "default")
			if r.code != exitRefused {
				t.Errorf("exit %d, want %d; stderr:\n%s", r.code, exitRefused, r.stderr)
			}
			if !strings.Contains(r.stderr, "LATCHKEY_TOKEN") || strings.Contains(r.stderr, "gateway serving") {
				t.Errorf("stderr does not explain the refused credential, or the proxy served:\n%s", r.stderr)
			}
			if strings.Contains(r.stderr, tok) {
				t.Error("the credential is in the output")
			}
		})
	}
}
