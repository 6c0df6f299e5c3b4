package server_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/server"
)

// The authorization code grant through the pages, end to end: a browser
// without JavaScript (people_e2e_test.go's browser) signs in, consents and
// comes back with a code, which the client redeems at /oauth2/token.

const appRedirect = "https://app.example/cb"

// codeClient registers public OAuth client id (PKCE, no secret) for the
// authorization code grant, with extra OAuth settings (JSON members).
func codeClient(t *testing.T, s *testServer, id, extra string) {
	t.Helper()
	if extra != "" {
		extra = "," + extra
	}
	createClient(t, s, `{"id":"`+id+`","name":"Shop `+id+`","permissions":["orders:read","orders:write"],"oauth":{"redirect_uris":["`+appRedirect+`"],
		"grant_types":["authorization_code","refresh_token"],"token_endpoint_auth_method":"none","audiences":["https://orders.example"]`+extra+`}}`)
}

// pkcePair returns a PKCE verifier and its S256 challenge.
func pkcePair(t *testing.T) (verifier, challenge string) {
	t.Helper()
	b := make([]byte, 32)
	rand.Read(b)
	verifier = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// authorizeURL is the path and query of an authorization request of client
// id, with more parameters (replacing the defaults).
func authorizeURL(id, challenge string, more url.Values) string {
	q := url.Values{"response_type": {"code"}, "client_id": {id}, "redirect_uri": {appRedirect}, "state": {"st-123"},
		"scope": {"orders:read"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}, "resource": {"https://orders.example"}}
	for k, v := range more {
		if len(v) == 0 {
			q.Del(k)
		} else {
			q[k] = v
		}
	}
	return "/oauth2/authorize?" + q.Encode()
}

// requireCodeGrant skips the test while the server's store does not keep
// authorization codes (the endpoint then answers temporarily_unavailable
// on its own page).
func requireCodeGrant(t *testing.T, s *testServer) {
	t.Helper()
	r := newBrowser(t, s.URL, nil).get("/oauth2/authorize?client_id=probe")
	if strings.Contains(string(r.Body), "temporarily_unavailable") {
		t.Skip("this server's store does not implement oauth.GrantStore yet")
	}
}

var requestField = regexp.MustCompile(`name="request" value="([^"]*)"`)

// back parses a redirect to the client and checks state and iss.
func back(t *testing.T, s *testServer, r response) url.Values {
	t.Helper()
	loc := r.Header.Get("Location")
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(loc, appRedirect+"?") {
		t.Fatalf("want a redirect to the client, got %d Location %q: %.300s", r.Status, loc, r.Body)
	}
	u, _ := url.Parse(loc)
	q := u.Query()
	if q.Get("state") != "st-123" || q.Get("iss") != s.URL {
		t.Errorf("redirect %q: state or iss (RFC 9207) wrong, issuer %q", loc, s.URL)
	}
	return q
}

// signInThrough follows the authorization endpoint's redirect to /login and
// signs in there, and returns the answer of the way back.
func signInThrough(t *testing.T, b *browser, authorize, user, password string) response {
	t.Helper()
	r := b.get(authorize)
	loc := r.Header.Get("Location")
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(loc, "/login?") {
		t.Fatalf("authorize without session: %d Location %q", r.Status, loc)
	}
	lu, _ := url.Parse(loc)
	ret := lu.Query().Get("return_to")
	if ret != authorize {
		t.Errorf("return_to %q, want the request %q", ret, authorize)
	}
	if lp := b.get(loc); lp.Status != http.StatusOK {
		t.Fatalf("GET %s: %d", loc, lp.Status)
	}
	r = b.post("/login", url.Values{"username": {user}, "password": {password}, "return_to": {ret}})
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != authorize {
		t.Fatalf("sign-in: %d Location %q, want back to the request", r.Status, r.Header.Get("Location"))
	}
	return b.get(authorize)
}

// consentPage checks a consent page and returns its request field.
func consentPage(t *testing.T, r response, wants ...string) string {
	t.Helper()
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `action="/oauth2/authorize/consent"`) {
		t.Fatalf("want the consent page, got %d Location %q: %.300s", r.Status, r.Header.Get("Location"), r.Body)
	}
	for _, w := range wants {
		if !strings.Contains(string(r.Body), w) {
			t.Errorf("consent page lacks %q", w)
		}
	}
	if r.Header.Get("Cache-Control") != "no-store" || !strings.Contains(r.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") ||
		r.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("consent page headers: %v", r.Header)
	}
	if strings.Contains(string(r.Body), "<script>") || strings.Contains(string(r.Body), "style=") {
		t.Error("inline script or style on the consent page")
	}
	m := requestField.FindSubmatch(r.Body)
	if m == nil {
		t.Fatal("no request field on the consent page")
	}
	return html.UnescapeString(string(m[1]))
}

