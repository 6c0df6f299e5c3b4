package slapdtest

import (
	"testing"

	"github.com/go-ldap/ldap/v3"
)

func TestStartSeedsDirectory(t *testing.T) {
	s := Start(t)
	c, err := s.Dial(BindDN, BindPassword)
	if err != nil {
		t.Fatalf("service bind over LDAPS: %v", err)
	}
	defer c.Close()
	res, err := c.Search(ldap.NewSearchRequest(BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(uid=alice)", []string{"cn", "mail", "memberOf"}, nil))
	if err != nil {
		t.Fatalf("search: %v", err)
	}
	if len(res.Entries) != 1 {
		t.Fatalf("alice: %d entries, want 1", len(res.Entries))
	}
	e := res.Entries[0]
	if e.DN != UserDN("alice") || e.GetAttributeValue("mail") != "alice@example.org" {
		t.Errorf("alice = %s %q", e.DN, e.GetAttributeValue("mail"))
	}
	if got := e.GetAttributeValues("memberOf"); len(got) != 2 {
		t.Errorf("alice memberOf = %q, want admins and engineers", got)
	}
}

func TestStartTLSAndHelpers(t *testing.T) {
	s := Start(t)
	c, err := ldap.DialURL(s.LDAPURL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tc := s.TLSConfig()
	tc.ServerName = "localhost" // the certificate names both
	if err := c.StartTLS(tc); err != nil {
		t.Fatalf("StartTLS: %v", err)
	}
	if err := c.UnauthenticatedBind(UserDN("alice")); err != nil {
		t.Errorf("unauthenticated bind refused (the connector tests rely on it): %v", err)
	}

	dn := s.AddUser(t, "erin", "erin-secret-for-tests")
	s.AddToGroup(t, "admins", "erin")
	s.AddGroup(t, "ops", "erin")
	if err := c.Bind(dn, "erin-secret-for-tests"); err != nil {
		t.Fatalf("bind as the new user: %v", err)
	}
	res, err := c.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"memberOf"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Entries[0].GetAttributeValues("memberOf"); len(got) != 2 {
		t.Errorf("erin memberOf = %q, want admins and ops", got)
	}
	s.DeleteUser(t, "erin")
	if err := c.Bind(dn, "erin-secret-for-tests"); !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
		t.Errorf("bind as a deleted user: %v, want invalid credentials", err)
	}
	if _, err := s.Dial(BindDN, "wrong"); !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
		t.Errorf("service bind with a wrong password: %v", err)
	}
}

// Two servers at once get their own ports and directories.
func TestParallelServers(t *testing.T) {
	a, b := Start(t), Start(t)
	if a.LDAPURL == b.LDAPURL || a.LDAPSURL == b.LDAPSURL || a.Dir == b.Dir {
		t.Fatalf("servers share %s %s %s", a.LDAPURL, a.LDAPSURL, a.Dir)
	}
	a.AddUser(t, "only-in-a", "secret-a-for-tests")
	c, err := b.Dial(BindDN, BindPassword)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	res, err := c.Search(ldap.NewSearchRequest(PeopleDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(uid=only-in-a)", nil, nil))
	if err != nil || len(res.Entries) != 0 {
		t.Errorf("server b sees a's user: %v %v", res, err)
	}
}
