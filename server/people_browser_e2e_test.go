package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/internal/browsertest"
	"github.com/latchkey/latchkey/server"
)

// The tests of this file drive latchkey's sign-in pages and portal in a
// real headless Chromium (internal/browsertest). The server listens on
// 127.0.0.1; the browser opens it as http://localhost:PORT, the origin
// the default WebAuthn relying party ("localhost") accepts.

// browserServer is a latchkey for a browser test and its page origin.
type browserServer struct {
	*testServer
	Origin string // http://localhost:PORT
}

func startBrowserServer(t *testing.T) *browserServer {
	t.Helper()
	s := startServer(t, server.Config{})
	u, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	return &browserServer{testServer: s, Origin: "http://localhost:" + u.Port()}
}

// bobPassword is a password the policy accepts; it is no secret.
const bobPassword = "correct horse battery staple 7"

// newUser creates user id with a password through the API.
func (s *browserServer) newUser(t *testing.T, id string) {
	t.Helper()
	if r := s.doJSON(t, "POST", "/v1/users", s.Root, `{"id":"`+id+`"}`); r.Status != http.StatusCreated {
		t.Fatalf("create user %s: %d %.300s", id, r.Status, r.Body)
	}
	if r := s.doJSON(t, "PUT", "/v1/users/"+id+"/password", s.Root, `{"password":"`+bobPassword+`"}`); r.Status/100 != 2 {
		t.Fatalf("set password of %s: %d %.300s", id, r.Status, r.Body)
	}
}

// enrolTOTP turns TOTP on for id through the API with the code of the
// current step and returns the secret.
func (s *browserServer) enrolTOTP(t *testing.T, id string) string {
	t.Helper()
	r := s.doJSON(t, "POST", "/v1/users/"+id+"/totp", s.Root, "")
	if r.Status/100 != 2 {
		t.Fatalf("enrol TOTP: %d %.300s", r.Status, r.Body)
	}
	var e api.TOTPEnrollment
	if err := json.Unmarshal(r.Body, &e); err != nil || e.Secret == "" {
		t.Fatalf("enrolment answer: %v", err)
	}
	code := totpCode(t, e.Secret, time.Now())
	if r := s.doJSON(t, "POST", "/v1/users/"+id+"/totp/confirm", s.Root, `{"code":"`+code+`"}`); r.Status/100 != 2 {
		t.Fatalf("confirm TOTP: %d %.300s", r.Status, r.Body)
	}
	return e.Secret
}

// totpCode is the code of secret at time at.
func totpCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, at)
	if err != nil {
		t.Fatalf("generate TOTP code: %v", err)
	}
	return c
}

// nextCode is a code that latchkey accepts once after the code of the
// current step was used: the next step's, within the ±1 step of skew.
func nextCode(t *testing.T, secret string) string {
	t.Helper()
	return totpCode(t, secret, time.Now().Add(30*time.Second))
}

