package server_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/server"
)

// bcReceiver is an app's back-channel logout endpoint: it answers 503 to
// its first failFirst requests, then 200, and hands on every logout token
// it is POSTed.
type bcReceiver struct {
	url    string
	tokens chan string
	calls  atomic.Int32
}

func newBCReceiver(t *testing.T, failFirst int32) *bcReceiver {
	t.Helper()
	rc := &bcReceiver{tokens: make(chan string, 16)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := rc.calls.Add(1)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if n <= failFirst {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		rc.tokens <- r.PostFormValue("logout_token")
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	rc.url = srv.URL + "/backchannel"
	return rc
}

// next waits for the next logout token.
func (rc *bcReceiver) next(t *testing.T) string {
	t.Helper()
	select {
	case tok := <-rc.tokens:
		return tok
	case <-time.After(15 * time.Second):
		t.Fatal("no logout token arrived")
		return ""
	}
}

// ssoApps is a server with two apps, shop and wiki, each with a
// post-logout redirect and a back-channel receiver, and alice signed in
// through one browser.
type ssoApps struct {
	s          *testServer
	b          *browser
	shop, wiki *bcReceiver
	secrets    map[string]string
}

func newSSOApps(t *testing.T, shopFails int32) *ssoApps {
	t.Helper()
	return newSSOAppsRetrying(t, shopFails, []time.Duration{0, 20 * time.Millisecond, 50 * time.Millisecond})
}

// newSSOAppsRetrying is newSSOApps with the given back-channel retry
// schedule.
func newSSOAppsRetrying(t *testing.T, shopFails int32, retries []time.Duration) *ssoApps {
	t.Helper()
	s := startServer(t, server.Config{OAuth: server.OAuthConfig{OutboundAllowPrivate: true, BackchannelRetries: retries}})
	newUser(t, s, "alice", alicePassword)
	a := &ssoApps{s: s, shop: newBCReceiver(t, shopFails), wiki: newBCReceiver(t, 0), secrets: map[string]string{}}
	for id, rc := range map[string]*bcReceiver{"shop": a.shop, "wiki": a.wiki} {
		p := createClient(t, s, `{"id":"`+id+`","name":"`+id+`","oauth":{"redirect_uris":["https://`+id+`.example/cb"],`+
			`"post_logout_redirect_uris":["https://`+id+`.example/bye"],"backchannel_logout_uri":"`+rc.url+`","audiences":["default"]}}`)
		a.secrets[id] = p.ClientSecret
	}
	a.b = newBrowser(t, s.URL, nil)
	a.b.mustLogin("alice", alicePassword)
	return a
}

// signIn runs the code flow of app id with scope openid in browser b and
// returns the ID token's text and claims.
func (a *ssoApps) signIn(t *testing.T, b *browser, id string) (string, map[string]any) {
	t.Helper()
	verifier, challenge := pkce(t)
	back := authorize(t, b, url.Values{"response_type": {"code"}, "client_id": {id}, "redirect_uri": {"https://" + id + ".example/cb"},
		"scope": {"openid"}, "nonce": {"n-" + id}, "state": {"s"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}})
	tk := postToken(t, a.s.URL, url.Values{"grant_type": {"authorization_code"}, "code": {back.Get("code")},
		"redirect_uri": {"https://" + id + ".example/cb"}, "code_verifier": {verifier}}, id, a.secrets[id])
	idt, _ := tk.Token["id_token"].(string)
	if tk.Status != http.StatusOK || idt == "" {
		t.Fatalf("token of %s: %d %v", id, tk.Status, tk.Problem)
	}
	_, c := idTokenClaims(t, a.s.URL, idt)
	return idt, c
}

// checkLogoutToken verifies a logout token against the JWKS with go-jose
// and checks its claims (Back-Channel Logout §2.4): typ logout+jwt, iss,
// aud the app, sub alice, sid as given ("" for none), the event, a jti,
// iat and a 2-minute exp, and no nonce.
func checkLogoutToken(t *testing.T, base, tok, app, sid string) {
	t.Helper()
	typ, c := idTokenClaims(t, base, tok)
	if typ != "logout+jwt" || c["iss"] != base || c["aud"] != app || c["sub"] != "alice" {
		t.Errorf("logout token for %s: typ %q claims %v", app, typ, c)
	}
	if got, _ := c["sid"].(string); got != sid {
		t.Errorf("logout token for %s: sid %q, want %q", app, got, sid)
	}
	ev, _ := c["events"].(map[string]any)
	if _, ok := ev["http://schemas.openid.net/event/backchannel-logout"].(map[string]any); !ok || len(ev) != 1 {
		t.Errorf("logout token for %s: events %v", app, c["events"])
	}
	if _, ok := c["nonce"]; ok {
		t.Errorf("logout token for %s carries a nonce", app)
	}
	iat, _ := c["iat"].(float64)
	exp, _ := c["exp"].(float64)
	if jti, _ := c["jti"].(string); jti == "" || iat == 0 || exp-iat != 120 {
		t.Errorf("logout token for %s: jti %v iat %v exp %v", app, c["jti"], c["iat"], c["exp"])
	}
}

// TestOIDC_RPInitiatedLogout: /oauth2/logout with an ID token of the
// browser's session and a registered post_logout_redirect_uri ends the
// session and redirects with state; an unregistered redirect or a
// tampered hint is an error page without a redirect, and the session
// stays; without a hint (or with another session's) the user confirms
// with a CSRF-protected form; with no session it just redirects.
func TestOIDC_RPInitiatedLogout(t *testing.T) {
	a := newSSOApps(t, 0)
	b := a.b
	idt, claims := a.signIn(t, b, "shop")
	bye := "https://shop.example/bye"
	logout := func(b *browser, q url.Values) response { t.Helper(); return b.get("/oauth2/logout?" + q.Encode()) }

	for name, q := range map[string]url.Values{
		"unregistered redirect":     {"id_token_hint": {idt}, "post_logout_redirect_uri": {"https://evil.example/bye"}, "state": {"x"}},
		"other app's redirect":      {"id_token_hint": {idt}, "post_logout_redirect_uri": {"https://wiki.example/bye"}},
		"redirect with a suffix":    {"id_token_hint": {idt}, "post_logout_redirect_uri": {bye + "/"}},
		"client_id not the aud":     {"id_token_hint": {idt}, "client_id": {"wiki"}, "post_logout_redirect_uri": {"https://wiki.example/bye"}},
		"tampered hint":             {"id_token_hint": {idt[:len(idt)-3] + flip(idt[len(idt)-3:])}, "post_logout_redirect_uri": {bye}},
		"tampered claims":           {"id_token_hint": {tamperPayload(t, idt)}, "post_logout_redirect_uri": {bye}},
		"redirect without a client": {"post_logout_redirect_uri": {bye}},
		"repeated state":            {"id_token_hint": {idt}, "post_logout_redirect_uri": {bye}, "state": {"a", "b"}},
	} {
		if r := logout(b, q); r.Status != http.StatusBadRequest || r.Header.Get("Location") != "" {
			t.Errorf("%s: %d Location %q", name, r.Status, r.Header.Get("Location"))
		}
	}
	if !b.signedIn() {
		t.Fatal("a refused logout request ended the session")
	}

	// Another browser's session: the hint's sid is not its own, so it asks.
	other := newBrowser(t, a.s.URL, nil)
	other.mustLogin("alice", alicePassword)
	r := logout(other, url.Values{"id_token_hint": {idt}, "post_logout_redirect_uri": {bye}, "state": {"st"}})
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `action="/oauth2/logout/confirm"`) || !other.signedIn() {
		t.Fatalf("hint of another session: %d %.300s", r.Status, r.Body)
	}
	if r := other.post("/oauth2/logout/confirm", url.Values{"csrf": {"forged"}, "client_id": {"shop"},
		"post_logout_redirect_uri": {bye}}); r.Status != http.StatusForbidden || !other.signedIn() {
		t.Errorf("confirm with a forged csrf: %d", r.Status)
	}
	if r := other.post("/oauth2/logout/confirm", url.Values{"client_id": {"shop"}, "post_logout_redirect_uri": {"https://evil.example/"}}); r.Status != http.StatusBadRequest || r.Header.Get("Location") != "" {
		t.Errorf("confirm to an unregistered redirect: %d %q", r.Status, r.Header.Get("Location"))
	}
	r = other.post("/oauth2/logout/confirm", url.Values{"client_id": {"shop"}, "post_logout_redirect_uri": {bye}, "state": {"st"}})
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != bye+"?state=st" || other.signedIn() {
		t.Errorf("confirmed logout: %d %q", r.Status, r.Header.Get("Location"))
	}
	if !b.signedIn() {
		t.Fatal("logging out the other browser ended this one's session")
	}

	// The browser's own session: ended at once, back to the app with state.
	q := url.Values{"id_token_hint": {idt}, "post_logout_redirect_uri": {bye}, "state": {"s&t=1"}}
	r = logout(b, q)
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != bye+"?state=s%26t%3D1" {
		t.Fatalf("logout: %d %q %.300s", r.Status, r.Header.Get("Location"), r.Body)
	}
	if b.signedIn() {
		t.Fatal("the session survived the logout")
	}
	if claims["sid"] == nil {
		t.Fatal("the ID token has no sid")
	}
	// No session: straight on, also by POST from the app's site.
	if r := b.send("POST", "/oauth2/logout", q, map[string]string{"Origin": "https://shop.example"}); r.Status != http.StatusSeeOther || r.Header.Get("Location") != bye+"?state=s%26t%3D1" {
		t.Errorf("logout without a session: %d %q", r.Status, r.Header.Get("Location"))
	}
	// No redirect asked for: a signed-out page.
	if r := logout(b, url.Values{"id_token_hint": {idt}}); r.Status != http.StatusOK || !strings.Contains(string(r.Body), "signed out") {
		t.Errorf("logout without a redirect: %d %.200s", r.Status, r.Body)
	}
	// Without a hint a signed-in user confirms.
	b.mustLogin("alice", alicePassword)
	if r := logout(b, url.Values{"client_id": {"shop"}, "post_logout_redirect_uri": {bye}}); r.Status != http.StatusOK ||
		!strings.Contains(string(r.Body), `action="/oauth2/logout/confirm"`) || !b.signedIn() {
		t.Errorf("logout without a hint: %d", r.Status)
	}
	// Discovery names the endpoint.
	md := decodeMap(t, a.s.doJSON(t, http.MethodGet, "/.well-known/openid-configuration", "", "").Body)
	if md["end_session_endpoint"] != a.s.URL+"/oauth2/logout" || md["backchannel_logout_supported"] != true ||
		md["backchannel_logout_session_supported"] != true {
		t.Errorf("discovery: %v %v %v", md["end_session_endpoint"], md["backchannel_logout_supported"], md["backchannel_logout_session_supported"])
	}
}

// flip changes every character of s to another base64url one.
func flip(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
	}
	return string(b)
}

