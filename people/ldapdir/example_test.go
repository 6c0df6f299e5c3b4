package ldapdir_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/latchkey/latchkey/people/ldapdir"
)

// An Active Directory domain over LDAPS: users by sAMAccountName, groups
// from memberOf, two groups granting permissions.
func ExampleNew_activeDirectory() {
	d, err := ldapdir.New(ldapdir.Config{
		URL:          "ldaps://dc1.corp.example.com:636",
		CAFile:       "/etc/latchkey/corp-ca.pem",
		BindDN:       "CN=latchkey,OU=Service Accounts,DC=corp,DC=example,DC=com",
		BindPassword: "from LATCHKEY_LDAP_BIND_PASSWORD_FILE",
		UserBaseDN:   "OU=Staff,DC=corp,DC=example,DC=com",
		// Enabled accounts only (bit 2 of userAccountControl clear).
		UserFilter:   "(&(objectClass=user)(sAMAccountName={username})(!(userAccountControl:1.2.840.113556.1.4.803:=2)))",
		UsernameAttr: "sAMAccountName",
		NameAttr:     "displayName",
		MemberOfAttr: "memberOf",
		GroupPermissions: map[string][]string{
			"latchkey-admins": {"admin"},
			"CN=Payments Engineers,OU=Groups,DC=corp,DC=example,DC=com": {"payments:read", "payments:write"},
		},
		Timeout: 5 * time.Second,
	})
	if err != nil {
		log.Fatal(err)
	}
	e, err := d.Authenticate(context.Background(), "alice", "typed password")
	switch {
	case errors.Is(err, ldapdir.ErrInvalidCredentials):
		// The same answer as for a local user with a wrong password; log
		// err (its reason) but never the password.
	case errors.Is(err, ldapdir.ErrUnavailable):
		// The directory is down or misconfigured: tell the user to retry.
	case err == nil:
		fmt.Println(e.Username, e.Permissions)
	}
}

// OpenLDAP over StartTLS, groups found by a search. Nested Active
// Directory groups are found the same way with the matching rule
// LDAP_MATCHING_RULE_IN_CHAIN: "(member:1.2.840.113556.1.4.1941:={dn})".
func ExampleConfig_Validate() {
	c := ldapdir.Config{
		URL:          "ldap://ldap.example.org",
		BindDN:       "cn=reader,dc=example,dc=org",
		BindPassword: "secret",
		UserBaseDN:   "ou=people,dc=example,dc=org",
		UserFilter:   "(&(objectClass=inetOrgPerson)(uid={username}))",
		GroupBaseDN:  "ou=groups,dc=example,dc=org",
		GroupFilter:  "(&(objectClass=groupOfNames)(member={dn}))",
	}
	fmt.Println(c.Validate())
	c.StartTLS = true
	fmt.Println(c.Validate())
	// Output:
	// ldap: an ldap:// URL needs StartTLS (or use ldaps://): passwords must not cross the network in the clear
	// <nil>
}
