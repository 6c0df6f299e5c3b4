package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// oauthBrowser is a cookie-keeping HTTP client that does not follow
// redirects and sends Origin on POSTs, as a browser does.
type oauthBrowser struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string
}

var (
	csrfInput    = regexp.MustCompile(`name="csrf" value="([^"]*)"`)
	requestInput = regexp.MustCompile(`name="request" value="([^"]*)"`)
)

func newOAuthBrowser(t *testing.T, base string) *oauthBrowser {
	jar, _ := cookiejar.New(nil)
	return &oauthBrowser{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *oauthBrowser) do(method, path string, form url.Values) (*http.Response, []byte) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		form.Set("csrf", b.csrf)
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", b.base)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if m := csrfInput.FindSubmatch(raw); m != nil {
		b.csrf = string(m[1])
	}
	return resp, raw
}

// refreshTokens signs alice in on p, authorizes app "web" and redeems the
// code: it returns the first refresh token and the second (after one
// refresh).
func refreshTokens(t *testing.T, p *serverProc, root, secret string) (rt1, rt2 string) {
	t.Helper()
	b := newOAuthBrowser(t, p.URL)
	b.do("GET", "/login", nil)
	if resp, body := b.do("POST", "/login", url.Values{"username": {"alice"}, "password": {"correct horse battery staple 42"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d %.300s", resp.StatusCode, body)
	}
	v := make([]byte, 32)
	rand.Read(v)
	verifier := base64.RawURLEncoding.EncodeToString(v)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"response_type": {"code"}, "client_id": {"web"}, "redirect_uri": {"https://web.example/cb"}, "state": {"s"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	resp, body := b.do("GET", "/oauth2/authorize?"+q.Encode(), nil)
	if resp.StatusCode == http.StatusOK {
		m := requestInput.FindSubmatch(body)
		if m == nil {
			t.Fatalf("consent page without request field: %.300s", body)
		}
		resp, body = b.do("POST", "/oauth2/authorize/consent", url.Values{"request": {html.UnescapeString(string(m[1]))}, "decision": {"allow"}})
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	code := loc.Query().Get("code")
	if code == "" {
		t.Fatalf("authorize: %d %q %.300s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	a := tokenRequest(t, p, secret, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"https://web.example/cb"}, "code_verifier": {verifier}})
	rt1, _ = a["refresh_token"].(string)
	n := tokenRequest(t, p, secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt1}})
	rt2, _ = n["refresh_token"].(string)
	if rt1 == "" || rt2 == "" {
		t.Fatalf("no refresh tokens: %v %v", a["error"], n["error"])
	}
	return rt1, rt2
}

func tokenRequest(t *testing.T, p *serverProc, secret string, form url.Values) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("POST", p.URL+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("web", secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m) //nolint:errcheck // an empty map fails the callers' checks
	return m
}

// TestRT03_ReuseDetectedAcrossRestarts: rotate, restart the server
// (gracefully, then with kill -9), present the rotated-out refresh token:
// still a reuse — the grant dies, the newer token with it. Reuse
// detection lives in the database, not in the process.
func TestRT03_ReuseDetectedAcrossRestarts(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts the binary; skipped with -short")
	}
	dir, root := t.TempDir(), newRootKey()
	env := []string{"LATCHKEY_ISSUER=http://latchkey.test", "LATCHKEY_OAUTH_REFRESH_GRACE=0s"}
	p := startBinary(t, dir, root, env...)
	for _, call := range []struct{ method, path, body string }{
		{"POST", "/v1/users", `{"id":"alice","permissions":["orders:read"]}`},
		{"PUT", "/v1/users/alice/password", `{"password":"correct horse battery staple 42"}`},
	} {
		req, _ := http.NewRequest(call.method, p.URL+call.path, strings.NewReader(call.body))
		req.Header.Set("Authorization", "Bearer "+root)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode >= 300 {
			t.Fatalf("%s %s: %v %v", call.method, call.path, resp.StatusCode, err)
		}
		resp.Body.Close()
	}
	req, _ := http.NewRequest("POST", p.URL+"/v1/apps", strings.NewReader(
		`{"id":"web","permissions":["orders:read"],"oauth":{"redirect_uris":["https://web.example/cb"],"skip_consent":true}}`))
	req.Header.Set("Authorization", "Bearer "+root)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var app struct {
		ClientSecret string `json:"client_secret"`
	}
	json.NewDecoder(resp.Body).Decode(&app) //nolint:errcheck // checked below
	resp.Body.Close()
	if app.ClientSecret == "" {
		t.Fatalf("create app: %d", resp.StatusCode)
	}
	for _, how := range []string{"graceful", "kill -9"} {
		rt1, rt2 := refreshTokens(t, p, root, app.ClientSecret)
		if how == "graceful" {
			if code := p.terminate(t); code != 0 {
				t.Fatalf("graceful exit code %d", code)
			}
		} else {
			p.kill(t)
		}
		p = startBinary(t, dir, root, env...)
		if a := tokenRequest(t, p, app.ClientSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt1}}); a["error"] != "invalid_grant" {
			t.Errorf("%s restart: the rotated-out refresh token was not refused: %v", how, a["error"])
		}
		if a := tokenRequest(t, p, app.ClientSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt2}}); a["error"] != "invalid_grant" {
			t.Errorf("%s restart: the grant survived the reuse: %v", how, a["error"])
		}
	}
}