// tamperPayload replaces the payload of a JWT by one with another sid,
// keeping the signature.
func tamperPayload(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatal("not a JWT")
	}
	return parts[0] + "." + flip(parts[1][:4]) + parts[1][4:] + "." + parts[2]
}

// TestOIDC_BackchannelLogout: two apps signed in through one session;
// logging out at one POSTs both a logout token (verified with go-jose
// against the JWKS: typ logout+jwt, the ID tokens' sid, the event, no
// nonce). A logout token is neither an id_token_hint nor an access token
// (JWT-14).
func TestOIDC_BackchannelLogout(t *testing.T) {
	a := newSSOApps(t, 0)
	idtShop, cShop := a.signIn(t, a.b, "shop")
	_, cWiki := a.signIn(t, a.b, "wiki")
	sid, _ := cShop["sid"].(string)
	if sid == "" || cWiki["sid"] != sid {
		t.Fatalf("one session, two sids: %v %v", cShop["sid"], cWiki["sid"])
	}
	r := a.b.get("/oauth2/logout?" + url.Values{"id_token_hint": {idtShop}, "post_logout_redirect_uri": {"https://shop.example/bye"}}.Encode())
	if r.Status != http.StatusSeeOther {
		t.Fatalf("logout: %d %.300s", r.Status, r.Body)
	}
	shopTok, wikiTok := a.shop.next(t), a.wiki.next(t)
	checkLogoutToken(t, a.s.URL, shopTok, "shop", sid)
	checkLogoutToken(t, a.s.URL, wikiTok, "wiki", sid)

	// JWT-14: a logout token is no ID token and no access token.
	b := newBrowser(t, a.s.URL, nil)
	if r := b.get("/oauth2/logout?" + url.Values{"id_token_hint": {shopTok}}.Encode()); r.Status != http.StatusBadRequest {
		t.Errorf("a logout token as id_token_hint: %d", r.Status)
	}
	req, _ := http.NewRequest("GET", a.s.URL+"/oauth2/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+shopTok)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("JWT-14 userinfo with a logout token: %v %v", resp, err)
	}
	if m := decodeMap(t, a.s.doJSON(t, http.MethodPost, "/v1/keys/verify", a.s.Root, `{"key":"`+shopTok+`"}`).Body); m["valid"] != false {
		t.Errorf("JWT-14 verify API took the logout token: %v", m)
	}

	// The portal's "end session" tells the apps too.
	a.b.mustLogin("alice", alicePassword)
	_, c := a.signIn(t, a.b, "wiki")
	a.b.get("/ui/me")
	if r := a.b.post("/ui/me/sessions/"+c["sid"].(string)+"/end", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("end session in the portal: %d", r.Status)
	}
	checkLogoutToken(t, a.s.URL, a.wiki.next(t), "wiki", c["sid"].(string))
	select {
	case tok := <-a.shop.tokens:
		t.Errorf("shop, not signed in through that session, was told: %s", tok[:10])
	default:
	}
}

