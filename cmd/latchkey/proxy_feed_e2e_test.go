package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/client"
)

// feedProxy runs latchkey serve and latchkey proxy (JWTs for audience
// "default") in front of an echo upstream, with a keys:verify credential.
func feedProxy(t *testing.T, args ...string) (c *client.Client, get func(tok string) int) {
	t.Helper()
	root := newRootKey()
	srv := startBinary(t, t.TempDir(), root)
	c = srv.client(t, root)
	verifier, err := c.CreateKey(t.Context(), api.CreateKeyRequest{Keyspace: "latchkey", Scopes: []string{"keys:verify"}})
	if err != nil {
		t.Fatal(err)
	}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(up.Close)
	routes := filepath.Join(t.TempDir(), "routes.yaml")
	if err := os.WriteFile(routes, []byte("routes: [{path: /orders, scopes: [orders:read]}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	gw, _ := startProxyBinary(t, []string{"LATCHKEY_URL=" + srv.URL, "LATCHKEY_TOKEN=" + verifier.Secret},
		append([]string{"--upstream", up.URL, "--routes", routes, "--keyspace", "default", "--jwt-audience", "default"}, args...)...)
	hc := &http.Client{Timeout: 10 * time.Second}
	get = func(tok string) int {
		req, _ := http.NewRequest("GET", gw+"/orders", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	return c, get
}

// untilStatus polls get(tok) until it answers want, failing after bound;
// it returns how long that took.
func untilStatus(t *testing.T, get func(string) int, tok string, want int, bound time.Duration, what string) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		st := get(tok)
		if st == want {
			return time.Since(start)
		}
		if time.Since(start) > bound {
			t.Fatalf("%s: %d after %v, want %d", what, st, bound, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestProxyCommand_QuietFeedKeepsJWTsValid: with the default settings
// (20 s long polls, 30 s max staleness) a revocation feed that stays quiet
// for over a minute keeps valid JWTs admitted. Before the fix each long
// poll ran through the proxy's 10 s client timeout and failed, the feed
// went stale after 30 s and every JWT got 503.
func TestProxyCommand_QuietFeedKeepsJWTsValid(t *testing.T) {
	if testing.Short() {
		t.Skip("a minute of quiet")
	}
	t.Parallel()
	c, get := feedProxy(t)
	key, err := c.CreateKey(t.Context(), api.CreateKeyRequest{Scopes: []string{"orders:read"}})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := c.ExchangeToken(t.Context(), key.Secret, api.TokenRequest{ExpiresIn: 600})
	if err != nil {
		t.Fatal(err)
	}
	untilStatus(t, get, tr.AccessToken, 200, 10*time.Second, "JWT once the feed has answered")
	start := time.Now()
	for time.Since(start) < 65*time.Second {
		if st := get(tr.AccessToken); st != 200 {
			t.Fatalf("valid JWT answered %d after %v of a quiet feed", st, time.Since(start).Round(time.Second))
		}
		time.Sleep(time.Second)
	}
}

// TestProxyCommand_FeedWithdrawsSigningKeysAndOpaqueKeys: the proxy follows
// the revocation feed for both credential kinds. After `signing-keys
// rotate --immediately` the old key's JWT is refused within the feed's
// bound although the proxy cached the JWKS (5 min); a revoked opaque key
// is refused within 1 s although a VALID answer for it is cached (5 s by
// default). Before the fix both stayed admitted from the caches.
func TestProxyCommand_FeedWithdrawsSigningKeysAndOpaqueKeys(t *testing.T) {
	c, get := feedProxy(t, "--revocations-wait", "5s", "--revocations-max-stale", "15s")
	ctx := t.Context()
	key, err := c.CreateKey(ctx, api.CreateKeyRequest{Scopes: []string{"orders:read"}})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := c.ExchangeToken(ctx, key.Secret, api.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	// 200 for the JWT: the feed has answered (and the JWKS is cached).
	untilStatus(t, get, tr.AccessToken, 200, 10*time.Second, "JWT once the feed has answered")

	opaque, err := c.CreateKey(ctx, api.CreateKeyRequest{Scopes: []string{"orders:read"}})
	if err != nil {
		t.Fatal(err)
	}
	if st := get(opaque.Secret); st != 200 {
		t.Fatalf("opaque key: %d", st)
	}
	if _, err := c.RevokeKey(ctx, opaque.ID, "leaked"); err != nil {
		t.Fatal(err)
	}
	t.Logf("revoked opaque key refused %v after its revocation", untilStatus(t, get, opaque.Secret, 401, time.Second, "revoked opaque key"))

	if _, err := c.RotateSigningKey(ctx, api.RotateSigningKeyRequest{Immediately: true}); err != nil {
		t.Fatal(err)
	}
	t.Logf("old signing key's JWT refused %v after rotate --immediately", untilStatus(t, get, tr.AccessToken, 401, 5*time.Second, "JWT of a withdrawn signing key"))
	tr2, err := c.ExchangeToken(ctx, key.Secret, api.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	untilStatus(t, get, tr2.AccessToken, 200, 10*time.Second, "JWT of the new signing key")
}
