package server_test

import (
	_ "embed"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/internal/browsertest"
)

// axe-core (MPL-2.0, testdata/axe/README) checks the console's pages for
// accessibility in the browser; it is evaluated through DevTools, so the
// pages' CSP stays as it is.
//
//go:embed testdata/axe/axe.min.js
var axeJS string

// checkAxe runs axe-core on the tab's page and fails on any serious or
// critical violation.
func checkAxe(t *testing.T, tab *browsertest.Tab, page string) {
	t.Helper()
	if !browsertest.Eval[bool](tab, `typeof axe !== "undefined"`) {
		browsertest.Eval[bool](tab, axeJS+"\n;true")
	}
	type violation struct {
		ID     string `json:"id"`
		Impact string `json:"impact"`
		Help   string `json:"help"`
		Nodes  []struct {
			Target []string `json:"target"`
		} `json:"nodes"`
	}
	raw := browsertest.Eval[string](tab, `axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(r.violations))`)
	var vs []violation
	if err := json.Unmarshal([]byte(raw), &vs); err != nil {
		t.Fatalf("axe on %s: %v", page, err)
	}
	for _, v := range vs {
		if v.Impact == "serious" || v.Impact == "critical" {
			var where []string
			for _, n := range v.Nodes {
				where = append(where, strings.Join(n.Target, " "))
			}
			t.Errorf("axe on %s: %s (%s): %s at %v", page, v.ID, v.Impact, v.Help, where)
		}
	}
}

