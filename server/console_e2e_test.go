package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/server"
)

// The admin console (/ui) over plain HTTP: who may see it, CSRF, the
// show-once page and the first-start setup. The browser test of the same
// pages is in console_browser_e2e_test.go.

// consoleAdmin creates user id with permissions perms, a password and TOTP
// and returns a browser signed in with both factors, and the TOTP secret.
func consoleAdmin(t *testing.T, s *testServer, id string, perms ...string) (*browser, string) {
	t.Helper()
	newUser(t, s, id, bobPassword, perms...)
	secret := (&browserServer{testServer: s}).enrolTOTP(t, id)
	b := newBrowser(t, s.URL, nil)
	if r := b.login(id, bobPassword); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login/verify") {
		t.Fatalf("sign-in of %s: %d %q", id, r.Status, r.Header.Get("Location"))
	}
	if r := b.get("/login/verify"); r.Status != http.StatusOK {
		t.Fatalf("GET /login/verify: %d", r.Status)
	}
	if r := b.post("/login/verify", url.Values{"otp": {nextCode(t, secret)}}); r.Status != http.StatusSeeOther {
		t.Fatalf("second factor of %s: %d %.300s", id, r.Status, r.Body)
	}
	return b, secret
}

// TestKEY04_ConsoleNonAdminForbidden: a user without a management permission is
// sent from /ui to their account page, and every console page is 403.
func TestKEY04_ConsoleNonAdminForbidden(t *testing.T) {
	s := startServer(t, server.Config{})
	b, _ := consoleAdmin(t, s, "carol", "orders:read")
	if r := b.get("/ui"); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/ui/me" {
		t.Fatalf("GET /ui of a non-admin: %d %q, want 303 to /ui/me", r.Status, r.Header.Get("Location"))
	}
	for _, p := range []string{"/ui/keys", "/ui/keyspaces", "/ui/users", "/ui/apps", "/ui/audit", "/ui/signing-keys", "/ui/keys/key_x"} {
		r := b.get(p)
		if r.Status != http.StatusForbidden || !bytes.Contains(r.Body, []byte("Administrators only")) {
			t.Errorf("GET %s of a non-admin: %d, want 403 Administrators only", p, r.Status)
		}
	}
	if r := b.post("/ui/keyspaces", url.Values{"name": {"sneaky"}}); r.Status != http.StatusForbidden || !bytes.Contains(r.Body, []byte("Administrators only")) {
		t.Errorf("POST /ui/keyspaces of a non-admin: %d, want 403", r.Status)
	}
	if r := s.doJSON(t, "GET", "/v1/keyspaces/sneaky", s.Root, ""); r.Status != http.StatusNotFound {
		t.Errorf("the non-admin's keyspace exists: %d", r.Status)
	}
	// Signed out: the console sends the browser to sign in.
	anon := newBrowser(t, s.URL, nil)
	if r := anon.get("/ui/keys"); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/login?return_to=%2Fui%2Fkeys" {
		t.Errorf("GET /ui/keys signed out: %d %q", r.Status, r.Header.Get("Location"))
	}
}

// TestConsoleAdminNeedsSecondFactor: an admin whose session used only a
// password is asked to set up and use a second factor.
func TestConsoleAdminNeedsSecondFactor(t *testing.T) {
	s := startServer(t, server.Config{})
	newUser(t, s, "dora", bobPassword, "admin")
	b := newBrowser(t, s.URL, nil)
	b.mustLogin("dora", bobPassword)
	for _, p := range []string{"/ui", "/ui/keys"} {
		r := b.get(p)
		if r.Status != http.StatusForbidden || !bytes.Contains(r.Body, []byte("A second factor is needed")) || !bytes.Contains(r.Body, []byte(`href="/ui/me"`)) {
			t.Fatalf("GET %s with a password-only session: %d %.400s", p, r.Status, r.Body)
		}
	}
	if r := b.post("/ui/keys", url.Values{"name": {"x"}}); r.Status != http.StatusForbidden || !bytes.Contains(r.Body, []byte("A second factor is needed")) {
		t.Fatalf("POST /ui/keys with a password-only session: %d", r.Status)
	}
	if n := s.countKeys(t); n != 1 { // the root key
		t.Fatalf("%d keys, want only the root key", n)
	}
}

