package ldapdir_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/latchkey/latchkey/internal/slapdtest"
	"github.com/latchkey/latchkey/people/ldapdir"
)

// config returns a configuration for s over LDAPS with group search.
func config(s *slapdtest.Server) ldapdir.Config {
	return ldapdir.Config{
		URL:          s.LDAPSURL,
		CAFile:       s.CAFile,
		BindDN:       slapdtest.BindDN,
		BindPassword: slapdtest.BindPassword,
		UserBaseDN:   slapdtest.PeopleDN,
		UserFilter:   "(&(objectClass=inetOrgPerson)(uid={username}))",
		GroupBaseDN:  slapdtest.GroupsDN,
		GroupFilter:  "(&(objectClass=groupOfNames)(member={dn}))",
		GroupPermissions: map[string][]string{
			"admins":    {"keys:admin", "keys:read"},
			"engineers": {"keys:read", "keys:write"},
		},
		Timeout: 10 * time.Second,
	}
}

func newDir(t *testing.T, c ldapdir.Config) *ldapdir.Directory {
	t.Helper()
	d, err := ldapdir.New(c)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return d
}

// wantKind fails unless err is of kind and holds none of the secrets.
func wantKind(t *testing.T, err, kind error, secrets ...string) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("err = %v, want %v", err, kind)
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Fatalf("error text %q contains a secret", err)
		}
	}
}

func TestAuthenticate(t *testing.T) {
	s := slapdtest.Start(t)
	ctx := context.Background()
	starttls := config(s)
	starttls.URL, starttls.StartTLS = s.LDAPURL, true
	memberOf := config(s)
	memberOf.GroupBaseDN, memberOf.GroupFilter, memberOf.MemberOfAttr = "", "", "memberOf"
	for name, c := range map[string]ldapdir.Config{"ldaps": config(s), "starttls": starttls, "memberOf": memberOf} {
		t.Run(name, func(t *testing.T) {
			d := newDir(t, c)
			e, err := d.Authenticate(ctx, "alice", slapdtest.AlicePassword)
			if err != nil {
				t.Fatalf("Authenticate(alice): %v", err)
			}
			want := ldapdir.Entry{
				DN: slapdtest.UserDN("alice"), Username: "alice", Name: slapdtest.AliceDisplayName, Email: "alice@example.org",
				Groups:      []string{"admins", "engineers"},
				Permissions: []string{"keys:admin", "keys:read", "keys:write"},
			}
			if e.DN != want.DN || e.Username != want.Username || e.Name != want.Name || e.Email != want.Email ||
				!slices.Equal(e.Groups, want.Groups) || !slices.Equal(e.Permissions, want.Permissions) {
				t.Errorf("alice = %+v\nwant %+v", *e, want)
			}
			e, err = d.Authenticate(ctx, "bob", slapdtest.BobPassword)
			if err != nil {
				t.Fatalf("Authenticate(bob): %v", err)
			}
			if !slices.Equal(e.Groups, []string{"engineers"}) || !slices.Equal(e.Permissions, []string{"keys:read", "keys:write"}) {
				t.Errorf("bob groups %q permissions %q", e.Groups, e.Permissions)
			}
			if e.Name != "bob Example" || e.Email != "bob@example.org" {
				t.Errorf("bob (no displayName): name %q email %q, want his cn and mail", e.Name, e.Email)
			}
		})
	}
}

// TestNameAttr: with NameAttr set, only that attribute gives the name;
// unset, displayName wins over cn.
func TestNameAttr(t *testing.T) {
	s := slapdtest.Start(t)
	ctx := context.Background()
	for _, tc := range []struct{ attr, user, password, want string }{
		{"", "alice", slapdtest.AlicePassword, slapdtest.AliceDisplayName},
		{"cn", "alice", slapdtest.AlicePassword, "alice Example"},
		{"displayName", "bob", slapdtest.BobPassword, ""},
		{"sn", "bob", slapdtest.BobPassword, "Example"},
	} {
		c := config(s)
		c.NameAttr = tc.attr
		e, err := newDir(t, c).Authenticate(ctx, tc.user, tc.password)
		if err != nil {
			t.Fatalf("NameAttr %q: Authenticate(%s): %v", tc.attr, tc.user, err)
		}
		if e.Name != tc.want {
			t.Errorf("NameAttr %q: %s's name %q, want %q", tc.attr, tc.user, e.Name, tc.want)
		}
	}
}

