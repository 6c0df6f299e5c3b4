package server_test

import (
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/internal/browsertest"
)

// grantClipboard lets the tab's page read and write the clipboard, so a
// test can check what a copy button copied.
func grantClipboard(t *testing.T, tab *browsertest.Tab, origin string) {
	t.Helper()
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := chromedp.CallBrowser(tab.Context(), cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission: &cdpbrowser.PermissionDescriptor{Name: name}, Setting: "granted", Origin: origin}); err != nil {
			t.Fatalf("grant %s: %v", name, err)
		}
	}
}

// fillTokenForm fills /ui/me's create form: a name and the scopes.
func fillTokenForm(t *testing.T, tab *browsertest.Tab, name string, scopes ...string) {
	t.Helper()
	if err := chromedp.Do(tab.Context(), chromedp.Clear(chromedp.CSS("#token-name")), chromedp.SendKeys(chromedp.CSS("#token-name"), name)); err != nil {
		t.Fatal(err)
	}
	for _, sc := range scopes {
		tab.Click(`input[name="scope"][value="` + sc + `"]`)
	}
}

// TestBrowserPortalTokens: a user signs in, adds a passkey, creates a
// personal access token — asked first for a step-up, which they give with
// the passkey — copies it from the show-once page and the API verifies it
// with the scopes chosen; an administrator narrows the user's permissions
// through the API; the user signs in again with the passkey alone, sees the
// lost scope listed as inert on /ui/me and revokes the token, which the API
// then calls REVOKED. axe finds no serious violation on /ui/me and the
// show-once page; /ui/me is screenshot to $LATCHKEY_SCREENSHOTS (or a
// temp dir).
func TestBrowserPortalTokens(t *testing.T) {
	s := startBrowserServer(t)
	shots := os.Getenv("LATCHKEY_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	newUser(t, s.testServer, "alice", bobPassword, "orders:read", "orders:write")
	b, tab := openBrowser(t)
	grantClipboard(t, tab, s.Origin)
	if err := chromedp.Do(tab.Context(), chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatal(err)
	}
	addAuthenticator(t, b, tab)

	// A password sign-in, then a passkey.
	tab.Navigate(s.Origin + "/login")
	passwordSignIn(t, tab, "alice")
	wantSignedInAs(t, tab, s.Origin, "alice")
	if got := tab.Text("#tokens-empty"); !strings.Contains(got, "no keys yet") {
		t.Fatalf("empty token list says %q", got)
	}
	registerPasskey(t, tab, s.Origin, "laptop")

	// Creating a token from a password-only session asks for a step-up.
	fillTokenForm(t, tab, "laptop CLI", "orders:read", "orders:write")
	tab.ClickAndWaitLoad(`form[action="/ui/me/tokens"] button[type="submit"]`)
	if d := tab.LastDocument(s.Origin + "/ui/me/tokens"); d.Status != http.StatusForbidden {
		t.Fatalf("create without step-up: status %d, want 403", d.Status)
	}
	if got := tab.Text("h1"); got != "Confirm it is you" {
		t.Fatalf("create without step-up shows %q, want the step-up page", got)
	}
	if r := s.doJSON(t, "GET", "/v1/keys?owner_type=user&owner_id=alice", s.Root, ""); !strings.Contains(string(r.Body), `"items":[]`) {
		t.Fatalf("a token was created without step-up: %.300s", r.Body)
	}
	waitPasskeyNavigation(t, tab, `button[data-passkey="stepup"]`, "/ui/me", s.Origin)

	// Stepped up: the token, shown once; the copy button copies it.
	fillTokenForm(t, tab, "laptop CLI", "orders:read", "orders:write")
	tab.ClickAndWaitLoad(`form[action="/ui/me/tokens"] button[type="submit"]`)
	if got := tab.Text("h1"); got != "Copy your new token now" {
		t.Fatalf("after creating a token the page says %q: %q", got, browsertest.Eval[string](tab, `(document.querySelector(".error")||{}).textContent||""`))
	}
	d := tab.LastDocument(s.Origin + "/ui/me/tokens")
	if d.Status != http.StatusCreated || d.Header["Cache-Control"] != "no-store" {
		t.Fatalf("show-once answer: status %d, Cache-Control %q; want 201, no-store", d.Status, d.Header["Cache-Control"])
	}
	checkAxe(t, tab, "token show-once page")
	shown := tab.Text("#secret")
	tab.Click(`button[data-copy="secret"]`)
	if _, err := chromedp.Run(tab.Context(), chromedp.Poll[bool](`document.getElementById("copy-status").textContent === "Copied."`,
		chromedp.WithPollingTimeout(passkeyWait))); err != nil {
		t.Fatalf("copy button: %v (status %q)", err, tab.Text("#copy-status"))
	}
	copied := browsertest.Eval[string](tab, `navigator.clipboard.readText()`)
	if copied == "" || copied != shown {
		t.Fatalf("clipboard holds %d characters, the page shows %d; want the same token", len(copied), len(shown))
	}
	res := verifyKey(t, s, copied)
	if !res.Valid || res.Code != "VALID" || res.Owner == nil || res.Owner.ID != "alice" || !slices.Equal(res.Scopes, []string{"orders:read", "orders:write"}) {
		t.Fatalf("the copied token verifies as %+v, want VALID for alice with orders:read and orders:write", res)
	}
	id := res.KeyID

	// An administrator takes orders:write away through the API.
	if r := s.doJSON(t, "PATCH", "/v1/users/alice", s.Root, `{"permissions":["orders:read"]}`); r.Status != http.StatusOK {
		t.Fatalf("narrow alice: %d %.300s", r.Status, r.Body)
	}

	// alice signs in again with the passkey alone and reloads /ui/me.
	tab.ClickAndWaitLoad(`a[href="/ui/me#tokens"]`)
	signOut(t, tab, s.Origin)
	waitPasskeyNavigation(t, tab, `button[data-passkey="login"]`, "/ui/me", s.Origin)
	wantSignedInAs(t, tab, s.Origin, "alice")
	tab.Navigate(s.Origin + "/ui/me")
	if got := tab.Text("#inert-" + id); !strings.Contains(got, "orders:write") || strings.Contains(got, "orders:read") {
		t.Fatalf("inert scopes shown: %q, want orders:write alone", got)
	}
	if got := tab.Text("#effective-" + id); !strings.Contains(got, "orders:read") || strings.Contains(got, "orders:write") {
		t.Fatalf("effective scopes shown: %q, want orders:read alone", got)
	}
	if res := verifyKey(t, s, copied); !res.Valid || !slices.Equal(res.Scopes, []string{"orders:read"}) {
		t.Fatalf("the narrowed token verifies as %+v, want orders:read alone", res)
	}
	checkAxe(t, tab, "/ui/me")
	screenshot(t, tab, shots, "portal-tokens")

	// Revoke it, with a reason: no step-up needed.
	tab.Fill("reason", "browser test done")
	tab.ClickAndWaitLoad(`form[action="/ui/me/tokens/` + id + `/revoke"] button[type="submit"]`)
	if got := tab.Text(`p.notice[role="status"]`); !strings.Contains(got, "revoked") {
		t.Fatalf("notice after revoking: %q", got)
	}
	if got := tab.Text("#state-" + id); got != "revoked" {
		t.Fatalf("token state after revoking: %q", got)
	}
	if res := verifyKey(t, s, copied); res.Valid || res.Code != "REVOKED" {
		t.Fatalf("the revoked token verifies as %+v, want REVOKED", res)
	}
	wantClean(t, tab, s.Origin+"/ui/me/tokens")
}

// TestBrowserConsoleReveal: an admin fresh from a TOTP sign-in opens a
// recoverable key's page, clicks "Show the key again" and gets the key on
// a show-once page (200, no-store) whose copy button copies it; the audit
// log has the reveal; axe finds no serious violation on that page. A key
// of a keyspace that keeps nothing has no such button.
func TestBrowserConsoleReveal(t *testing.T) {
	s := startBrowserServer(t)
	newUser(t, s.testServer, "ada", bobPassword, "admin")
	secret := s.enrolTOTP(t, "ada")
	if r := s.doJSON(t, "POST", "/v1/keyspaces", s.Root, `{"name":"vault","prefix":"vlt","recoverable":true}`); r.Status != http.StatusCreated {
		t.Fatalf("recoverable keyspace: %d %.300s", r.Status, r.Body)
	}
	var kept, plain api.CreatedKey
	for _, c := range []struct {
		body string
		into *api.CreatedKey
	}{{`{"keyspace":"vault","name":"partner"}`, &kept}, {`{"name":"plain"}`, &plain}} {
		r := s.doJSON(t, "POST", "/v1/keys", s.Root, c.body)
		if err := json.Unmarshal(r.Body, c.into); err != nil || r.Status != http.StatusCreated {
			t.Fatalf("create key: %d %.300s", r.Status, r.Body)
		}
	}
	_, tab := openBrowser(t)
	grantClipboard(t, tab, s.Origin)
	tab.Navigate(s.Origin + "/ui/keys/" + plain.ID)
	passwordSignIn(t, tab, "ada")
	tab.Fill("otp", nextCode(t, secret))
	tab.ClickAndWaitLoad(`form[action="/login/verify"] button[type="submit"]`)
	wantAt(t, tab, s.Origin, "/ui/keys/"+plain.ID)
	if n := browsertest.Eval[int](tab, `document.querySelectorAll('form[action$="/reveal"]').length`); n != 0 {
		t.Fatalf("a key of a keyspace that keeps nothing offers %d reveal forms", n)
	}

	tab.Navigate(s.Origin + "/ui/keys/" + kept.ID)
	tab.ClickAndWaitLoad(`form[action="/ui/keys/` + kept.ID + `/reveal"] button[type="submit"]`)
	if got := tab.Text("h1"); got != "The key, shown again" {
		t.Fatalf("after asking for the key the page says %q: %q", got, browsertest.Eval[string](tab, `(document.querySelector(".error")||{}).textContent||""`))
	}
	d := tab.LastDocument(s.Origin + "/ui/keys/" + kept.ID + "/reveal")
	if d.Status != http.StatusOK || d.Header["Cache-Control"] != "no-store" {
		t.Fatalf("reveal answer: status %d, Cache-Control %q; want 200, no-store", d.Status, d.Header["Cache-Control"])
	}
	checkAxe(t, tab, "reveal page")
	tab.Click(`button[data-copy="secret"]`)
	if _, err := chromedp.Run(tab.Context(), chromedp.Poll[bool](`document.getElementById("copy-status").textContent === "Copied."`,
		chromedp.WithPollingTimeout(passkeyWait))); err != nil {
		t.Fatalf("copy button: %v", err)
	}
	if got := browsertest.Eval[string](tab, `navigator.clipboard.readText()`); got != kept.Secret || tab.Text("#secret") != kept.Secret {
		t.Fatal("the page or the clipboard holds another secret than the key's")
	}
	r := s.doJSON(t, "GET", "/v1/audit?action=key.reveal&target_id="+kept.ID, s.Root, "")
	var l api.AuditList
	if err := json.Unmarshal(r.Body, &l); err != nil || len(l.Items) != 1 || l.Items[0].Outcome != "success" || !strings.HasPrefix(l.Items[0].Actor, "ses_") {
		t.Fatalf("audit of the reveal: %d %.400s", r.Status, r.Body)
	}
	wantClean(t, tab)
}