// TestConsoleCSRF: a console form without the CSRF token, or with another
// one, is refused and changes nothing.
func TestConsoleCSRF(t *testing.T) {
	s := startServer(t, server.Config{})
	b, _ := consoleAdmin(t, s, "erin", "admin")
	if r := b.get("/ui/keyspaces"); r.Status != http.StatusOK {
		t.Fatalf("GET /ui/keyspaces: %d", r.Status)
	}
	for _, tok := range []string{"", strings.Repeat("A", 43)} {
		r := b.post("/ui/keyspaces", url.Values{"csrf": {tok}, "name": {"forged"}})
		if r.Status != http.StatusForbidden {
			t.Fatalf("POST /ui/keyspaces with csrf %q: %d, want 403", tok, r.Status)
		}
	}
	if r := s.doJSON(t, "GET", "/v1/keyspaces/forged", s.Root, ""); r.Status != http.StatusNotFound {
		t.Fatalf("a forged form created a keyspace: %d", r.Status)
	}
	if r := b.post("/ui/keyspaces", url.Values{"name": {"real"}, "allow_permanent": {"on"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("POST /ui/keyspaces with the token: %d %s", r.Status, regexp.MustCompile(`class="error"[^<]*<`).Find(r.Body))
	}
}

var secretRE = regexp.MustCompile(`id="secret">([^<]+)<`)

// TestConsoleShowOnce: a key created in the console is shown on the POST
// answer only, once, with Cache-Control: no-store; it verifies; its page
// never shows it again; the audit log names the session that made it.
func TestConsoleShowOnce(t *testing.T) {
	s := startServer(t, server.Config{})
	b, _ := consoleAdmin(t, s, "fred", "admin")
	if r := b.get("/ui/keys"); r.Status != http.StatusOK {
		t.Fatalf("GET /ui/keys: %d", r.Status)
	}
	r := b.post("/ui/keys", url.Values{"keyspace": {"default"}, "name": {"ci"}, "scopes": {"orders:read"}})
	if r.Status != http.StatusCreated {
		t.Fatalf("POST /ui/keys: %d %.500s", r.Status, r.Body)
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("show-once page Cache-Control %q, want no-store", cc)
	}
	m := secretRE.FindSubmatch(r.Body)
	if m == nil {
		t.Fatalf("no secret on the show-once page: %.500s", r.Body)
	}
	secret := string(m[1])
	if n := bytes.Count(r.Body, []byte(secret)); n != 1 {
		t.Fatalf("the secret appears %d times on the show-once page, want 1", n)
	}
	v := s.doJSON(t, "POST", "/v1/keys/verify", s.Root, `{"key":"`+secret+`"}`)
	var res api.VerifyResponse
	if err := json.Unmarshal(v.Body, &res); err != nil || !res.Valid {
		t.Fatalf("verify the console's key: %d %.300s", v.Status, v.Body)
	}
	keyPage := b.get("/ui/keys/" + res.KeyID)
	if keyPage.Status != http.StatusOK || bytes.Contains(keyPage.Body, []byte(secret)) {
		t.Fatalf("key page: %d, contains the secret: %v", keyPage.Status, bytes.Contains(keyPage.Body, []byte(secret)))
	}
	if loc := r.Header.Get("Location"); strings.Contains(loc, secret) {
		t.Fatal("the secret is in a URL")
	}
	if strings.Contains(s.Logs.String(), secretPart(t, secret)) {
		t.Fatal("the console's new key is in the server's log")
	}
	// The audit event names the session, like a management key.
	sess := sessionsOf(t, s, "fred")
	a := s.doJSON(t, "GET", "/v1/audit?target_id="+res.KeyID, s.Root, "")
	if !bytes.Contains(a.Body, []byte(`"key.create"`)) || !bytes.Contains(a.Body, []byte(sess[0].ID)) {
		t.Fatalf("audit of the console's key: %.500s", a.Body)
	}
	// Another admin's unknown key is a 404, not a 403 or 500.
	if r := b.get("/ui/keys/key_doesnotexist"); r.Status != http.StatusNotFound {
		t.Fatalf("unknown key page: %d", r.Status)
	}
}

var totpSecretRE = regexp.MustCompile(`type this key into the app: <code>([A-Z2-7]+)</code>`)

// TestConsoleFirstStartSetup: with no admin, serve offers a one-time setup
// code; the setup page creates the admin with a password and TOTP; the
// code works once; the admin then signs in with both factors.
func TestConsoleFirstStartSetup(t *testing.T) {
	s := startServer(t, server.Config{OfferSetup: true})
	if !strings.Contains(s.Out.String(), "/ui/setup") {
		t.Fatalf("serve did not offer the setup: %q\n%s", s.Out.String(), s.Logs.String())
	}
	raw, err := os.ReadFile(filepath.Join(s.DataDir, "setup.code"))
	if err != nil {
		t.Fatal(err)
	}
	code := strings.TrimSpace(string(raw))
	if strings.Contains(s.Out.String(), code) || strings.Contains(s.Logs.String(), code) {
		t.Fatal("the setup code is in the output or the logs of a non-terminal")
	}
	b := newBrowser(t, s.URL, nil)
	if r := b.get("/ui/setup"); r.Status != http.StatusOK {
		t.Fatalf("GET /ui/setup: %d", r.Status)
	}
	if r := b.post("/ui/setup", url.Values{"code": {"wrong"}, "username": {"root"}, "password": {bobPassword}, "confirm": {bobPassword}}); r.Status != http.StatusForbidden ||
		!bytes.Contains(r.Body, []byte("setup code is wrong")) {
		t.Fatalf("setup with a wrong code: %d", r.Status)
	}
	r := b.post("/ui/setup", url.Values{"code": {code}, "username": {"root"}, "password": {bobPassword}, "confirm": {bobPassword}})
	m := totpSecretRE.FindSubmatch(r.Body)
	if r.Status != http.StatusOK || m == nil {
		t.Fatalf("setup: %d %.600s", r.Status, r.Body)
	}
	secret := string(m[1])
	// Another browser holding the code cannot finish (nor re-enrol) the
	// administrator that this one created.
	other := newBrowser(t, s.URL, nil)
	other.get("/ui/setup")
	if r := other.post("/ui/setup/totp", url.Values{"code": {code}, "username": {"root"}, "otp": {"000000"}}); r.Status != http.StatusForbidden ||
		totpSecretRE.Match(r.Body) {
		t.Fatalf("setup's second step from another browser: %d", r.Status)
	}
	if r := b.post("/ui/setup/totp", url.Values{"code": {code}, "username": {"root"}, "otp": {totpCode(t, secret, time.Now())}}); r.Status != http.StatusOK ||
		!bytes.Contains(r.Body, []byte("latchkey is ready")) {
		t.Fatalf("setup TOTP: %d %.400s", r.Status, r.Body)
	}
	// Used: the code opens nothing any more.
	b.get("/ui/setup")
	if r := b.post("/ui/setup", url.Values{"code": {code}, "username": {"root2"}, "password": {bobPassword}, "confirm": {bobPassword}}); r.Status != http.StatusForbidden ||
		!bytes.Contains(r.Body, []byte("setup code is wrong")) {
		t.Fatalf("setup code reused: %d %.300s", r.Status, r.Body)
	}
	if r := s.doJSON(t, "GET", "/v1/users/root2", s.Root, ""); r.Status != http.StatusNotFound {
		t.Fatalf("a reused setup code created a user: %d", r.Status)
	}
	if r := b.login("root", bobPassword); r.Status != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", r.Status)
	}
	b.get("/login/verify")
	if r := b.post("/login/verify", url.Values{"otp": {nextCode(t, secret)}}); r.Status != http.StatusSeeOther {
		t.Fatalf("second factor: %d %.300s", r.Status, r.Body)
	}
	if r := b.get("/ui"); r.Status != http.StatusOK || !bytes.Contains(r.Body, []byte("Console")) {
		t.Fatalf("GET /ui as the new admin: %d %.300s", r.Status, r.Body)
	}
	// Restarted with an administrator: no setup offered, the code file gone.
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	s2 := startServer(t, server.Config{OfferSetup: true, DataDir: s.DataDir})
	if strings.Contains(s2.Out.String(), "/ui/setup") {
		t.Fatalf("setup offered with an administrator: %q", s2.Out.String())
	}
	if _, err := os.Stat(filepath.Join(s.DataDir, "setup.code")); !os.IsNotExist(err) {
		t.Fatalf("setup.code left behind: %v", err)
	}
	b2 := newBrowser(t, s2.URL, nil)
	b2.get("/ui/setup")
	if r := b2.post("/ui/setup", url.Values{"code": {code}, "username": {"root3"}, "password": {bobPassword}, "confirm": {bobPassword}}); r.Status != http.StatusForbidden ||
		!bytes.Contains(r.Body, []byte("setup code is wrong")) {
		t.Fatalf("the old setup code after a restart: %d %.300s", r.Status, r.Body)
	}
}
