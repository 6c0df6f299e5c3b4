package ldapdir

import (
	"errors"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

func validConfig() Config {
	return Config{
		URL:          "ldaps://ldap.example.org:636",
		BindDN:       "cn=reader,dc=example,dc=org",
		BindPassword: "service-secret",
		UserBaseDN:   "ou=people,dc=example,dc=org",
		UserFilter:   "(&(objectClass=inetOrgPerson)(uid={username}))",
		GroupBaseDN:  "ou=groups,dc=example,dc=org",
		GroupFilter:  "(&(objectClass=groupOfNames)(member={dn}))",
		GroupPermissions: map[string][]string{
			"admins":                             {"keys:admin"},
			"cn=ops,ou=groups,dc=example,dc=org": {"keys:read"},
		},
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string // substring of the error; "" for valid
	}{
		{"ok/ldaps", func(*Config) {}, ""},
		{"ok/ldap with StartTLS", func(c *Config) { c.URL, c.StartTLS = "ldap://ldap.example.org", true }, ""},
		{"ok/ldap insecure", func(c *Config) { c.URL, c.InsecureNoTLS = "ldap://127.0.0.1:389", true }, ""},
		{"ok/memberOf", func(c *Config) { c.GroupBaseDN, c.GroupFilter, c.MemberOfAttr = "", "", "memberOf" }, ""},
		{"ok/no groups", func(c *Config) { c.GroupBaseDN, c.GroupFilter, c.GroupPermissions = "", "", nil }, ""},
		{"no URL", func(c *Config) { c.URL = "" }, "URL is required"},
		{"ldap without StartTLS", func(c *Config) { c.URL = "ldap://ldap.example.org" }, "needs StartTLS"},
		{"ldaps with StartTLS", func(c *Config) { c.StartTLS = true }, "StartTLS is for ldap://"},
		{"ldaps insecure", func(c *Config) { c.InsecureNoTLS = true }, "InsecureNoTLS contradicts"},
		{"StartTLS and insecure", func(c *Config) { c.URL, c.StartTLS, c.InsecureNoTLS = "ldap://h", true, true }, "contradict"},
		{"http scheme", func(c *Config) { c.URL = "http://ldap.example.org" }, `scheme "http"`},
		{"no host", func(c *Config) { c.URL = "ldaps://" }, "no host"},
		{"path", func(c *Config) { c.URL = "ldaps://h/dc=example,dc=org" }, "only scheme, host and port"},
		{"no bind DN", func(c *Config) { c.BindDN = "" }, "BindDN and BindPassword"},
		{"no bind password", func(c *Config) { c.BindPassword = "" }, "BindDN and BindPassword"},
		{"bad bind DN", func(c *Config) { c.BindDN = "reader" }, "BindDN"},
		{"no user base", func(c *Config) { c.UserBaseDN = "" }, "UserBaseDN is required"},
		{"filter without placeholder", func(c *Config) { c.UserFilter = "(uid=alice)" }, "must contain {username}"},
		{"filter syntax", func(c *Config) { c.UserFilter = "(uid={username}" }, "UserFilter"},
		{"group filter syntax", func(c *Config) { c.GroupFilter = "member={dn})" }, "GroupFilter"},
		{"group filter without base", func(c *Config) { c.GroupBaseDN = "" }, "needs GroupBaseDN"},
		{"group base without filter", func(c *Config) { c.GroupFilter = "" }, "GroupFilter is empty"},
		{"both group sources", func(c *Config) { c.MemberOfAttr = "memberOf" }, "not both"},
		{"permissions without groups", func(c *Config) { c.GroupBaseDN, c.GroupFilter = "", "" }, "needs GroupFilter"},
		{"empty permission", func(c *Config) { c.GroupPermissions["admins"] = []string{""} }, "empty permission"},
		{"bad group DN", func(c *Config) { c.GroupPermissions["cn=,=x"] = []string{"p"} }, "not a DN"},
		{"negative timeout", func(c *Config) { c.Timeout = -1 }, "negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig()
			tc.edit(&c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate = %v, want an error containing %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), c.BindPassword) && c.BindPassword != "" {
				t.Errorf("error %q shows the bind password", err)
			}
			if _, nerr := New(c); (nerr == nil) != (err == nil) {
				t.Errorf("New error %v, Validate error %v", nerr, err)
			}
		})
	}
}

func TestFilters(t *testing.T) {
	const tmpl = "(&(objectClass=inetOrgPerson)(uid={username}))"
	for _, tc := range []struct{ in, want string }{
		{"alice", "(&(objectClass=inetOrgPerson)(uid=alice))"},
		{"*", `(&(objectClass=inetOrgPerson)(uid=\2a))`},
		{"alice)(uid=*", `(&(objectClass=inetOrgPerson)(uid=alice\29\28uid=\2a))`},
		{`\2a`, `(&(objectClass=inetOrgPerson)(uid=\5c2a))`},
		{"a\x00b", `(&(objectClass=inetOrgPerson)(uid=a\00b))`},
		{"{dn}", "(&(objectClass=inetOrgPerson)(uid={dn}))"},
	} {
		got := userFilter(tmpl, tc.in)
		if got != tc.want {
			t.Errorf("userFilter(%q) = %s, want %s", tc.in, got, tc.want)
		}
		if _, err := ldap.CompileFilter(got); err != nil {
			t.Errorf("userFilter(%q) = %s does not compile: %v", tc.in, got, err)
		}
	}
	// One pass: a username holding "{dn}" is not expanded again.
	got := groupFilter("(|(member={dn})(memberUid={username}))", "uid=a*,ou=people,dc=x", "{dn}")
	if want := `(|(member=uid=a\2a,ou=people,dc=x)(memberUid={dn}))`; got != want {
		t.Errorf("groupFilter = %s, want %s", got, want)
	}
}

func TestNewCAFile(t *testing.T) {
	c := validConfig()
	c.CAFile = "/nonexistent/ca.pem"
	if _, err := New(c); err == nil || !strings.Contains(err.Error(), "CAFile") {
		t.Errorf("New with a missing CAFile = %v", err)
	}
	c.CAFile = "config_test.go" // not PEM
	if _, err := New(c); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("New with a non-PEM CAFile = %v", err)
	}
}

func TestUserRefused(t *testing.T) {
	for code, want := range map[uint16]bool{
		ldap.LDAPResultInvalidCredentials:       true,
		ldap.LDAPResultUnwillingToPerform:       true, // AD: account restrictions
		ldap.LDAPResultConstraintViolation:      true, // OpenLDAP ppolicy lockout
		ldap.LDAPResultNoSuchObject:             true, // removed since the search
		ldap.LDAPResultBusy:                     false,
		ldap.LDAPResultUnavailable:              false,
		ldap.LDAPResultOther:                    false,
		ldap.ErrorNetwork:                       false,
		ldap.ErrorEmptyPassword:                 false,
		ldap.LDAPResultInsufficientAccessRights: true,
	} {
		if got := userRefused(ldap.NewError(code, errors.New("x"))); got != want {
			t.Errorf("userRefused(%d) = %v, want %v", code, got, want)
		}
	}
	if userRefused(errors.New("plain")) {
		t.Error("a non-LDAP error counts as a refusal")
	}
}