// TestOIDC_BackchannelLogoutEverywhere: an admin ending all of a user's
// sessions sends logout tokens with sub and without sid.
func TestOIDC_BackchannelLogoutEverywhere(t *testing.T) {
	a := newSSOApps(t, 0)
	a.signIn(t, a.b, "shop")
	other := newBrowser(t, a.s.URL, nil)
	other.mustLogin("alice", alicePassword)
	a.signIn(t, other, "wiki")
	if r := a.s.doJSON(t, http.MethodDelete, "/v1/users/alice/sessions", a.s.Root, ""); r.Status != http.StatusOK {
		t.Fatalf("end sessions: %d %s", r.Status, r.Body)
	}
	checkLogoutToken(t, a.s.URL, a.shop.next(t), "shop", "")
	checkLogoutToken(t, a.s.URL, a.wiki.next(t), "wiki", "")
	if a.b.signedIn() || other.signedIn() {
		t.Error("a session survived")
	}
}

// TestOIDC_SessionsListTheirApps: a user's sessions list the apps each
// one signed in to, in the API (for the user and for an admin) and on
// /ui/me; a session that let no app in lists none.
func TestOIDC_SessionsListTheirApps(t *testing.T) {
	a := newSSOApps(t, 0)
	_, c := a.signIn(t, a.b, "shop")
	a.signIn(t, a.b, "wiki")
	a.signIn(t, a.b, "shop") // twice: listed once
	other := newBrowser(t, a.s.URL, nil)
	other.mustLogin("alice", alicePassword)
	r := a.s.doJSON(t, http.MethodGet, "/v1/users/alice/sessions", a.s.Root, "")
	var l struct {
		Items []struct {
			ID   string `json:"id"`
			Apps []struct {
				ClientID string `json:"client_id"`
				Name     string `json:"name"`
			} `json:"apps"`
		} `json:"items"`
	}
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &l) != nil || len(l.Items) != 2 {
		t.Fatalf("sessions: %d %s", r.Status, r.Body)
	}
	for _, it := range l.Items {
		var ids []string
		for _, app := range it.Apps {
			ids = append(ids, app.ClientID+"="+app.Name)
		}
		want := ""
		if it.ID == c["sid"] {
			want = "shop=shop wiki=wiki"
		}
		if got := strings.Join(ids, " "); got != want {
			t.Errorf("session %s (sid %v): apps %q, want %q", it.ID, c["sid"], got, want)
		}
	}
	page := a.b.get("/ui/me")
	if page.Status != http.StatusOK || !strings.Contains(string(page.Body), `<span class="app">shop</span> <span class="app">wiki</span>`) {
		t.Errorf("/ui/me does not list the session's apps: %d", page.Status)
	}
	if p := other.get("/ui/me"); !strings.Contains(string(p.Body), `<span class="muted">none</span>`) {
		t.Errorf("/ui/me of the session without apps: %d", p.Status)
	}
}

