package server_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/internal/slapdtest"
	"github.com/latchkey/latchkey/people/ldapdir"
	"github.com/latchkey/latchkey/server"
)

// startLDAPServer starts a real slapd and a latchkey server that signs in
// its users over LDAPS: admins → keys:read, engineers → keys:verify.
func startLDAPServer(t *testing.T) (*testServer, *slapdtest.Server) {
	t.Helper()
	dir := slapdtest.Start(t)
	d, err := ldapdir.New(ldapdir.Config{
		URL: dir.LDAPSURL, CAFile: dir.CAFile,
		BindDN: slapdtest.BindDN, BindPassword: slapdtest.BindPassword,
		UserBaseDN: slapdtest.PeopleDN, UserFilter: "(&(objectClass=inetOrgPerson)(uid={username}))",
		GroupBaseDN: slapdtest.GroupsDN, GroupFilter: "(&(objectClass=groupOfNames)(member={dn}))",
		GroupPermissions: map[string][]string{"admins": {"keys:read"}, "engineers": {"keys:verify"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return startServer(t, server.Config{People: server.PeopleConfig{Directory: server.LDAPDirectory(d)}}), dir
}

// userPermissions returns user id's permissions, or nil and false if the
// user does not exist.
func userPermissions(t *testing.T, s *testServer, id string) ([]string, bool) {
	t.Helper()
	r := s.doJSON(t, "GET", "/v1/users/"+id, s.Root, "")
	if r.Status == http.StatusNotFound {
		return nil, false
	}
	if r.Status != 200 {
		t.Fatalf("GET /v1/users/%s: %d %.200s", id, r.Status, r.Body)
	}
	var p api.Principal
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatal(err)
	}
	slices.Sort(p.Permissions)
	return p.Permissions, true
}

// getUser returns user id as the API shows it.
func getUser(t *testing.T, s *testServer, id string) api.Principal {
	t.Helper()
	r := s.doJSON(t, "GET", "/v1/users/"+id, s.Root, "")
	var p api.Principal
	if r.Status != 200 || json.Unmarshal(r.Body, &p) != nil {
		t.Fatalf("GET /v1/users/%s: %d %.200s", id, r.Status, r.Body)
	}
	return p
}

// setMail replaces (or, with "", removes) user uid's mail in slapd.
func setMail(t *testing.T, dir *slapdtest.Server, uid, mail string) {
	t.Helper()
	c, err := dir.Dial(slapdtest.RootDN, slapdtest.RootPassword)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	m := ldap.NewModifyRequest(slapdtest.UserDN(uid), nil)
	if mail == "" {
		m.Delete("mail", nil)
	} else {
		m.Replace("mail", []string{mail})
	}
	if err := c.Modify(m); err != nil {
		t.Fatal(err)
	}
}

// TestLDAPSignInSetsProfile: a directory user's OpenID Connect profile
// comes from their entry — displayName (else cn) as name, mail as a
// verified email, uid as preferred_username — and follows the directory
// at every sign-in: an address it drops is no longer claimed.
func TestLDAPSignInSetsProfile(t *testing.T) {
	s, dir := startLDAPServer(t)
	newBrowser(t, s.URL, nil).mustLogin("alice", slapdtest.AlicePassword)
	newBrowser(t, s.URL, nil).mustLogin("bob", slapdtest.BobPassword)
	for _, want := range []api.Principal{
		{ID: "alice", Name: slapdtest.AliceDisplayName, Email: "alice@example.org", EmailVerified: true, PreferredUsername: "alice"},
		{ID: "bob", Name: "bob Example", Email: "bob@example.org", EmailVerified: true, PreferredUsername: "bob"},
	} {
		p := getUser(t, s, want.ID)
		if p.Name != want.Name || p.Email != want.Email || p.EmailVerified != want.EmailVerified || p.PreferredUsername != want.PreferredUsername {
			t.Errorf("%s after sign-in: name %q email %q verified %v preferred_username %q; want %+v",
				want.ID, p.Name, p.Email, p.EmailVerified, p.PreferredUsername, want)
		}
	}

	setMail(t, dir, "alice", "a.liddell@example.org")
	newBrowser(t, s.URL, nil).mustLogin("alice", slapdtest.AlicePassword)
	if p := getUser(t, s, "alice"); p.Email != "a.liddell@example.org" || !p.EmailVerified {
		t.Errorf("after the directory changed the mail: email %q verified %v", p.Email, p.EmailVerified)
	}
	setMail(t, dir, "alice", "")
	newBrowser(t, s.URL, nil).mustLogin("alice", slapdtest.AlicePassword)
	if p := getUser(t, s, "alice"); p.Email != "" || p.EmailVerified || p.PreferredUsername != "alice" {
		t.Errorf("after the directory dropped the mail: email %q verified %v preferred_username %q", p.Email, p.EmailVerified, p.PreferredUsername)
	}
	setMail(t, dir, "alice", "not an address")
	newBrowser(t, s.URL, nil).mustLogin("alice", slapdtest.AlicePassword)
	if p := getUser(t, s, "alice"); p.Email != "" || p.EmailVerified {
		t.Errorf("a malformed directory mail: email %q verified %v, want it left out", p.Email, p.EmailVerified)
	}
}

// removeFromGroup takes user uid out of group cn in slapd.
func removeFromGroup(t *testing.T, dir *slapdtest.Server, cn, uid string) {
	t.Helper()
	c, err := dir.Dial(slapdtest.RootDN, slapdtest.RootPassword)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	m := ldap.NewModifyRequest(slapdtest.GroupDN(cn), nil)
	m.Delete("member", []string{slapdtest.UserDN(uid)})
	if err := c.Modify(m); err != nil {
		t.Fatal(err)
	}
}

// TestLDAPSignInOverHTTP: a directory user signs in at /login with their
// directory password; the user is created with the permissions of their
// groups, which every sign-in refreshes; a wrong password gets 401 and a
// user deleted from the directory can no longer sign in.
func TestLDAPSignInOverHTTP(t *testing.T) {
	s, dir := startLDAPServer(t)
	if _, ok := userPermissions(t, s, "alice"); ok {
		t.Fatal("alice exists before signing in")
	}
	b := newBrowser(t, s.URL, nil)
	b.mustLogin("alice", slapdtest.AlicePassword)
	if !b.signedIn() {
		t.Fatal("alice is not signed in")
	}
	perms, ok := userPermissions(t, s, "alice")
	if !ok || !slices.Equal(perms, []string{"keys:read", "keys:verify"}) {
		t.Fatalf("alice after sign-in: exists %v, permissions %v; want keys:read keys:verify", ok, perms)
	}
	var f api.Factors
	if r := s.doJSON(t, "GET", "/v1/users/alice/factors", s.Root, ""); r.Status != 200 || json.Unmarshal(r.Body, &f) != nil || f.Source != "ldap" || f.Password {
		t.Errorf("alice's factors: %d %.200s; want source ldap, no local password", r.Status, r.Body)
	}

	dir.AddToGroup(t, "admins", "bob") // a groupOfNames needs a member
	removeFromGroup(t, dir, "admins", "alice")
	b.mustLogin("alice", slapdtest.AlicePassword)
	if perms, _ := userPermissions(t, s, "alice"); !slices.Equal(perms, []string{"keys:verify"}) {
		t.Errorf("after leaving admins: permissions %v, want keys:verify", perms)
	}
	removeFromGroup(t, dir, "engineers", "alice")
	b.mustLogin("alice", slapdtest.AlicePassword)
	if perms, _ := userPermissions(t, s, "alice"); len(perms) != 0 {
		t.Errorf("in no mapped group: permissions %v, want none", perms)
	}
	dir.AddToGroup(t, "admins", "alice")
	b.mustLogin("alice", slapdtest.AlicePassword)
	if perms, _ := userPermissions(t, s, "alice"); !slices.Equal(perms, []string{"keys:read"}) {
		t.Errorf("after joining admins: permissions %v, want keys:read", perms)
	}

	if r := newBrowser(t, s.URL, nil).login("alice", slapdtest.BobPassword); r.Status != http.StatusUnauthorized {
		t.Errorf("wrong directory password: %d, want 401", r.Status)
	}
	if r := newBrowser(t, s.URL, nil).login("nobody", "whatever-password-1"); r.Status != http.StatusUnauthorized {
		t.Errorf("user in neither latchkey nor the directory: %d, want 401", r.Status)
	}

	dir.DeleteUser(t, "alice")
	if r := newBrowser(t, s.URL, nil).login("alice", slapdtest.AlicePassword); r.Status != http.StatusUnauthorized {
		t.Errorf("sign-in of a user deleted from the directory: %d, want 401", r.Status)
	}
}

// TestLDAPNeverTakesOverLocalUser: a local user with a password keeps
// their account: the directory user of the same name cannot sign in as
// them with the directory password, nor change their permissions; the
// local password still works.
func TestLDAPNeverTakesOverLocalUser(t *testing.T) {
	s, _ := startLDAPServer(t)
	newUser(t, s, "bob", alicePassword, "keys:write")
	if r := newBrowser(t, s.URL, nil).login("bob", slapdtest.BobPassword); r.Status != http.StatusUnauthorized {
		t.Fatalf("directory password for the local bob: %d, want 401", r.Status)
	}
	if perms, _ := userPermissions(t, s, "bob"); !slices.Equal(perms, []string{"keys:write"}) {
		t.Errorf("local bob's permissions after a directory attempt: %v, want keys:write", perms)
	}
	var f api.Factors
	if r := s.doJSON(t, "GET", "/v1/users/bob/factors", s.Root, ""); r.Status != 200 || json.Unmarshal(r.Body, &f) != nil || f.Source != "local" || !f.Password {
		t.Errorf("bob's factors: %d %.200s; want source local with a password", r.Status, r.Body)
	}
	b := newBrowser(t, s.URL, nil)
	b.mustLogin("bob", alicePassword)
	if !b.signedIn() {
		t.Error("local bob cannot sign in with the local password")
	}
}

// TestLDAPNeverTakesOverPasswordlessLocalUser: a latchkey user without any
// password (one that only holds API keys, say) is not the directory's either:
// the directory entry of the same name cannot sign in as it, and its
// permissions stay as an administrator set them.
func TestLDAPNeverTakesOverPasswordlessLocalUser(t *testing.T) {
	s, _ := startLDAPServer(t)
	if r := s.doJSON(t, "POST", "/v1/users", s.Root, `{"id":"bob","permissions":["admin"]}`); r.Status != http.StatusCreated {
		t.Fatalf("create bob: %d %s", r.Status, r.Body)
	}
	if r := newBrowser(t, s.URL, nil).login("bob", slapdtest.BobPassword); r.Status != http.StatusUnauthorized {
		t.Fatalf("directory password for the password-less local bob: %d, want 401", r.Status)
	}
	if perms, _ := userPermissions(t, s, "bob"); !slices.Equal(perms, []string{"admin"}) {
		t.Errorf("local bob's permissions after a directory attempt: %v, want admin", perms)
	}
	// alice, whom the directory created, keeps signing in.
	b := newBrowser(t, s.URL, nil)
	b.mustLogin("alice", slapdtest.AlicePassword)
	if !b.signedIn() {
		t.Fatal("the directory user cannot sign in")
	}
	b2 := newBrowser(t, s.URL, nil)
	b2.mustLogin("alice", slapdtest.AlicePassword)
	if !b2.signedIn() {
		t.Fatal("the directory user cannot sign in a second time")
	}
}

// TestLDAPSignInSetsGroups: a directory user's groups (the OpenID Connect
// groups claim) are their directory group names, refreshed at every
// sign-in: a group the directory takes them out of is no longer theirs,
// and groups an admin set by hand give way to the directory's.
func TestLDAPSignInSetsGroups(t *testing.T) {
	s, dir := startLDAPServer(t)
	newBrowser(t, s.URL, nil).mustLogin("alice", slapdtest.AlicePassword)
	newBrowser(t, s.URL, nil).mustLogin("bob", slapdtest.BobPassword)
	if p := getUser(t, s, "alice"); !slices.Equal(p.Groups, []string{"admins", "engineers"}) {
		t.Errorf("alice's groups %q, want admins engineers", p.Groups)
	}
	if p := getUser(t, s, "bob"); !slices.Equal(p.Groups, []string{"engineers"}) {
		t.Errorf("bob's groups %q, want engineers", p.Groups)
	}
	if r := s.doJSON(t, http.MethodPatch, "/v1/users/alice", s.Root, `{"groups":["hand-made"]}`); r.Status != http.StatusOK {
		t.Fatalf("PATCH groups: %d %s", r.Status, r.Body)
	}
	removeFromGroup(t, dir, "engineers", "alice")
	newBrowser(t, s.URL, nil).mustLogin("alice", slapdtest.AlicePassword)
	p := getUser(t, s, "alice")
	if !slices.Equal(p.Groups, []string{"admins"}) || !slices.Equal(p.Permissions, []string{"keys:read"}) {
		t.Errorf("after leaving engineers: groups %q permissions %q, want admins and keys:read", p.Groups, p.Permissions)
	}
}