func TestAuthenticateRefused(t *testing.T) {
	s := slapdtest.Start(t)
	d := newDir(t, config(s))
	ctx := context.Background()
	for _, tc := range []struct{ name, user, password string }{
		{"wrong password", "alice", "not-" + slapdtest.AlicePassword},
		{"other user's password", "alice", slapdtest.BobPassword},
		{"unknown user", "nobody", slapdtest.AlicePassword},
		{"empty password", "alice", ""},
		{"empty username", "", slapdtest.AlicePassword},
		{"injection/star", "*", slapdtest.AlicePassword},
		{"injection/close paren", "alice)(uid=*", slapdtest.AlicePassword},
		{"injection/or", "*)(|(uid=*", slapdtest.AlicePassword},
		{"injection/escaped star", `\2a`, slapdtest.AlicePassword},
		{"injection/prefix", "ali*", slapdtest.AlicePassword},
		{"injection/nul", "alice\x00", slapdtest.AlicePassword},
		{"long username", strings.Repeat("a", 300), slapdtest.AlicePassword},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := d.Authenticate(ctx, tc.user, tc.password)
			if e != nil {
				t.Errorf("entry %+v returned", *e)
			}
			typed := tc.user // never echoed, except inside a DN the directory found
			if typed == "alice" {
				typed = ""
			}
			wantKind(t, err, ldapdir.ErrInvalidCredentials, tc.password, typed)
			if errors.Is(err, ldapdir.ErrAmbiguousUser) {
				t.Errorf("the username matched several entries (filter injection?): %v", err)
			}
		})
	}
}