// TestOIDC_BackchannelLogoutUserDisabled: disabling a user ends their
// sessions, and the apps are told (without sid: all of them ended).
func TestOIDC_BackchannelLogoutUserDisabled(t *testing.T) {
	a := newSSOApps(t, 0)
	a.signIn(t, a.b, "wiki")
	if r := a.s.doJSON(t, http.MethodPatch, "/v1/users/alice", a.s.Root, `{"disabled":true}`); r.Status != http.StatusOK {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}
	checkLogoutToken(t, a.s.URL, a.wiki.next(t), "wiki", "")
}

// TestOIDC_BackchannelLogoutRetried: a receiver that is down at first
// gets the logout token from a retry.
func TestOIDC_BackchannelLogoutRetried(t *testing.T) {
	a := newSSOApps(t, 2)
	_, c := a.signIn(t, a.b, "shop")
	a.b.get("/ui/me")
	if r := a.b.post("/logout", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("logout: %d", r.Status)
	}
	checkLogoutToken(t, a.s.URL, a.shop.next(t), "shop", c["sid"].(string))
	if n := a.shop.calls.Load(); n != 3 {
		t.Errorf("%d deliveries, want 3 (two refused, one taken)", n)
	}
}

// TestOIDC_BackchannelLogoutDrainedAtShutdown: a logout token waiting
// for its retry when the server shuts down is tried once more at once,
// not dropped with the process (the retry is an hour away here).
func TestOIDC_BackchannelLogoutDrainedAtShutdown(t *testing.T) {
	a := newSSOAppsRetrying(t, 1, []time.Duration{0, time.Hour})
	_, c := a.signIn(t, a.b, "shop")
	if r := a.b.post("/logout", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("logout: %d", r.Status)
	}
	for deadline := time.Now().Add(10 * time.Second); a.shop.calls.Load() < 1; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the first delivery never came")
		}
	}
	start := time.Now()
	if err := a.s.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	select {
	case tok := <-a.shop.tokens:
		// The server is gone, and its JWKS with it; the other tests check
		// signatures. This is the token of this session.
		parts := strings.Split(tok, ".")
		raw, _ := base64.RawURLEncoding.DecodeString(parts[min(1, len(parts)-1)])
		var lc map[string]any
		if json.Unmarshal(raw, &lc) != nil || lc["sid"] != c["sid"] || lc["aud"] != "shop" {
			t.Errorf("logout token at shutdown: %s", raw)
		}
	default:
		t.Fatalf("shutdown did not deliver the waiting logout token (%d calls)", a.shop.calls.Load())
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("shutdown took %v", d)
	}
}
