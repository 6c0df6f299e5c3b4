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
