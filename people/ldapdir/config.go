package ldapdir

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// Defaults of the optional Config fields.
const (
	DefaultUsernameAttr = "uid"
	DefaultNameAttr     = "cn"
	// DefaultDisplayNameAttr is read before DefaultNameAttr when NameAttr
	// is unset: a person's displayName is the name they go by.
	DefaultDisplayNameAttr = "displayName"
	DefaultEmailAttr       = "mail"
	DefaultGroupNameAttr   = "cn"
	DefaultTimeout         = 10 * time.Second
)

// Config says how to reach a directory and how to read users and groups
// from it. The zero values of the optional fields take the defaults above.
type Config struct {
	// URL is ldaps://host:port or ldap://host:port (the port may be left
	// out: 636 and 389).
	URL string
	// StartTLS upgrades an ldap:// connection to TLS before anything is
	// sent; it is required for ldap:// unless InsecureNoTLS.
	StartTLS bool
	// InsecureNoTLS allows ldap:// without StartTLS: the service account's
	// and every user's password then cross the network in the clear. For
	// tests and development only.
	InsecureNoTLS bool
	// CAFile is an optional PEM file of extra root certificates (beside
	// the system's) trusted for the server's certificate.
	CAFile string
	// ServerName is the name the server's certificate must carry; by
	// default the URL's host.
	ServerName string
	// BindDN and BindPassword are the service account that searches the
	// directory.
	BindDN, BindPassword string
	// UserBaseDN is where users are searched (whole subtree).
	UserBaseDN string
	// UserFilter finds one user; {username} is replaced with the
	// filter-escaped name typed at sign-in, e.g.
	// "(&(objectClass=inetOrgPerson)(uid={username}))" or, for Active
	// Directory, "(&(objectClass=user)(sAMAccountName={username}))".
	UserFilter string
	// UsernameAttr, NameAttr and EmailAttr are read from the user's entry
	// (default uid, displayName falling back to cn, and mail). They give
	// the user's OpenID Connect profile: UsernameAttr the
	// preferred_username (and the latchkey user ID), NameAttr the name and
	// EmailAttr the email, verified because the directory vouches for it.
	UsernameAttr, NameAttr, EmailAttr string
	// GroupBaseDN and GroupFilter find the user's groups: {dn} is replaced
	// with the user's filter-escaped DN and {username} with the escaped
	// UsernameAttr value, e.g. "(&(objectClass=groupOfNames)(member={dn}))".
	GroupBaseDN, GroupFilter string
	// GroupNameAttr names a group found by GroupFilter (default cn).
	GroupNameAttr string
	// MemberOfAttr is the alternative to GroupFilter: the user entry's
	// attribute listing the DNs of its groups ("memberOf" on Active
	// Directory and with OpenLDAP's memberof overlay). A group's name is
	// then the value of the first RDN of its DN.
	MemberOfAttr string
	// GroupPermissions maps a group, by name (compared case-insensitively)
	// or by full DN, to latchkey permissions. A user holds the union of
	// the permissions of its groups; unmapped groups grant nothing.
	GroupPermissions map[string][]string
	// Timeout bounds one Authenticate or Lookup, connection included
	// (default 10 s); a context deadline that comes first wins.
	Timeout time.Duration
}