func (s *browserServer) factors(t *testing.T, id string) api.Factors {
	t.Helper()
	r := s.doJSON(t, "GET", "/v1/users/"+id+"/factors", s.Root, "")
	if r.Status != http.StatusOK {
		t.Fatalf("factors of %s: %d %.300s", id, r.Status, r.Body)
	}
	var f api.Factors
	if err := json.Unmarshal(r.Body, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

// sessionMethods returns the factor methods of each session of id.
func (s *browserServer) sessionMethods(t *testing.T, id string) [][]string {
	t.Helper()
	r := s.doJSON(t, "GET", "/v1/users/"+id+"/sessions", s.Root, "")
	if r.Status != http.StatusOK {
		t.Fatalf("sessions of %s: %d %.300s", id, r.Status, r.Body)
	}
	var l api.SessionList
	if err := json.Unmarshal(r.Body, &l); err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for _, sess := range l.Items {
		var m []string
		for _, f := range sess.Factors {
			m = append(m, f.Method)
		}
		slices.Sort(m)
		out = append(out, m)
	}
	return out
}

// wantSessionFactors checks that id has exactly one session, whose factors
// are want (sorted).
func (s *browserServer) wantSessionFactors(t *testing.T, id string, want ...string) {
	t.Helper()
	slices.Sort(want)
	got := s.sessionMethods(t, id)
	if len(got) != 1 || !slices.Equal(got[0], want) {
		t.Fatalf("sessions of %s have factors %v, want one session with %v", id, got, want)
	}
}

// openBrowser opens a browser and a tab that accepts confirm dialogs.
func openBrowser(t *testing.T) (*browsertest.Browser, *browsertest.Tab) {
	t.Helper()
	b := browsertest.New(t)
	tab := b.NewTab(t)
	tab.AcceptDialogs()
	return b, tab
}

// passwordSignIn fills the sign-in form the tab shows and submits it.
func passwordSignIn(t *testing.T, tab *browsertest.Tab, user string) {
	t.Helper()
	tab.WaitVisible(`input[name="username"]`)
	tab.Fill("username", user)
	tab.Fill("password", bobPassword)
	tab.ClickAndWaitLoad(`form[action="/login"] button[type="submit"]`)
}

// wantAt checks that the tab shows origin+path.
func wantAt(t *testing.T, tab *browsertest.Tab, origin, path string) {
	t.Helper()
	if got := tab.URL(); got != origin+path {
		t.Fatalf("browser is at %s, want %s", got, origin+path)
	}
}

// wantSignedInAs checks that the tab shows /ui/me of user.
func wantSignedInAs(t *testing.T, tab *browsertest.Tab, origin, user string) {
	t.Helper()
	wantAt(t, tab, origin, "/ui/me")
	if got := tab.Text("h2#who"); got != user {
		t.Fatalf("portal shows %q, want %q", got, user)
	}
	if got := tab.Text("header strong"); got != user {
		t.Fatalf("header says signed in as %q, want %q", got, user)
	}
}

// passkeyWait bounds a passkey ceremony: two fetches and a virtual
// authenticator, well under a second when all goes well.
const passkeyWait = 20 * time.Second

// waitPasskeyNavigation clicks the passkey button selector and waits for
// the page the ceremony's script then loads, which must be origin+wantPath;
// if none loads, it reports the #passkey-status text.
func waitPasskeyNavigation(t *testing.T, tab *browsertest.Tab, selector, wantPath, origin string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab.Context(), passkeyWait)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(selector))))
	if err != nil {
		st := browsertest.Eval[string](tab, `(document.getElementById("passkey-status")||{}).textContent||""`)
		t.Fatalf("passkey %s: no page loaded (%v); status %q", selector, err, st)
	}
	wantAt(t, tab, origin, wantPath)
}

// passkeyStatus waits until #passkey-status shows the ceremony's end
// ("Done." or "Passkey failed: …") and returns it.
func passkeyStatus(t *testing.T, tab *browsertest.Tab) string {
	t.Helper()
	st, err := chromedp.Run(tab.Context(), chromedp.Poll[string](`(() => { const s = document.getElementById("passkey-status");
		return s && (s.textContent.startsWith("Passkey failed") || s.textContent === "Done.") ? s.textContent : ""; })()`,
		chromedp.WithPollingMutation(), chromedp.WithPollingTimeout(passkeyWait)))
	if err != nil {
		t.Fatalf("wait for the passkey status: %v", err)
	}
	return st
}

