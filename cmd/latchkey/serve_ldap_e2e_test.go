package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/slapdtest"
)

// TestLDAPServeConfigFile: `latchkey serve` with a YAML --config (given as
// LATCHKEY_CONFIG) holding an ldap section with group_permissions, and the
// bind password in LATCHKEY_LDAP_BIND_PASSWORD_FILE, signs a directory
// user in at /login with the permissions of their groups; the bind
// password appears nowhere in the server's output.
func TestLDAPServeConfigFile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped with -short")
	}
	dir := slapdtest.Start(t)
	cfgDir := t.TempDir()
	pwFile := filepath.Join(cfgDir, "bind-password")
	if err := os.WriteFile(pwFile, []byte(slapdtest.BindPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	yaml := `ldap:
  url: ` + dir.LDAPSURL + `
  ca_file: ` + dir.CAFile + `
  bind_dn: "` + slapdtest.BindDN + `"
  user_base_dn: "` + slapdtest.PeopleDN + `"
  user_filter: "(&(objectClass=inetOrgPerson)(uid={username}))"
  group_base_dn: "` + slapdtest.GroupsDN + `"
  group_filter: "(&(objectClass=groupOfNames)(member={dn}))"
  group_permissions:
    admins: ["keys:read"]
    engineers: ["keys:verify"]
sessions:
  idle_timeout: 1h
`
	cfgFile := filepath.Join(cfgDir, "latchkey.yaml")
	if err := os.WriteFile(cfgFile, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	root := newRootKey()
	p := startBinary(t, t.TempDir(), root, "LATCHKEY_CONFIG="+cfgFile, "LATCHKEY_LDAP_BIND_PASSWORD_FILE="+pwFile)

	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Get(p.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([^"]*)"`).FindSubmatch(page)
	if resp.StatusCode != 200 || m == nil {
		t.Fatalf("GET /login: %d, csrf field found %v", resp.StatusCode, m != nil)
	}
	login := func(password string) int {
		t.Helper()
		form := url.Values{"username": {"alice"}, "password": {password}, "csrf": {string(m[1])}}
		req, _ := http.NewRequest("POST", p.URL+"/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", p.URL)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := login("not-alices-password"); code != http.StatusUnauthorized {
		t.Fatalf("wrong directory password: %d, want 401", code)
	}
	if code := login(slapdtest.AlicePassword); code != http.StatusSeeOther {
		t.Fatalf("directory sign-in: %d, want 303; stderr:\n%s", code, p.stderr)
	}
	u, err := p.client(t, root).User(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	perms := slices.Sorted(slices.Values(u.Permissions))
	if !slices.Equal(perms, []string{"keys:read", "keys:verify"}) {
		t.Errorf("alice's permissions %v, want keys:read keys:verify (from group_permissions)", perms)
	}
	if out := p.stdout.String() + p.stderr.String(); strings.Contains(out, slapdtest.BindPassword) || strings.Contains(out, slapdtest.AlicePassword) {
		t.Error("the server's output shows an LDAP password")
	}
}