// redeem exchanges a code at /oauth2/token for public client id.
func redeem(t *testing.T, s *testServer, id, code, verifier string) tokenAnswer {
	t.Helper()
	return postToken(t, s.URL, url.Values{"grant_type": {"authorization_code"}, "client_id": {id}, "code": {code},
		"code_verifier": {verifier}, "redirect_uri": {appRedirect}}, "", "")
}

// TestAS01_RedirectURIVariantsStayOnLatchkey: a redirect URI that is not
// byte for byte a registered one — however close — gets latchkey's own
// error page (400), never a redirect to it.
func TestAS01_RedirectURIVariantsStayOnLatchkey(t *testing.T) {
	s := startServer(t, server.Config{})
	requireCodeGrant(t, s)
	codeClient(t, s, "shop", "")
	_, ch := pkcePair(t)
	b := newBrowser(t, s.URL, nil)
	for _, ru := range []string{"https://app.example/cb/", "https://app.example/cb?x=1", "https://app.example/cb#f", "https://APP.example/cb",
		"http://app.example/cb", "https://app.example:443/cb", "https://app.example.evil/cb", "https://evil.example/cb",
		"https://app.example/cb/../cb", "https://app.example/CB", "https://app.example/cb%20", "https://user@app.example/cb", "//app.example/cb"} {
		for _, method := range []string{"GET", "POST"} {
			var r response
			if method == "GET" {
				r = b.get(authorizeURL("shop", ch, url.Values{"redirect_uri": {ru}}))
			} else {
				u, _ := url.Parse(authorizeURL("shop", ch, url.Values{"redirect_uri": {ru}}))
				r = b.send("POST", "/oauth2/authorize", u.Query(), map[string]string{"Origin": "https://app.example"})
			}
			if r.Status != http.StatusBadRequest || r.Header.Get("Location") != "" || !strings.Contains(string(r.Body), "redirect_uri") {
				t.Errorf("%s redirect_uri %q: %d Location %q", method, ru, r.Status, r.Header.Get("Location"))
			}
		}
	}
}

// TestAS03_UnknownClientStaysOnLatchkey: an unknown or disabled client, or
// a missing client_id, is shown on latchkey's page even with a
// redirect_uri.
func TestAS03_UnknownClientStaysOnLatchkey(t *testing.T) {
	s := startServer(t, server.Config{})
	requireCodeGrant(t, s)
	codeClient(t, s, "off", "")
	if r := s.doJSON(t, http.MethodPatch, "/v1/apps/off", s.Root, `{"disabled":true}`); r.Status != http.StatusOK {
		t.Fatal(r.Status)
	}
	_, ch := pkcePair(t)
	b := newBrowser(t, s.URL, nil)
	for _, id := range []string{"nobody", "off", ""} {
		r := b.get(authorizeURL(id, ch, url.Values{"redirect_uri": {"https://evil.example/cb"}}))
		if r.Status != http.StatusBadRequest || r.Header.Get("Location") != "" {
			t.Errorf("client %q: %d Location %q", id, r.Status, r.Header.Get("Location"))
		}
	}
}

// TestAS13_ResponseTypeTokenRedirected: once the client and its redirect
// URI are known good, response_type=token goes back to the client as
// unsupported_response_type.
func TestAS13_ResponseTypeTokenRedirected(t *testing.T) {
	s := startServer(t, server.Config{})
	requireCodeGrant(t, s)
	codeClient(t, s, "shop", "")
	_, ch := pkcePair(t)
	q := back(t, s, newBrowser(t, s.URL, nil).get(authorizeURL("shop", ch, url.Values{"response_type": {"token"}})))
	if q.Get("error") != "unsupported_response_type" || q.Has("code") {
		t.Errorf("response_type=token: %v", q)
	}
}

