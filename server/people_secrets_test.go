package server_test

import (
	"bytes"
	"context"
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
	"github.com/latchkey/latchkey/server"
)

// secForm posts a sign-in page's form the way a browser does: the csrf
// field from the page, Origin set.
func secForm(t *testing.T, hc *http.Client, base, page, action string, fields url.Values) *http.Response {
	t.Helper()
	resp, err := hc.Get(base + page)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("no csrf field on %s (%d)", page, resp.StatusCode)
	}
	fields.Set("csrf", string(m[1]))
	req, _ := http.NewRequest(http.MethodPost, base+action, strings.NewReader(fields.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestSEC_AUD02_PeopleSecretsNowhere extends the KEY-01/AUD-02 scans to
// people: after passwords are set (one refused as weak), TOTP is enrolled
// and confirmed, a sign-in with password and code succeeds and one with a
// wrong password fails, no password, TOTP seed, recovery code or session
// cookie appears in the data directory, the application log or the audit
// log.
func TestSEC_AUD02_PeopleSecretsNowhere(t *testing.T) {
	s := startServer(t, server.Config{})
	ctx := context.Background()
	c := s.client(t, s.Root)
	const pw, weak, wrong = "Tr0ub4dor and three more words", "Password12345!", "Wrong but long password 77"
	if _, err := c.CreateUser(ctx, api.CreatePrincipalRequest{ID: "alice"}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetPassword(ctx, "alice", weak); err == nil {
		t.Fatal("a weak password was accepted")
	}
	if err := c.SetPassword(ctx, "alice", pw); err != nil {
		t.Fatal(err)
	}
	e, err := c.EnrollTOTP(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	code, _ := totp.GenerateCode(e.Secret, time.Now())
	rc, err := c.ConfirmTOTP(ctx, "alice", code)
	if err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp := secForm(t, hc, s.URL, "/login", "/login", url.Values{"username": {"alice"}, "password": {wrong}})
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", resp.StatusCode)
	}
	resp = secForm(t, hc, s.URL, "/login", "/login", url.Values{"username": {"alice"}, "password": {pw}})
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("password: %d", resp.StatusCode)
	}
	u, _ := url.Parse(s.URL)
	var pending string
	for _, ck := range jar.Cookies(u) {
		if ck.Name == "latchkey_signin" {
			pending = ck.Value
		}
	}
	resp = secForm(t, hc, s.URL, "/login/verify", "/login/verify", url.Values{"otp": {rc.RecoveryCodes[0]}})
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/me" {
		t.Fatalf("second factor: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	var session string
	for _, ck := range jar.Cookies(u) {
		if ck.Name == "latchkey_session" {
			session = ck.Value
		}
	}
	if session == "" || pending == "" {
		t.Fatalf("no cookies (session %d chars, pending %d chars)", len(session), len(pending))
	}
	me, err := hc.Get(s.URL + "/ui/me")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(me.Body)
	me.Body.Close()
	if !bytes.Contains(page, []byte("alice")) {
		t.Fatalf("/ui/me: %d", me.StatusCode)
	}
	audit := s.do(t, http.MethodGet, "/v1/audit?limit=500", s.Root, "", nil)
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	secrets := map[string]string{"password": pw, "weak password": weak, "wrong password": wrong, "TOTP seed": e.Secret,
		"TOTP seed (lower case)": strings.ToLower(e.Secret), "session cookie": session, "pending sign-in cookie": pending}
	for i, r := range rc.RecoveryCodes {
		secrets["recovery code "+string(rune('0'+i))] = r
		secrets["recovery code (no dash) "+string(rune('0'+i))] = strings.ReplaceAll(r, "-", "")
	}
	places := map[string][]byte{"application log": s.Logs.Bytes(), "audit log": audit.Body, "/ui/me": page}
	for name, b := range dataFiles(t, s.DataDir) {
		places[name] = b
	}
	var files []byte
	for name, b := range places {
		if strings.HasPrefix(name, "latchkey.db") {
			files = append(files, b...)
		}
	}
	if !bytes.Contains(files, []byte("signin.success")) {
		t.Fatal("the database files lack the audited sign-in: is the scan looking at them?")
	}
	if testing.Verbose() {
		t.Logf("audit: %.2000s", audit.Body)
	}
	if !bytes.Contains(audit.Body, []byte("signin.success")) || !bytes.Contains(audit.Body, []byte("signin.failed")) {
		t.Fatal("the audit log lacks the sign-ins: is the scan looking at it?")
	}
	for where, b := range places {
		for what, secret := range secrets {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s holds the %s", where, what)
			}
		}
	}
}