// screenshot writes the tab's page to dir/name.png.
func screenshot(t *testing.T, tab *browsertest.Tab, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(tab.Context(), chromedp.FullScreenshot(100)) // quality 100: PNG
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func verifyKey(t *testing.T, s *browserServer, secret string) api.VerifyResponse {
	t.Helper()
	r := s.doJSON(t, "POST", "/v1/keys/verify", s.Root, `{"key":"`+secret+`"}`)
	var res api.VerifyResponse
	if err := json.Unmarshal(r.Body, &res); err != nil {
		t.Fatalf("verify: %d %.300s", r.Status, r.Body)
	}
	return res
}

// TestBrowserConsoleAdmin: an admin signs in with password and TOTP,
// creates a keyspace and a user, creates a key and copies it from the
// show-once page, verifies it with the API, rotates it, revokes it and
// finds all of it in the audit log; axe finds no serious violation on the
// main pages. Screenshots go to $LATCHKEY_SCREENSHOTS (or a temp dir).
func TestBrowserConsoleAdmin(t *testing.T) {
	s := startBrowserServer(t)
	shots := os.Getenv("LATCHKEY_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	newUser(t, s.testServer, "ada", bobPassword, "admin")
	secret := s.enrolTOTP(t, "ada")
	b, tab := openBrowser(t)
	_ = b
	if _, err := chromedp.CallBrowser(tab.Context(), cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
		Permission: &cdpbrowser.PermissionDescriptor{Name: "clipboard-read"}, Setting: "granted", Origin: s.Origin}); err != nil {
		t.Fatalf("grant clipboard-read: %v", err)
	}
	if _, err := chromedp.CallBrowser(tab.Context(), cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
		Permission: &cdpbrowser.PermissionDescriptor{Name: "clipboard-write"}, Setting: "granted", Origin: s.Origin}); err != nil {
		t.Fatalf("grant clipboard-write: %v", err)
	}
	if err := chromedp.Do(tab.Context(), chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatal(err)
	}

	// The setup and sign-in pages are checked for accessibility too.
	tab.Navigate(s.Origin + "/ui/setup")
	checkAxe(t, tab, "/ui/setup")
	// Sign in: /ui sends the browser to /login, then the second step.
	tab.Navigate(s.Origin + "/ui")
	checkAxe(t, tab, "/login")
	passwordSignIn(t, tab, "ada")
	tab.WaitVisible(`input[name="otp"]`)
	tab.Fill("otp", nextCode(t, secret))
	tab.ClickAndWaitLoad(`form[action="/login/verify"] button[type="submit"]`)
	wantAt(t, tab, s.Origin, "/ui")
	if got := tab.Text("h1"); got != "Console" {
		t.Fatalf("console home shows %q", got)
	}
	if got := tab.Text("#start"); got != "Getting started" {
		t.Fatalf("an empty console shows %q, want the getting-started steps", got)
	}
	checkAxe(t, tab, "/ui")

	// A keyspace.
	tab.Navigate(s.Origin + "/ui/keyspaces")
	checkAxe(t, tab, "/ui/keyspaces")
	tab.Fill("name", "shop")
	tab.Fill("prefix", "shop_live")
	// A textarea: empty, so typed through its value.
	if err := chromedp.Do(tab.Context(), chromedp.SetValue(chromedp.CSS(`#ks-scopes`), "orders:read orders:write")); err != nil {
		t.Fatal(err)
	}
	tab.ClickAndWaitLoad(`form[action="/ui/keyspaces"] button[type="submit"]`)
	wantAt(t, tab, s.Origin, "/ui/keyspaces/shop?created=1")
	checkAxe(t, tab, "/ui/keyspaces/shop")

	// A user.
	tab.Navigate(s.Origin + "/ui/users")
	tab.Fill("id", "bob")
	tab.Fill("permissions", "orders:read orders:write")
	tab.ClickAndWaitLoad(`form[action="/ui/users"] button[type="submit"]`)
	wantAt(t, tab, s.Origin, "/ui/users/bob?created=1")
	checkAxe(t, tab, "/ui/users/bob")
	tab.Navigate(s.Origin + "/ui/users")
	screenshot(t, tab, shots, "console-users")

	// A key, shown once; the copy button puts it on the clipboard.
	tab.Navigate(s.Origin + "/ui/keys")
	if err := chromedp.Do(tab.Context(), chromedp.SetValue(chromedp.CSS(`#k-keyspace`), "shop")); err != nil {
		t.Fatal(err)
	}
	// The filter form has an owner field too: type into the create form's.
	for id, v := range map[string]string{"k-name": "checkout service", "k-owner": "user:bob", "k-scopes": "orders:read"} {
		if err := chromedp.Do(tab.Context(), chromedp.SendKeys(chromedp.CSS("#"+id), v)); err != nil {
			t.Fatal(err)
		}
	}
	tab.ClickAndWaitLoad(`form[method="post"][action="/ui/keys"] button[type="submit"]`)
	if got := tab.Text("h1"); got != "Copy the new key now" {
		t.Fatalf("after creating a key the page says %q: %q", got, browsertest.Eval[string](tab, `(document.querySelector(".error")||{}).textContent||""`))
	}
	shown := tab.Text("#secret")
	tab.Click(`button[data-copy="secret"]`)
	if _, err := chromedp.Run(tab.Context(), chromedp.Poll[bool](`document.getElementById("copy-status").textContent === "Copied."`,
		chromedp.WithPollingTimeout(passkeyWait))); err != nil {
		t.Fatalf("copy button: %v (status %q)", err, tab.Text("#copy-status"))
	}
	copied := browsertest.Eval[string](tab, `navigator.clipboard.readText()`)
	if copied != shown || !strings.HasPrefix(copied, "shop_live_") {
		t.Fatalf("clipboard holds %d characters, the page shows %d; want the same shop_live_ key", len(copied), len(shown))
	}
	if doc := tab.LastDocument(s.Origin + "/ui/keys"); doc.Status != http.StatusCreated {
		t.Fatalf("show-once answer: %d", doc.Status)
	}
	checkAxe(t, tab, "show-once page")
	res := verifyKey(t, s, copied)
	if !res.Valid || res.Keyspace != "shop" {
		t.Fatalf("the copied key does not verify: %+v", res)
	}
	firstID := res.KeyID

	// Its page charts the verification once the usage flush wrote it;
	// rotate it (no grace): a new key, shown once.
	waitVerified(t, s, firstID, 1)
	tab.ClickAndWaitLoad(`a[href="/ui/keys/` + firstID + `"]`)
	if n := chartCount(tab, "VALID"); n < 1 || !strings.Contains(chartLabel(tab), "1 VALID") {
		t.Fatalf("the key's chart shows %d VALID (%q), want the verification", n, chartLabel(tab))
	}
	tab.Navigate(s.Origin + "/ui/keys/" + firstID + "?range=1h")
	if n := chartCount(tab, "VALID"); n != 1 || !strings.HasPrefix(chartLabel(tab), "Verifications per minute, last hour") {
		t.Fatalf("the key's last hour shows %d VALID (%q)", n, chartLabel(tab))
	}
	checkAxe(t, tab, "key page")
	screenshot(t, tab, shots, "console-key")
	tab.ClickAndWaitLoad(`form[action="/ui/keys/` + firstID + `/rotate"] button[type="submit"]`)
	rotated := tab.Text("#secret")
	if rotated == copied {
		t.Fatal("rotation showed the old key")
	}
	if res := verifyKey(t, s, copied); res.Valid {
		t.Fatal("the old key still verifies after a rotation without grace")
	}
	res = verifyKey(t, s, rotated)
	if !res.Valid {
		t.Fatalf("the rotated key does not verify: %+v", res)
	}
	secondID := res.KeyID

	// Revoke it with a reason.
	tab.Navigate(s.Origin + "/ui/keys/" + secondID)
	tab.Fill("reason", "browser test done")
	tab.ClickAndWaitLoad(`form[action="/ui/keys/` + secondID + `/revoke"] button[type="submit"]`)
	if got := tab.Text("#key-state"); got != "revoked" {
		t.Fatalf("key state after revoking: %q", got)
	}
	if res := verifyKey(t, s, rotated); res.Valid {
		t.Fatal("the revoked key verifies")
	}

	// The keys listing, filtered; the audit log has all of it.
	tab.Navigate(s.Origin + "/ui/keys?keyspace=shop")
	screenshot(t, tab, shots, "console-keys")
	checkAxe(t, tab, "/ui/keys")
	tab.Navigate(s.Origin + "/ui/audit")
	checkAxe(t, tab, "/ui/audit")
	screenshot(t, tab, shots, "console-audit")
	log := tab.Text("#audit")
	for _, want := range []string{"keyspace.create", "user.create", "key.create", "key.rotate", "key.revoke", firstID, secondID} {
		if !strings.Contains(log, want) {
			t.Errorf("the audit log page lacks %q", want)
		}
	}
	tab.Navigate(s.Origin + "/ui/signing-keys")
	checkAxe(t, tab, "/ui/signing-keys")
	// The dashboard: both keys' verifications by outcome, top keys,
	// failure codes.
	waitVerified(t, s, firstID, 2)
	waitVerified(t, s, secondID, 2)
	tab.Navigate(s.Origin + "/ui")
	if n := chartCount(tab, "VALID"); n != 2 || !strings.Contains(chartLabel(tab), "2 VALID") {
		t.Errorf("the dashboard's chart shows %d VALID (%q), want 2", n, chartLabel(tab))
	}
	if top := tab.Text("#top-keys-table"); !strings.Contains(top, firstID) || !strings.Contains(top, secondID) {
		t.Errorf("top keys: %q", top)
	}
	if f := tab.Text("#failures-table"); !strings.Contains(f, "REVOKED") {
		t.Errorf("failure codes: %q", f)
	}
	checkAxe(t, tab, "/ui with verifications")
	screenshot(t, tab, shots, "console-home")
	// At phone width.
	if err := chromedp.Do(tab.Context(), chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatal(err)
	}
	tab.Navigate(s.Origin + "/ui/keys/" + secondID)
	screenshot(t, tab, shots, "console-key-phone")
	wantClean(t, tab)
}