// TestAS14_NoCORSAtAuthorize: the authorization endpoint answers no
// cross-origin read: no Access-Control-* headers, preflight or not.
func TestAS14_NoCORSAtAuthorize(t *testing.T) {
	s := startServer(t, server.Config{})
	b := newBrowser(t, s.URL, nil)
	for _, method := range []string{"OPTIONS", "GET", "POST"} {
		r := b.send(method, "/oauth2/authorize?client_id=x", url.Values{}, map[string]string{"Origin": "https://evil.example",
			"Access-Control-Request-Method": "POST"})
		for k := range r.Header {
			if strings.HasPrefix(strings.ToLower(k), "access-control-") {
				t.Errorf("%s /oauth2/authorize: %s: %s", method, k, r.Header.Get(k))
			}
		}
		if r.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s /oauth2/authorize: framing allowed", method)
		}
	}
}

// TestAuthorizeCodeFlow: sign-in, consent, code with state and iss, the
// code redeemed with the verifier; the consent is remembered; the portal
// lists the grant and revoking it there ends the access token.
func TestAuthorizeCodeFlow(t *testing.T) {
	s := startServer(t, server.Config{})
	requireCodeGrant(t, s)
	newUser(t, s, "alice", alicePassword, "orders:read", "orders:write")
	codeClient(t, s, "shop", "")
	rs := createClient(t, s, `{"id":"orders-api","oauth":{"grant_types":["client_credentials"],"audiences":["https://orders.example"]}}`)
	verifier, ch := pkcePair(t)
	b := newBrowser(t, s.URL, nil)
	authz := authorizeURL("shop", ch, nil)
	req := consentPage(t, signInThrough(t, b, authz, "alice", alicePassword), "Shop shop", "orders:read", "read orders", "https://orders.example")
	// A consent form from another site, or without the CSRF token, is refused.
	if r := b.send("POST", "/oauth2/authorize/consent", url.Values{"decision": {"allow"}, "request": {req}, "csrf": {b.csrf}},
		map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}); r.Status != http.StatusForbidden {
		t.Errorf("cross-site consent: %d", r.Status)
	}
	if r := b.post("/oauth2/authorize/consent", url.Values{"decision": {"allow"}, "request": {req}, "csrf": {"x"}}); r.Status != http.StatusForbidden {
		t.Errorf("consent without CSRF token: %d", r.Status)
	}
	q := back(t, s, b.post("/oauth2/authorize/consent", url.Values{"decision": {"allow"}, "request": {req}}))
	a := redeem(t, s, "shop", q.Get("code"), verifier)
	if a.Status != http.StatusOK || a.Token["access_token"] == nil {
		t.Fatalf("redeem: %d %+v", a.Status, a.Problem)
	}
	at := a.Token["access_token"].(string)
	if _, m := introspect(t, s.URL, at, "orders-api", rs.ClientSecret); m["active"] != true || m["sub"] != "user:alice" {
		t.Fatalf("introspect: %v", m)
	}
	// Remembered: the next request goes straight back with a code.
	v2, ch2 := pkcePair(t)
	q2 := back(t, s, b.get(authorizeURL("shop", ch2, nil)))
	a2 := redeem(t, s, "shop", q2.Get("code"), v2)
	if a2.Status != http.StatusOK {
		t.Fatalf("second code: %d %+v", a2.Status, a2.Problem)
	}
	// AS-06: a code redeemed twice fails, and what it gave dies.
	if again := redeem(t, s, "shop", q2.Get("code"), v2); again.Status != http.StatusBadRequest || again.Problem.Error != "invalid_grant" {
		t.Errorf("code redeemed twice: %d %+v", again.Status, again.Problem)
	}
	if _, m := introspect(t, s.URL, a2.Token["access_token"].(string), "orders-api", rs.ClientSecret); m["active"] != false {
		t.Errorf("AS-06: the token of a replayed code: %v", m)
	}
	// prompt=consent asks again; prompt=none with consent given answers at once.
	consentPage(t, b.get(authorizeURL("shop", ch2, url.Values{"prompt": {"consent"}})))
	if q := back(t, s, b.get(authorizeURL("shop", ch2, url.Values{"prompt": {"none"}}))); q.Get("code") == "" {
		t.Errorf("prompt=none, signed in and consented: %v", q)
	}
	// The portal lists the grant; revoking it ends its tokens.
	me := b.get("/ui/me")
	if !strings.Contains(string(me.Body), "Apps you have authorized") || !strings.Contains(string(me.Body), "Shop shop") {
		t.Fatalf("portal: %.500s", me.Body)
	}
	ids := regexp.MustCompile(`action="/ui/me/grants/([^/"]+)/revoke"`).FindAllSubmatch(me.Body, -1)
	if len(ids) != 1 {
		t.Fatalf("portal lists %d grants, want 1 (the replayed code's grant is gone)", len(ids))
	}
	for _, id := range ids {
		if r := b.post("/ui/me/grants/"+string(id[1])+"/revoke", nil); r.Status != http.StatusOK || !strings.Contains(string(r.Body), "revoked") {
			t.Fatalf("revoke in the portal: %d", r.Status)
		}
	}
	if _, m := introspect(t, s.URL, at, "orders-api", rs.ClientSecret); m["active"] != false {
		t.Errorf("access token of a revoked grant: %v", m)
	}
	if me := b.get("/ui/me"); !strings.Contains(string(me.Body), "You have not authorized any app") {
		t.Error("the portal still lists a revoked grant")
	}
	// The last grant gone, the consent is too: the next request asks again.
	consentPage(t, b.get(authorizeURL("shop", ch2, nil)))
}