// addAuthenticator gives the tab a virtual passkey authenticator.
func addAuthenticator(t *testing.T, b *browsertest.Browser, tab *browsertest.Tab) webauthn.AuthenticatorID {
	t.Helper()
	id, err := b.AddVirtualAuthenticator(tab.Context())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// registerPasskey adds a passkey named name on the portal the tab shows.
func registerPasskey(t *testing.T, tab *browsertest.Tab, origin, name string) {
	t.Helper()
	tab.Fill("passkey-name", name)
	waitPasskeyNavigation(t, tab, `button[data-passkey="register"]`, "/ui/me", origin)
	tab.WaitVisible("table")
	if got := tab.Text(`section[aria-labelledby="factors"] table tbody td`); got != name {
		t.Fatalf("portal lists passkey %q, want %q", got, name)
	}
}

// signOut clicks "Sign out" in the header and checks the browser is on /login.
func signOut(t *testing.T, tab *browsertest.Tab, origin string) {
	t.Helper()
	tab.ClickAndWaitLoad(`header form[action="/logout"] button`)
	wantAt(t, tab, origin, "/login")
}

// wantClean checks that the tab recorded no CSP violation and no console
// error, but the failed loads of the URLs in expected (pages the test
// wanted refused: the browser logs each non-2xx document as an error).
func wantClean(t *testing.T, tab *browsertest.Tab, expected ...string) {
	t.Helper()
	tab.AssertNoCSPViolations()
	for _, e := range tab.ConsoleErrors() {
		if e.Source == "network" && slices.Contains(expected, e.URL) {
			continue
		}
		t.Errorf("console error: %s", e)
	}
}

// TestBrowserPasswordTOTPPasskey signs in with password and TOTP, checks
// the session cookie's flags, adds a passkey, signs out and signs in again
// with the passkey alone.
func TestBrowserPasswordTOTPPasskey(t *testing.T) {
	s := startBrowserServer(t)
	s.newUser(t, "alice")
	secret := s.enrolTOTP(t, "alice")
	b, tab := openBrowser(t)

	tab.Navigate(s.Origin + "/ui/me")
	wantAt(t, tab, s.Origin, "/login?return_to=/ui/me")
	passwordSignIn(t, tab, "alice")
	wantAt(t, tab, s.Origin, "/login/verify?return_to=%2Fui%2Fme")
	tab.Fill("otp", nextCode(t, secret))
	tab.ClickAndWaitLoad(`form[action="/login/verify"] button[type="submit"]`)
	wantSignedInAs(t, tab, s.Origin, "alice")
	s.wantSessionFactors(t, "alice", "otp", "pwd")

	c := tab.Cookie("latchkey_session")
	if c == nil {
		t.Fatal("no latchkey_session cookie")
	}
	if !c.HTTPOnly || c.SameSite != network.CookieSameSiteLax || c.Path != "/" {
		t.Errorf("latchkey_session: HttpOnly %v, SameSite %q, Path %q; want HttpOnly, Lax, /", c.HTTPOnly, c.SameSite, c.Path)
	}
	if tab.Cookie("latchkey_signin") != nil {
		t.Error("the pending sign-in cookie outlived the sign-in")
	}
	if dc := browsertest.Eval[string](tab, `document.cookie`); strings.Contains(dc, "latchkey_") {
		t.Errorf("document.cookie shows latchkey cookies: %d bytes", len(dc))
	}
	wantClean(t, tab)

	addAuthenticator(t, b, tab)
	registerPasskey(t, tab, s.Origin, "work laptop")
	if f := s.factors(t, "alice"); len(f.Passkeys) != 1 || f.Passkeys[0].Name != "work laptop" {
		t.Fatalf("factors list passkeys %+v, want one named work laptop", f.Passkeys)
	}

	signOut(t, tab, s.Origin)
	if got := s.sessionMethods(t, "alice"); len(got) != 0 {
		t.Fatalf("sessions after sign-out: %v", got)
	}
	waitPasskeyNavigation(t, tab, `button[data-passkey="login"]`, "/ui/me", s.Origin)
	wantSignedInAs(t, tab, s.Origin, "alice")
	s.wantSessionFactors(t, "alice", "passkey")
	wantClean(t, tab)
}

// TestBrowserPasskeyAsSecondFactor signs in with a password and then a
// passkey instead of a TOTP code.
func TestBrowserPasskeyAsSecondFactor(t *testing.T) {
	s := startBrowserServer(t)
	s.newUser(t, "alice")
	b, tab := openBrowser(t)
	addAuthenticator(t, b, tab)

	tab.Navigate(s.Origin + "/login")
	passwordSignIn(t, tab, "alice")
	wantSignedInAs(t, tab, s.Origin, "alice")
	registerPasskey(t, tab, s.Origin, "phone")
	signOut(t, tab, s.Origin)

	passwordSignIn(t, tab, "alice")
	wantAt(t, tab, s.Origin, "/login/verify")
	waitPasskeyNavigation(t, tab, `button[data-passkey="second"]`, "/ui/me", s.Origin)
	wantSignedInAs(t, tab, s.Origin, "alice")
	s.wantSessionFactors(t, "alice", "passkey", "pwd")
	wantClean(t, tab)
}

// TestADM05_BrowserUserVerificationRequired: an authenticator that clears
// the UV flag is refused by latchkey itself, at registration and at
// sign-in, though the browser lets the ceremony through.
func TestADM05_BrowserUserVerificationRequired(t *testing.T) {
	s := startBrowserServer(t)
	s.newUser(t, "alice")
	b, tab := openBrowser(t)
	auth := addAuthenticator(t, b, tab)

	tab.Navigate(s.Origin + "/login")
	passwordSignIn(t, tab, "alice")
	wantSignedInAs(t, tab, s.Origin, "alice")

	if err := b.SetBadUV(tab.Context(), auth, true); err != nil {
		t.Fatal(err)
	}
	tab.Fill("passkey-name", "no uv")
	tab.Click(`button[data-passkey="register"]`)
	if st := passkeyStatus(t, tab); !strings.HasPrefix(st, "Passkey failed") {
		t.Fatalf("registration without UV: status %q, want a failure", st)
	}
	if f := s.factors(t, "alice"); len(f.Passkeys) != 0 {
		t.Fatalf("a passkey without user verification was stored: %+v", f.Passkeys)
	}

	// A passkey registered properly, then used without UV.
	if err := b.SetBadUV(tab.Context(), auth, false); err != nil {
		t.Fatal(err)
	}
	tab.Navigate(s.Origin + "/ui/me")
	registerPasskey(t, tab, s.Origin, "good")
	signOut(t, tab, s.Origin)
	if err := b.SetBadUV(tab.Context(), auth, true); err != nil {
		t.Fatal(err)
	}
	tab.Click(`button[data-passkey="login"]`)
	if st := passkeyStatus(t, tab); !strings.HasPrefix(st, "Passkey failed") {
		t.Fatalf("sign-in without UV: status %q, want a failure", st)
	}
	wantAt(t, tab, s.Origin, "/login")
	if tab.Cookie("latchkey_session") != nil {
		t.Fatal("sign-in without UV set a session cookie")
	}
	if got := s.sessionMethods(t, "alice"); len(got) != 0 {
		t.Fatalf("sign-in without UV made sessions %v", got)
	}
}

// TestBrowserStepUp: a session fresh from a passkey may remove it; a
// session of a password alone must confirm a second factor before making
// new recovery codes.
func TestBrowserStepUp(t *testing.T) {
	s := startBrowserServer(t)

	t.Run("fresh passkey removes a passkey", func(t *testing.T) {
		s.newUser(t, "alice")
		b, tab := openBrowser(t)
		addAuthenticator(t, b, tab)
		tab.Navigate(s.Origin + "/login")
		passwordSignIn(t, tab, "alice")
		registerPasskey(t, tab, s.Origin, "laptop")
		signOut(t, tab, s.Origin)
		passwordSignIn(t, tab, "alice")
		waitPasskeyNavigation(t, tab, `button[data-passkey="second"]`, "/ui/me", s.Origin)

		tab.ClickAndWaitLoad(`form[action$="/delete"][action*="/passkeys/"] button`)
		if got := tab.Text(`p.notice[role="status"]`); got != "The passkey was removed." {
			t.Fatalf("notice %q after removing the passkey", got)
		}
		if f := s.factors(t, "alice"); len(f.Passkeys) != 0 {
			t.Fatalf("passkeys left: %+v", f.Passkeys)
		}
		wantClean(t, tab)
	})

	t.Run("password session confirms TOTP first", func(t *testing.T) {
		s.newUser(t, "bob")
		_, tab := openBrowser(t)
		tab.Navigate(s.Origin + "/login")
		passwordSignIn(t, tab, "bob")
		wantSignedInAs(t, tab, s.Origin, "bob")

		tab.ClickAndWaitLoad(`form[action="/ui/me/totp"] button`)
		key := tab.Text(`.card p code`)
		tab.Fill("code", totpCode(t, key, time.Now()))
		tab.ClickAndWaitLoad(`form[action="/ui/me/totp/confirm"] button`)
		wantCodesPage(t, tab, s.Origin+"/ui/me/totp/confirm")
		if f := s.factors(t, "bob"); f.TOTP != "active" || f.RecoveryCodesLeft != 10 {
			t.Fatalf("factors after enrolment: TOTP %q, %d recovery codes", f.TOTP, f.RecoveryCodesLeft)
		}

		tab.Navigate(s.Origin + "/ui/me")
		tab.ClickAndWaitLoad(`form[action="/ui/me/recovery-codes"] button`)
		if d := tab.LastDocument(s.Origin + "/ui/me/recovery-codes"); d.Status != http.StatusForbidden {
			t.Fatalf("new recovery codes without step-up: status %d, want 403", d.Status)
		}
		if got := tab.Text("h1"); got != "Confirm it is you" {
			t.Fatalf("page %q, want the step-up page", got)
		}
		tab.Fill("otp", nextCode(t, key))
		tab.ClickAndWaitLoad(`form[action="/ui/me/step-up"] button`)
		if got := tab.Text(`p.notice[role="status"]`); !strings.HasPrefix(got, "Confirmed.") {
			t.Fatalf("notice %q after step-up", got)
		}
		tab.ClickAndWaitLoad(`form[action="/ui/me/recovery-codes"] button`)
		wantCodesPage(t, tab, s.Origin+"/ui/me/recovery-codes")
		wantClean(t, tab, s.Origin+"/ui/me/recovery-codes")
	})
}

// wantCodesPage checks that the tab shows 10 recovery codes, answered
// with Cache-Control: no-store.
func wantCodesPage(t *testing.T, tab *browsertest.Tab, url string) {
	t.Helper()
	if got := tab.Text("h1"); got != "Your recovery codes" {
		t.Fatalf("page %q, want the recovery codes", got)
	}
	if n := browsertest.Eval[int](tab, `document.querySelectorAll("ul.codes li code").length`); n != 10 {
		t.Fatalf("%d recovery codes shown, want 10", n)
	}
	d := tab.LastDocument(url)
	if d.Status != http.StatusOK || d.Header["Cache-Control"] != "no-store" {
		t.Fatalf("codes page: status %d, Cache-Control %q; want 200, no-store", d.Status, d.Header["Cache-Control"])
	}
}

// TestBrowserReturnToStaysOnSite: a return_to to another site lands the
// browser on latchkey's portal instead.
func TestBrowserReturnToStaysOnSite(t *testing.T) {
	s := startBrowserServer(t)
	s.newUser(t, "alice")
	_, tab := openBrowser(t)
	for _, rt := range []string{"//evil.example", "https://evil.example", "/\\evil.example", "%2F%2Fevil.example"} {
		tab.Navigate(s.Origin + "/login?return_to=" + rt)
		passwordSignIn(t, tab, "alice")
		wantSignedInAs(t, tab, s.Origin, "alice")
		signOut(t, tab, s.Origin)
	}
	// The control: a return_to on the site is followed, so the landings
	// above are refusals, not a return_to ignored.
	tab.Navigate(s.Origin + "/login?return_to=" + url.QueryEscape("/ui/me?from=login"))
	passwordSignIn(t, tab, "alice")
	wantAt(t, tab, s.Origin, "/ui/me?from=login")
	wantClean(t, tab)
}

// otherSite serves pages from another origin (127.0.0.1, not localhost).
func otherSite(t *testing.T, pages map[string]string) string {
	t.Helper()
	mux := http.NewServeMux()
	for path, body := range pages {
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(w, "<!doctype html><html><head><title>other</title></head><body>"+body+"</body></html>")
		})
	}
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestBrowserCSRFAndFraming: forms posted from another site are refused
// and the session lives on; latchkey's pages do not render in another
// site's frame.
func TestBrowserCSRFAndFraming(t *testing.T) {
	s := startBrowserServer(t)
	s.newUser(t, "alice")
	autoPost := func(action string) string {
		return `<form id="f" method="post" action="` + s.Origin + action + `"><input name="new" value="attacker-chosen-pw-1">` +
			`<input name="confirm" value="attacker-chosen-pw-1"><input name="csrf" value="x"></form>` +
			`<script>document.getElementById("f").submit()</script>`
	}
	other := otherSite(t, map[string]string{
		"/logout":   autoPost("/logout"),
		"/password": autoPost("/ui/me/password"),
		"/frame":    `<iframe id="fr" src="` + s.Origin + `/login"></iframe>`,
	})
	_, tab := openBrowser(t)
	tab.Navigate(s.Origin + "/login")
	passwordSignIn(t, tab, "alice")
	wantSignedInAs(t, tab, s.Origin, "alice")

	for _, c := range []struct{ page, target string }{{"/logout", "/logout"}, {"/password", "/ui/me/password"}} {
		tab.Navigate(other + c.page)
		tab.WaitVisible("h1")
		wantAt(t, tab, s.Origin, c.target)
		if d := tab.LastDocument(s.Origin + c.target); d.Status != http.StatusForbidden {
			t.Fatalf("cross-site POST %s: status %d, want 403", c.target, d.Status)
		}
		tab.Navigate(s.Origin + "/ui/me")
		wantSignedInAs(t, tab, s.Origin, "alice")
	}
	s.wantSessionFactors(t, "alice", "pwd")
	// The password did not change: it still signs in.
	signOut(t, tab, s.Origin)
	passwordSignIn(t, tab, "alice")
	wantSignedInAs(t, tab, s.Origin, "alice")

	framer := browsertest.New(t).NewTab(t)
	framer.Navigate(other + "/frame")
	// The top page's load event waits for the frame's (error) load, and the
	// report of the block is logged before it.
	var blocked bool
	for _, e := range framer.CSPViolations() {
		if strings.Contains(e.Text, "frame-ancestors 'none'") && strings.Contains(e.Text, s.Origin) {
			blocked = true
		}
	}
	if !blocked {
		t.Fatalf("no report of latchkey's page being blocked in a frame; console: %v", framer.Console())
	}
	wantAt(t, framer, other, "/frame")
}

// TestFaviconNoContent: the icon browsers ask for on every page is an
// empty answer, not a 404 that each page would log as an error.
func TestFaviconNoContent(t *testing.T) {
	s := startServer(t, server.Config{})
	r := s.do(t, "GET", "/favicon.ico", "", "", nil)
	if r.Status != http.StatusNoContent || len(r.Body) != 0 {
		t.Fatalf("GET /favicon.ico: %d with %d bytes, want 204 and none", r.Status, len(r.Body))
	}
}