// An empty password is refused by ldapdir itself: the server would have
// answered the same bind (an unauthenticated bind) with success.
func TestEmptyPasswordRefusedBeforeBind(t *testing.T) {
	s := slapdtest.Start(t)
	c, err := ldap.DialURL(s.LDAPSURL, ldap.DialWithTLSConfig(s.TLSConfig()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.UnauthenticatedBind(slapdtest.UserDN("alice")); err != nil {
		t.Fatalf("the server refuses unauthenticated binds (%v): this test proves nothing", err)
	}
	d := newDir(t, config(s))
	_, err = d.Authenticate(context.Background(), "alice", "")
	wantKind(t, err, ldapdir.ErrInvalidCredentials)
}

// A filter matching several users gives no one a sign-in.
func TestAmbiguousUser(t *testing.T) {
	s := slapdtest.Start(t)
	c := config(s)
	c.UserFilter = "(|(uid={username})(uid=bob))"
	d := newDir(t, c)
	_, err := d.Authenticate(context.Background(), "alice", slapdtest.AlicePassword)
	wantKind(t, err, ldapdir.ErrInvalidCredentials, slapdtest.AlicePassword)
	if !errors.Is(err, ldapdir.ErrAmbiguousUser) {
		t.Errorf("err = %v, want ErrAmbiguousUser too", err)
	}
	_, err = d.Lookup(context.Background(), "alice")
	wantKind(t, err, ldapdir.ErrUnavailable)
	if !errors.Is(err, ldapdir.ErrAmbiguousUser) {
		t.Errorf("Lookup err = %v, want ErrAmbiguousUser too", err)
	}
}

func TestGroupPermissions(t *testing.T) {
	s := slapdtest.Start(t)
	s.AddUser(t, "carol", "carol-secret-for-tests")
	s.AddGroup(t, "interns", "carol")                        // unmapped
	dn := s.AddGroup(t, "auditors", "carol", "alice", "bob") // mapped by DN
	s.AddToGroup(t, "engineers", "carol")
	for name, groups := range map[string]func(*ldapdir.Config){
		"group search": func(*ldapdir.Config) {},
		"memberOf": func(c *ldapdir.Config) {
			c.GroupBaseDN, c.GroupFilter, c.MemberOfAttr = "", "", "memberOf"
		},
	} {
		t.Run(name, func(t *testing.T) {
			c := config(s)
			groups(&c)
			c.GroupPermissions["ENGINEERS"] = []string{"keys:write", "apps:read"} // case-insensitive, merged
			c.GroupPermissions[strings.ToUpper(dn)] = []string{"audit:read"}
			d := newDir(t, c)
			e, err := d.Authenticate(context.Background(), "carol", "carol-secret-for-tests")
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{"auditors", "engineers", "interns"}; !slices.Equal(e.Groups, want) {
				t.Errorf("groups %q, want %q", e.Groups, want)
			}
			if want := []string{"apps:read", "audit:read", "keys:read", "keys:write"}; !slices.Equal(e.Permissions, want) {
				t.Errorf("permissions %q, want %q", e.Permissions, want)
			}
		})
	}
}

func TestRemovedUser(t *testing.T) {
	s := slapdtest.Start(t)
	s.AddUser(t, "dave", "dave-secret-for-tests")
	d := newDir(t, config(s))
	ctx := context.Background()
	e, err := d.Lookup(ctx, "dave")
	if err != nil || e.DN != slapdtest.UserDN("dave") {
		t.Fatalf("Lookup(dave) = %+v, %v", e, err)
	}
	if _, err := d.Authenticate(ctx, "dave", "dave-secret-for-tests"); err != nil {
		t.Fatalf("Authenticate(dave) before removal: %v", err)
	}
	s.DeleteUser(t, "dave")
	_, err = d.Authenticate(ctx, "dave", "dave-secret-for-tests")
	wantKind(t, err, ldapdir.ErrInvalidCredentials)
	_, err = d.Lookup(ctx, "dave")
	wantKind(t, err, ldapdir.ErrNoSuchUser)
	if errors.Is(err, ldapdir.ErrUnavailable) {
		t.Errorf("a removed user must not look like an outage: %v", err)
	}
}

func TestUnavailable(t *testing.T) {
	s := slapdtest.Start(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		edit func(*ldapdir.Config)
	}{
		{"ldaps/CA not trusted", func(c *ldapdir.Config) { c.CAFile = "" }},
		{"starttls/CA not trusted", func(c *ldapdir.Config) { c.CAFile, c.URL, c.StartTLS = "", s.LDAPURL, true }},
		{"wrong server name", func(c *ldapdir.Config) { c.ServerName = "ldap.example.org" }},
		{"service account wrong password", func(c *ldapdir.Config) { c.BindPassword = "wrong-service-secret" }},
		{"service account unknown", func(c *ldapdir.Config) { c.BindDN = "cn=nobody," + slapdtest.BaseDN }},
		{"ldaps URL on the plain port", func(c *ldapdir.Config) { c.URL = strings.Replace(s.LDAPURL, "ldap:", "ldaps:", 1) }},
		{"nothing listening", func(c *ldapdir.Config) { c.URL = "ldaps://127.0.0.1:1" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := config(s)
			tc.edit(&c)
			d := newDir(t, c)
			_, err := d.Authenticate(ctx, "alice", slapdtest.AlicePassword)
			wantKind(t, err, ldapdir.ErrUnavailable, slapdtest.AlicePassword, c.BindPassword)
			if errors.Is(err, ldapdir.ErrInvalidCredentials) {
				t.Errorf("an outage must not look like a wrong password: %v", err)
			}
			_, err = d.Lookup(ctx, "alice")
			wantKind(t, err, ldapdir.ErrUnavailable, c.BindPassword)
		})
	}
}

// A server that accepts the connection but never answers ends the call at
// the context's deadline.
func TestDeadline(t *testing.T) {
	s := slapdtest.Start(t)
	l := slapdtest.Silent(t)
	c := config(s)
	c.URL = "ldap://" + l
	c.StartTLS = true
	d := newDir(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := d.Authenticate(ctx, "alice", slapdtest.AlicePassword)
	wantKind(t, err, ldapdir.ErrUnavailable)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want context.DeadlineExceeded too", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("Authenticate took %v despite a 200ms deadline", el)
	}
}

// The InsecureNoTLS escape hatch works (tests and development only).
func TestInsecureNoTLS(t *testing.T) {
	s := slapdtest.Start(t)
	c := config(s)
	c.URL, c.CAFile, c.InsecureNoTLS = s.LDAPURL, "", true
	d := newDir(t, c)
	if _, err := d.Authenticate(context.Background(), "alice", slapdtest.AlicePassword); err != nil {
		t.Fatal(err)
	}
}

// A UsernameAttr the entries lack (sAMAccountName on OpenLDAP) is a
// configuration error, not a user without a name.
func TestMissingUsernameAttr(t *testing.T) {
	s := slapdtest.Start(t)
	c := config(s)
	c.UsernameAttr = "sAMAccountName"
	d := newDir(t, c)
	_, err := d.Authenticate(context.Background(), "alice", slapdtest.AlicePassword)
	wantKind(t, err, ldapdir.ErrUnavailable, slapdtest.AlicePassword)
	if !strings.Contains(err.Error(), "sAMAccountName") {
		t.Errorf("err = %v, want it to name the attribute", err)
	}
}

// Config.Timeout bounds a call whose context has no deadline.
func TestConfigTimeout(t *testing.T) {
	c := config(slapdtest.Start(t))
	c.URL, c.StartTLS = "ldap://"+slapdtest.Silent(t), true
	c.Timeout = 200 * time.Millisecond
	d := newDir(t, c)
	start := time.Now()
	_, err := d.Lookup(context.Background(), "alice")
	wantKind(t, err, ldapdir.ErrUnavailable)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want context.DeadlineExceeded too", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("Lookup took %v despite a 200ms Timeout", el)
	}
}

// A cancelled context ends the call at once.
func TestCancelled(t *testing.T) {
	d := newDir(t, config(slapdtest.Start(t)))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := d.Authenticate(ctx, "alice", slapdtest.AlicePassword)
	wantKind(t, err, ldapdir.ErrUnavailable)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled too", err)
	}
}

// One Directory serves concurrent sign-ins, each on its own connection.
func TestConcurrent(t *testing.T) {
	d := newDir(t, config(slapdtest.Start(t)))
	errs := make(chan error, 16)
	for i := range 16 {
		go func() {
			user, pw := "alice", slapdtest.AlicePassword
			if i%2 == 1 {
				user, pw = "bob", slapdtest.BobPassword
			}
			e, err := d.Authenticate(context.Background(), user, pw)
			if err == nil && e.Username != user {
				err = errors.New("got " + e.Username + ", want " + user)
			}
			errs <- err
		}()
	}
	for range 16 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
