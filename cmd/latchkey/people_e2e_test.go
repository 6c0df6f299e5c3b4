package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/latchkey/latchkey/api"
)

// TestE2E_PeopleCLI is the README's path for people, with the real binary:
// create alice, give her a password from stdin and TOTP (enrol, confirm
// with a code of the seed), sign her in over HTTP with password + code,
// see the session from the CLI and end it.
func TestE2E_PeopleCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped with -short")
	}
	root := newRootKey()
	p := startBinary(t, t.TempDir(), root)
	env := map[string]string{"LATCHKEY_URL": p.URL, "LATCHKEY_TOKEN": root}
	run := func(stdin string, args ...string) result {
		t.Helper()
		r := runBinary(t, env, stdin, args...)
		if r.code != exitOK {
			t.Fatalf("latchkey %s: exit %d; stderr %s", strings.Join(args, " "), r.code, r.stderr)
		}
		return r
	}
	const pw = "correct horse battery staple"
	run("", "users", "create", "alice", "--permissions", "orders:read")
	if r := runBinary(t, env, "password1234\n", "users", "set-password", "alice", "--password-stdin"); r.code != exitRefused ||
		!strings.Contains(r.stderr, "weak_password") {
		t.Errorf("a weak password: exit %d, stderr %q", r.code, r.stderr)
	}
	run(pw+"\n", "users", "set-password", "alice", "--password-stdin")
	var e api.TOTPEnrollment
	if err := json.Unmarshal([]byte(run("", "users", "totp", "enroll", "alice", "--json").stdout), &e); err != nil || e.Secret == "" ||
		!strings.HasPrefix(e.OTPAuthURI, "otpauth://totp/") {
		t.Fatalf("totp enroll --json: %v %+v", err, e.OTPAuthURI)
	}
	if out := run("", "users", "totp", "enroll", "alice", "--no-qr").stdout; !strings.Contains(out, "otpauth://") {
		t.Errorf("re-enrolling a pending TOTP: %q", out)
	}
	if err := json.Unmarshal([]byte(run("", "users", "totp", "enroll", "alice", "--json").stdout), &e); err != nil {
		t.Fatal(err)
	}
	code, _ := totp.GenerateCode(e.Secret, time.Now())
	var rc api.RecoveryCodes
	if err := json.Unmarshal([]byte(run("", "users", "totp", "confirm", "alice", code, "--json").stdout), &rc); err != nil || len(rc.RecoveryCodes) != 10 {
		t.Fatalf("totp confirm: %v, %d codes", err, len(rc.RecoveryCodes))
	}
	if out := run("", "users", "factors", "alice").stdout; !strings.Contains(out, "active") || !strings.Contains(out, "10") {
		t.Errorf("factors: %q", out)
	}

	// Sign in over HTTP as a browser would: password, then a recovery code.
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	csrf := func(path string) string {
		resp, err := hc.Get(p.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(b)
		if m == nil {
			t.Fatalf("no csrf on %s", path)
		}
		return string(m[1])
	}
	post := func(path string, form url.Values) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, p.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", p.URL)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := post("/login", url.Values{"csrf": {csrf("/login")}, "username": {"alice"}, "password": {pw}}); r.Header.Get("Location") != "/login/verify" {
		t.Fatalf("password step: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if r := post("/login/verify", url.Values{"csrf": {csrf("/login/verify")}, "otp": {rc.RecoveryCodes[0]}}); r.Header.Get("Location") != "/ui/me" {
		t.Fatalf("second step: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	var list api.SessionList
	if err := json.Unmarshal([]byte(run("", "users", "sessions", "list", "alice", "--json").stdout), &list); err != nil || len(list.Items) != 1 {
		t.Fatalf("sessions list: %v %+v", err, list)
	}
	if ms := list.Items[0].Factors; len(ms) != 2 || ms[0].Method != "pwd" || ms[1].Method != "recovery_code" {
		t.Errorf("session factors %+v", ms)
	}
	if out := run("", "users", "sessions", "end-all", "alice").stdout; !strings.Contains(out, "1") {
		t.Errorf("end-all: %q", out)
	}
	resp, err := hc.Get(p.URL + "/ui/me")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Errorf("/ui/me after end-all: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}
