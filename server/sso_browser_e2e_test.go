package server_test

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/browsertest"
	"github.com/latchkey/latchkey/server"
)

// ssoApp is one running examples/sso-app process.
type ssoApp struct {
	URL  string // http://127.0.0.1:PORT
	Logs *syncBuffer
}

// buildSSOApp builds examples/sso-app into a temporary directory.
func buildSSOApp(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "sso-app")
	cmd := exec.Command("go", "build", "-o", bin, "../examples/sso-app")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./examples/sso-app: %v\n%s", err, out)
	}
	return bin
}

// startSSOApp runs bin as app clientID of latchkey at issuer on a free
// loopback port, waits until it answers, and stops it when t ends.
func startSSOApp(t *testing.T, bin, issuer, clientID, secret, addr string) *ssoApp {
	t.Helper()
	a := &ssoApp{URL: "http://" + addr, Logs: &syncBuffer{}}
	cmd := exec.Command(bin, "-issuer", issuer, "-client-id", clientID, "-listen", addr)
	cmd.Env = append(os.Environ(), "SSO_CLIENT_SECRET="+secret)
	cmd.Stdout, cmd.Stderr = a.Logs, a.Logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(a.URL + "/")
		if err == nil {
			resp.Body.Close()
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("sso-app %s did not answer at %s: %v\n%s", clientID, a.URL, err, a.Logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitLog waits until the app's output contains s.
func (a *ssoApp) waitLog(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(a.Logs.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("sso-app at %s never logged %q:\n%s", a.URL, s, a.Logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freeAddr returns a loopback address nobody listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestSSOExampleAppsChromium is the README's "Put two apps behind single
// sign-on", in a real Chromium: two processes of examples/sso-app, shop
// and wiki, registered with a post-logout redirect and a loopback
// back-channel logout URI (allowed by OutboundAllowPrivate). alice signs
// in at shop with her password; wiki then signs her in without any
// latchkey page (no /login on the way); signing out at shop ends
// latchkey's session (RP-initiated logout with id_token_hint and state,
// back at shop's /signed-out); wiki receives a logout token it verifies
// (signature, typ, iss, aud, events, sid) and its page shows her signed
// out. An ID token latchkey issued to wiki (signed, right aud) is no
// logout token: the receiver answers 400 and ends nothing; so do an
// empty, a malformed and an unsigned token.
func TestSSOExampleAppsChromium(t *testing.T) {
	browsertest.ExecPath(t) // fails, not skips, under LATCHKEY_TEST_REQUIRE_SERVICES=1
	bin := buildSSOApp(t)
	s := startServer(t, server.Config{OAuth: server.OAuthConfig{OutboundAllowPrivate: true,
		BackchannelRetries: []time.Duration{0, 100 * time.Millisecond, 500 * time.Millisecond}}})
	newUser(t, s, "alice", alicePassword)
	if r := s.doJSON(t, "PATCH", "/v1/users/alice", s.Root, `{"name":"Alice Smith"}`); r.Status != http.StatusOK {
		t.Fatalf("set alice's name: %d %.300s", r.Status, r.Body)
	}
	apps, secrets := map[string]*ssoApp{}, map[string]string{}
	for _, id := range []string{"shop", "wiki"} {
		addr := freeAddr(t)
		base := "http://" + addr
		p := createClient(t, s, `{"id":"`+id+`","name":"`+id+`","oauth":{"redirect_uris":["`+base+`/callback"],`+
			`"post_logout_redirect_uris":["`+base+`/signed-out"],"backchannel_logout_uri":"`+base+`/backchannel-logout",`+
			`"skip_consent":true}}`)
		apps[id], secrets[id] = startSSOApp(t, bin, s.URL, id, p.ClientSecret, addr), p.ClientSecret
	}
	shop, wiki := apps["shop"], apps["wiki"]

	_, tab := openBrowser(t)
	status := func(app *ssoApp) string {
		t.Helper()
		tab.Navigate(app.URL + "/")
		return tab.Text("#status")
	}
	if got := status(shop); got != "Not signed in" {
		t.Fatalf("shop before sign-in: %q", got)
	}
	// Shop: the sign-in link leads to latchkey's password form and back.
	tab.ClickAndWaitLoad("#login")
	if u := tab.URL(); !strings.HasPrefix(u, s.URL+"/login") {
		t.Fatalf("shop's sign-in link led to %s, want latchkey's /login", u)
	}
	tab.Fill("username", "alice")
	tab.Fill("password", alicePassword)
	tab.ClickAndWaitLoad(`form[action="/login"] button[type="submit"]`)
	wantAt(t, tab, shop.URL, "/")
	if got := tab.Text("#status"); got != "Signed in as Alice Smith" {
		t.Fatalf("shop after sign-in: %q\n%s", got, shop.Logs)
	}

	// Wiki: one click, no latchkey page in between.
	before := len(tab.Documents())
	if got := status(wiki); got != "Not signed in" {
		t.Fatalf("wiki before its sign-in: %q", got)
	}
	tab.ClickAndWaitLoad("#login")
	wantAt(t, tab, wiki.URL, "/")
	if got := tab.Text("#status"); got != "Signed in as Alice Smith" {
		t.Fatalf("wiki after single sign-on: %q\n%s", got, wiki.Logs)
	}
	for _, d := range tab.Documents()[before:] {
		if strings.HasPrefix(d.URL, s.URL+"/") && d.Status == http.StatusOK {
			t.Errorf("single sign-on at wiki showed latchkey's page %s", d.URL)
		}
	}

	// An ID token of wiki, signed by latchkey, is not a logout token:
	// wiki's receiver refuses it (typ, events, nonce) and logs no one out.
	if code := postLogoutToken(t, wiki, wikiIDToken(t, s, wiki, secrets["wiki"])); code != http.StatusBadRequest {
		t.Errorf("back-channel logout with an ID token: %d, want 400", code)
	}
	if got := status(wiki); got != "Signed in as Alice Smith" {
		t.Fatalf("wiki after a refused logout token: %q", got)
	}

	// Sign out at shop: RP-initiated logout, back at shop's post-logout page.
	if got := status(shop); got != "Signed in as Alice Smith" {
		t.Fatalf("shop lost its session: %q", got)
	}
	tab.ClickAndWaitLoad("#logout")
	if u, err := url.Parse(tab.URL()); err != nil || "http://"+u.Host+u.Path != shop.URL+"/signed-out" || u.Query().Get("state") == "" {
		t.Fatalf("after shop's sign-out the browser is at %s, want %s/signed-out?state=…", tab.URL(), shop.URL)
	}
	if got := tab.Text("#status"); got != "You are signed out." {
		t.Fatalf("shop's post-logout page: %q", got)
	}
	// Wiki heard of it over the back channel and ended its session.
	wiki.waitLog(t, "back-channel logout: sub=alice sid=")
	if !strings.Contains(wiki.Logs.String(), "ended 1 session(s)") {
		t.Fatalf("wiki's back-channel logout ended no session:\n%s", wiki.Logs)
	}
	if got := status(wiki); got != "Not signed in" {
		t.Fatalf("wiki after the logout at shop: %q", got)
	}
	// And latchkey's session is gone: signing in at wiki asks again.
	tab.ClickAndWaitLoad("#login")
	if u := tab.URL(); !strings.HasPrefix(u, s.URL+"/login") {
		t.Fatalf("after logout, wiki's sign-in led to %s, want latchkey's /login", u)
	}

	// The receiver refuses what is not a logout token of latchkey.
	for name, tok := range map[string]string{"empty": "", "garbage": "a.b.c",
		"unsigned": "eyJhbGciOiJub25lIiwidHlwIjoibG9nb3V0K2p3dCJ9.eyJzdWIiOiJhbGljZSJ9."} {
		if code := postLogoutToken(t, wiki, tok); code != http.StatusBadRequest {
			t.Errorf("back-channel logout with a %s token: %d, want 400", name, code)
		}
	}
}

// wikiIDToken signs alice in on a browser of its own and returns an ID
// token latchkey issued to app (code flow with nonce at its /callback).
func wikiIDToken(t *testing.T, s *testServer, app *ssoApp, secret string) string {
	t.Helper()
	b := newBrowser(t, s.URL, nil)
	b.mustLogin("alice", alicePassword)
	verifier, challenge := pkce(t)
	back := authorize(t, b, url.Values{"response_type": {"code"}, "client_id": {"wiki"}, "redirect_uri": {app.URL + "/callback"},
		"scope": {"openid"}, "nonce": {"n"}, "state": {"s"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}})
	tk := postToken(t, s.URL, url.Values{"grant_type": {"authorization_code"}, "code": {back.Get("code")},
		"redirect_uri": {app.URL + "/callback"}, "code_verifier": {verifier}}, "wiki", secret)
	idt, _ := tk.Token["id_token"].(string)
	if tk.Status != http.StatusOK || idt == "" {
		t.Fatalf("wiki's token: %d %v", tk.Status, tk.Problem)
	}
	return idt
}

// postLogoutToken POSTs tok to app's back-channel logout receiver and
// returns the status.
func postLogoutToken(t *testing.T, app *ssoApp, tok string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", app.URL+"/backchannel-logout",
		strings.NewReader(url.Values{"logout_token": {tok}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