// Validate reports the first problem with c, in terms an operator can act
// on. It does not contact the directory or read CAFile.
func (c Config) Validate() error {
	if c.URL == "" {
		return errors.New("ldap: URL is required (ldaps://host:port, or ldap://host:port with StartTLS)")
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return fmt.Errorf("ldap: URL %q: %w", c.URL, err)
	}
	if u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("ldap: URL %q has no host", c.URL)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return fmt.Errorf("ldap: URL %q: only scheme, host and port are allowed", c.URL)
	}
	switch u.Scheme {
	case "ldaps":
		if c.StartTLS {
			return errors.New("ldap: StartTLS is for ldap:// URLs; an ldaps:// URL is TLS from the start")
		}
		if c.InsecureNoTLS {
			return errors.New("ldap: InsecureNoTLS contradicts an ldaps:// URL")
		}
	case "ldap":
		if c.StartTLS && c.InsecureNoTLS {
			return errors.New("ldap: StartTLS and InsecureNoTLS contradict each other")
		}
		if !c.StartTLS && !c.InsecureNoTLS {
			return errors.New("ldap: an ldap:// URL needs StartTLS (or use ldaps://): passwords must not cross the network in the clear")
		}
	default:
		return fmt.Errorf("ldap: URL scheme %q: want ldaps or ldap", u.Scheme)
	}
	if c.BindDN == "" || c.BindPassword == "" {
		return errors.New("ldap: BindDN and BindPassword (the service account) are required")
	}
	if _, err := ldap.ParseDN(c.BindDN); err != nil {
		return fmt.Errorf("ldap: BindDN: %w", err)
	}
	if c.UserBaseDN == "" {
		return errors.New("ldap: UserBaseDN is required")
	}
	if _, err := ldap.ParseDN(c.UserBaseDN); err != nil {
		return fmt.Errorf("ldap: UserBaseDN: %w", err)
	}
	if !strings.Contains(c.UserFilter, "{username}") {
		return errors.New(`ldap: UserFilter must contain {username}, e.g. "(&(objectClass=inetOrgPerson)(uid={username}))"`)
	}
	if _, err := ldap.CompileFilter(userFilter(c.UserFilter, "x")); err != nil {
		return fmt.Errorf("ldap: UserFilter %q: %w", c.UserFilter, err)
	}
	if c.GroupFilter != "" && c.MemberOfAttr != "" {
		return errors.New("ldap: set GroupFilter or MemberOfAttr, not both")
	}
	if c.GroupFilter != "" {
		if c.GroupBaseDN == "" {
			return errors.New("ldap: GroupFilter needs GroupBaseDN")
		}
		if _, err := ldap.ParseDN(c.GroupBaseDN); err != nil {
			return fmt.Errorf("ldap: GroupBaseDN: %w", err)
		}
		if _, err := ldap.CompileFilter(groupFilter(c.GroupFilter, "cn=x", "x")); err != nil {
			return fmt.Errorf("ldap: GroupFilter %q: %w", c.GroupFilter, err)
		}
	} else if c.GroupBaseDN != "" {
		return errors.New("ldap: GroupBaseDN is set but GroupFilter is empty")
	}
	if len(c.GroupPermissions) > 0 && c.GroupFilter == "" && c.MemberOfAttr == "" {
		return errors.New("ldap: GroupPermissions needs GroupFilter (with GroupBaseDN) or MemberOfAttr to find groups")
	}
	for g, perms := range c.GroupPermissions {
		if strings.TrimSpace(g) == "" {
			return errors.New("ldap: GroupPermissions has an empty group name")
		}
		if strings.Contains(g, "=") {
			if _, err := ldap.ParseDN(g); err != nil {
				return fmt.Errorf("ldap: GroupPermissions group %q: not a DN: %w", g, err)
			}
		}
		for _, p := range perms {
			if strings.TrimSpace(p) == "" {
				return fmt.Errorf("ldap: GroupPermissions group %q has an empty permission", g)
			}
		}
	}
	if c.Timeout < 0 {
		return fmt.Errorf("ldap: Timeout %v is negative", c.Timeout)
	}
	return nil
}

// withDefaults returns c with the defaults filled in.
func (c Config) withDefaults() Config {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&c.UsernameAttr, DefaultUsernameAttr)
	def(&c.NameAttr, DefaultNameAttr)
	def(&c.EmailAttr, DefaultEmailAttr)
	def(&c.GroupNameAttr, DefaultGroupNameAttr)
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

// address returns host:port of the URL (Validate has passed) and whether
// it is LDAPS.
func address(rawURL string) (host, addr string, ldaps bool) {
	u, _ := url.Parse(rawURL)
	ldaps = u.Scheme == "ldaps"
	port := u.Port()
	if port == "" {
		port = "389"
		if ldaps {
			port = "636"
		}
	}
	return u.Hostname(), net.JoinHostPort(u.Hostname(), port), ldaps
}

// userFilter fills the user filter template with the escaped username.
func userFilter(tmpl, username string) string {
	return strings.NewReplacer("{username}", ldap.EscapeFilter(username)).Replace(tmpl)
}

// groupFilter fills the group filter template with the escaped user DN
// and username (one pass: a value containing "{dn}" is not expanded).
func groupFilter(tmpl, dn, username string) string {
	return strings.NewReplacer("{dn}", ldap.EscapeFilter(dn), "{username}", ldap.EscapeFilter(username)).Replace(tmpl)
}
