package interop_test

import (
	"encoding/json"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/api"
)

// The authorization code grant needs a person at a browser: formBrowser
// is one without JavaScript (cookie jar, no redirect following, Origin on
// its POSTs, as a browser sends it), which signs in on /login and answers
// the consent page, so that the independent clients see a real
// authorization response at their redirect URI.

const (
	alice         = "alice"
	alicePassword = "correct horse battery staple 42"
	// ordersAPI is the audience the code-flow apps are registered for.
	ordersAPI = "https://orders.example"
)

// formBrowser is a browser-like HTTP client of one latchkey.
type formBrowser struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string // the csrf field of the last page
}

// page is one answer the browser got.
type page struct {
	Status int
	Header http.Header
	Body   []byte
}

var (
	csrfField    = regexp.MustCompile(`name="csrf" value="([^"]*)"`)
	requestField = regexp.MustCompile(`name="request" value="([^"]*)"`)
)

func newFormBrowser(t *testing.T, base string) *formBrowser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &formBrowser{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// send requests target (absolute, or a path of latchkey).
func (b *formBrowser) send(method, target string, form url.Values) page {
	b.t.Helper()
	if strings.HasPrefix(target, "/") {
		target = b.base + target
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if method == http.MethodPost {
		req.Header.Set("Origin", b.base)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	if m := csrfField.FindSubmatch(raw); m != nil {
		b.csrf = html.UnescapeString(string(m[1]))
	}
	return page{resp.StatusCode, resp.Header, raw}
}

// location resolves the Location of a redirect against latchkey.
func (b *formBrowser) location(p page) string {
	b.t.Helper()
	if p.Status != http.StatusSeeOther && p.Status != http.StatusFound {
		b.t.Fatalf("want a redirect, got %d: %.400s", p.Status, p.Body)
	}
	base, _ := url.Parse(b.base)
	u, err := base.Parse(p.Header.Get("Location"))
	if err != nil {
		b.t.Fatalf("Location %q: %v", p.Header.Get("Location"), err)
	}
	return u.String()
}

// authorize opens the authorization URL as alice would: it follows
// latchkey's redirects, signs in on /login when sent there, allows the
// consent page when it comes, and returns the first redirect that leaves
// latchkey — the authorization response at the client's redirect URI
// (never requested: it need not be served).
func (b *formBrowser) authorize(authURL string) *url.URL {
	b.t.Helper()
	next := authURL
	for range 8 {
		if !strings.HasPrefix(next, b.base+"/") {
			u, err := url.Parse(next)
			if err != nil {
				b.t.Fatal(err)
			}
			return u
		}
		p := b.send(http.MethodGet, next, nil)
		switch {
		case p.Status == http.StatusOK && requestField.Match(p.Body):
			req := html.UnescapeString(string(requestField.FindSubmatch(p.Body)[1]))
			next = b.location(b.send(http.MethodPost, "/oauth2/authorize/consent",
				url.Values{"decision": {"allow"}, "request": {req}, "csrf": {b.csrf}}))
		case p.Status == http.StatusOK:
			b.t.Fatalf("GET %s: a page that is neither sign-in nor consent: %.600s", next, p.Body)
		default:
			loc := b.location(p)
			if lu, _ := url.Parse(loc); strings.HasPrefix(loc, b.base+"/login") {
				if lp := b.send(http.MethodGet, loc, nil); lp.Status != http.StatusOK || b.csrf == "" {
					b.t.Fatalf("GET %s: %d, csrf %q", loc, lp.Status, b.csrf)
				}
				loc = b.location(b.send(http.MethodPost, "/login", url.Values{"username": {alice}, "password": {alicePassword},
					"return_to": {lu.Query().Get("return_to")}, "csrf": {b.csrf}}))
			}
			next = loc
		}
	}
	b.t.Fatalf("authorization of %s did not come back to the client", authURL)
	return nil
}

// createUser makes alice (with a password) holding perms, over the API.
func (l *latchkey) createUser(t *testing.T, perms ...string) {
	t.Helper()
	body, _ := json.Marshal(api.CreatePrincipalRequest{ID: alice, Permissions: perms})
	l.root(t, http.MethodPost, "/v1/users", string(body), http.StatusCreated)
	body, _ = json.Marshal(api.SetPasswordRequest{Password: alicePassword})
	l.root(t, http.MethodPut, "/v1/users/"+alice+"/password", string(body), http.StatusNoContent)
}

// root calls the HTTP API with the root key and checks the status.
func (l *latchkey) root(t *testing.T, method, path, body string, want int) []byte {
	t.Helper()
	req, _ := http.NewRequest(method, l.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+l.Root)
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, want)
	}
	return b
}

// loopbackRedirect is a redirect URI on 127.0.0.1 with a port nothing
// listens on (a port just closed), so that a stray request to it fails.
func loopbackRedirect(t *testing.T, path string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + path
}

// codeSetup is a latchkey with alice and a code-flow app.
type codeSetup struct {
	l        *latchkey
	app      api.Principal
	redirect string
}

// newCodeSetup starts latchkey with cfg, creates alice (orders:read and
// orders:write) and registers app id for the code grant with redirect
// URIs on 127.0.0.1 (/cb, and /other), audience ordersAPI and extra OAuth
// settings (JSON members, e.g. the auth method).
func newCodeSetup(t *testing.T, l *latchkey, id, extra string) *codeSetup {
	t.Helper()
	return newCodeSetupAt(t, l, id, loopbackRedirect(t, "/cb"), extra)
}

// newCodeSetupAt is newCodeSetup with redirect URI redirect (ending in
// /cb) instead of one on a closed port.
func newCodeSetupAt(t *testing.T, l *latchkey, id, redirect, extra string) *codeSetup {
	t.Helper()
	l.createUser(t, "orders:read", "orders:write")
	other := strings.TrimSuffix(redirect, "/cb") + "/other"
	if extra != "" {
		extra = "," + extra
	}
	app := l.createApp(t, `{"id":"`+id+`","name":"Shop","permissions":["orders:read","orders:write"],"oauth":{
		"redirect_uris":["`+redirect+`","`+other+`"],"grant_types":["authorization_code","refresh_token"],
		"audiences":["`+ordersAPI+`"]`+extra+`}}`)
	return &codeSetup{l: l, app: app, redirect: redirect}
}

// tokenOut is a token endpoint answer as a script printed it.
type tokenOut struct {
	AccessToken  string  `json:"access_token"`
	TokenType    string  `json:"token_type"`
	ExpiresIn    float64 `json:"expires_in"`
	Scope        string  `json:"scope"`
	RefreshToken string  `json:"refresh_token"`
}

// checkUserToken checks a code-flow token answer (token_type Bearer) and,
// with jose against the JWKS, its access token: typ at+jwt, iss the
// metadata's, aud, an exp in the future within an hour, sub alice,
// client_id and scope. It returns the claims.
func checkUserToken(t *testing.T, l *latchkey, what string, tok tokenOut, clientID, scope string) map[string]any {
	t.Helper()
	return checkUserTokenOf(t, l, what, "Bearer", tok, clientID, scope)
}

// checkUserTokenOf is checkUserToken for token_type typ (RFC 6749 §7.1:
// compared without case; oauth4webapi lowercases it).
func checkUserTokenOf(t *testing.T, l *latchkey, what, typ string, tok tokenOut, clientID, scope string) map[string]any {
	t.Helper()
	if !strings.EqualFold(tok.TokenType, typ) || tok.Scope != scope || tok.ExpiresIn <= 0 || tok.ExpiresIn > 3600 ||
		tok.AccessToken == "" || !strings.HasPrefix(tok.RefreshToken, "lkr_") {
		t.Fatalf("%s: token answer type %q scope %q expires_in %v, refresh token given %v", what, tok.TokenType, tok.Scope,
			tok.ExpiresIn, tok.RefreshToken != "")
	}
	v := verifyWithJose(t, l, tok.AccessToken, ordersAPI)
	if !v.OK {
		t.Fatalf("%s: jose refused the access token: %s", what, v.Out)
	}
	out := decode[verifyOutput](t, v, "verify.mjs")
	p := out.Payload
	exp, _ := p["exp"].(float64)
	now := float64(time.Now().Unix())
	if out.ProtectedHeader["typ"] != "at+jwt" || p["iss"] != l.metadata(t).Issuer || p["aud"] != ordersAPI ||
		p["sub"] != "user:"+alice || p["client_id"] != clientID || p["scope"] != scope || exp <= now || exp > now+3601 {
		t.Errorf("%s: access token header %v claims %v", what, out.ProtectedHeader, p)
	}
	return p
}