// TestAuthorizeDenyAndPromptNone: deny sends access_denied back;
// prompt=none without a session is login_required, and without consent
// consent_required — never a page.
func TestAuthorizeDenyAndPromptNone(t *testing.T) {
	s := startServer(t, server.Config{})
	requireCodeGrant(t, s)
	newUser(t, s, "alice", alicePassword, "orders:read")
	codeClient(t, s, "shop", "")
	_, ch := pkcePair(t)
	b := newBrowser(t, s.URL, nil)
	if q := back(t, s, b.get(authorizeURL("shop", ch, url.Values{"prompt": {"none"}}))); q.Get("error") != "login_required" {
		t.Errorf("prompt=none without session: %v", q)
	}
	req := consentPage(t, signInThrough(t, b, authorizeURL("shop", ch, nil), "alice", alicePassword))
	if q := back(t, s, b.get(authorizeURL("shop", ch, url.Values{"prompt": {"none"}}))); q.Get("error") != "consent_required" {
		t.Errorf("prompt=none without consent: %v", q)
	}
	if q := back(t, s, b.post("/oauth2/authorize/consent", url.Values{"decision": {"deny"}, "request": {req}})); q.Get("error") != "access_denied" || q.Has("code") {
		t.Errorf("deny: %v", q)
	}
	// A tampered request field is checked again: another redirect URI is refused on latchkey's page.
	bad, _ := url.ParseQuery(req)
	bad.Set("redirect_uri", "https://evil.example/cb")
	if r := b.post("/oauth2/authorize/consent", url.Values{"decision": {"allow"}, "request": {bad.Encode()}}); r.Status != http.StatusBadRequest || r.Header.Get("Location") != "" {
		t.Errorf("tampered consent form: %d Location %q", r.Status, r.Header.Get("Location"))
	}
}

// TestAuthorizeSkipConsentAndPromptLogin: a first-party app (skip_consent)
// gets its code without a consent page; prompt=login makes a signed-in
// user sign in again, once (no loop).
func TestAuthorizeSkipConsentAndPromptLogin(t *testing.T) {
	s := startServer(t, server.Config{})
	requireCodeGrant(t, s)
	newUser(t, s, "alice", alicePassword, "orders:read")
	codeClient(t, s, "first", `"skip_consent":true`)
	verifier, ch := pkcePair(t)
	b := newBrowser(t, s.URL, nil)
	q := back(t, s, signInThrough(t, b, authorizeURL("first", ch, nil), "alice", alicePassword))
	if a := redeem(t, s, "first", q.Get("code"), verifier); a.Status != http.StatusOK {
		t.Fatalf("redeem: %d %+v", a.Status, a.Problem)
	}
	before := b.cookie("latchkey_session")
	login := authorizeURL("first", ch, url.Values{"prompt": {"login"}})
	q = back(t, s, signInThrough(t, b, login, "alice", alicePassword))
	if q.Get("code") == "" || b.cookie("latchkey_session") == before {
		t.Errorf("prompt=login: %v, session replaced %v", q, b.cookie("latchkey_session") != before)
	}
}
