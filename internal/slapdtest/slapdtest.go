// Package slapdtest gives tests a real OpenLDAP server: Start writes a
// throwaway CA, a server certificate and a slapd.conf into a temp dir,
// starts /usr/sbin/slapd on free loopback ports (ldap:// with StartTLS and
// ldaps://), seeds a small directory and stops it when the test ends.
//
// The directory under dc=example,dc=org:
//
//	cn=reader,dc=example,dc=org          read-only service account (BindDN, BindPassword)
//	uid=alice,ou=people,dc=example,dc=org  password AlicePassword, in admins and engineers,
//	                                       displayName AliceDisplayName
//	uid=bob,ou=people,dc=example,dc=org    password BobPassword, in engineers
//	cn=admins,ou=groups,dc=example,dc=org  groupOfNames
//	cn=engineers,ou=groups,dc=example,dc=org
//
// Every user has cn "<uid> Example" and mail <uid>@example.org.
//
// The memberof overlay keeps each user's memberOf attribute (as Active
// Directory does), and the server accepts unauthenticated binds (a DN with
// an empty password, RFC 4513 §5.1.2) as many directories do, so that tests
// can prove a client refuses empty passwords itself.
//
// When slapd is not installed the test is skipped loudly, or fails when
// LATCHKEY_TEST_REQUIRE_SERVICES=1 (as in CI); scripts/test-deps.sh
// installs it.
package slapdtest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// The seeded directory's names and secrets (test values only).
const (
	BaseDN        = "dc=example,dc=org"
	PeopleDN      = "ou=people," + BaseDN
	GroupsDN      = "ou=groups," + BaseDN
	RootDN        = "cn=admin," + BaseDN
	RootPassword  = "root-secret-for-tests"
	BindDN        = "cn=reader," + BaseDN
	BindPassword  = "reader-secret-for-tests"
	AlicePassword = "alice-secret-for-tests"
	BobPassword   = "bob-secret-for-tests"
	// AliceDisplayName is the seeded alice's displayName; bob has none,
	// so a reader of displayName falls back to his cn "bob Example".
	AliceDisplayName = "Alice Liddell"
)

// Slapd is where Start looks for the server binary.
const Slapd = "/usr/sbin/slapd"

// Server is one running slapd.
type Server struct {
	// LDAPURL is ldap://127.0.0.1:port; the server offers StartTLS on it.
	LDAPURL string
	// LDAPSURL is ldaps://127.0.0.1:port.
	LDAPSURL string
	// CAFile is the PEM file of the CA that signed the server certificate
	// (for 127.0.0.1 and localhost).
	CAFile string
	// Dir is the server's temp dir (config, certificates, database).
	Dir string

	cmd    *exec.Cmd
	exited chan struct{}
	out    *syncBuffer
}

// Start starts a fresh, seeded slapd for t and stops it when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	if _, err := os.Stat(Slapd); err != nil {
		const msg = "OpenLDAP slapd (" + Slapd + ") is not installed: this LDAP test was NOT RUN " +
			"(install the Debian packages slapd and ldap-utils, e.g. scripts/test-deps.sh)"
		if os.Getenv("LATCHKEY_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatal(msg + "; LATCHKEY_TEST_REQUIRE_SERVICES=1 requires it")
		}
		t.Skip("SKIPPING: " + msg)
	}
	dir := t.TempDir()
	certs, err := writeCerts(dir)
	if err != nil {
		t.Fatalf("slapdtest: certificates: %v", err)
	}
	s := &Server{CAFile: certs.CA, Dir: dir}
	// Free ports are found by listening on port 0 and closing; another
	// process may take one before slapd binds it, so a start that fails
	// is retried on new ports.
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		if lastErr = s.start(certs); lastErr == nil {
			break
		}
	}
	if lastErr != nil {
		t.Fatalf("slapdtest: %v", lastErr)
	}
	t.Cleanup(s.stop)
	if err := s.seed(); err != nil {
		t.Fatalf("slapdtest: seed: %v", err)
	}
	return s
}

func (s *Server) start(certs certFiles) error {
	p1, err := freePort()
	if err != nil {
		return err
	}
	p2, err := freePort()
	if err != nil {
		return err
	}
	s.LDAPURL = "ldap://127.0.0.1:" + strconv.Itoa(p1)
	s.LDAPSURL = "ldaps://127.0.0.1:" + strconv.Itoa(p2)
	db := filepath.Join(s.Dir, "db")
	if err := os.RemoveAll(db); err != nil {
		return err
	}
	if err := os.Mkdir(db, 0o700); err != nil {
		return err
	}
	conf := filepath.Join(s.Dir, "slapd.conf")
	if err := os.WriteFile(conf, []byte(config(s.Dir, db, certs)), 0o600); err != nil {
		return err
	}
	s.out = &syncBuffer{}
	cmd := exec.Command(Slapd, "-d", "0", "-f", conf, "-h", s.LDAPURL+"/ "+s.LDAPSURL+"/")
	cmd.Stdout, cmd.Stderr = s.out, s.out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start slapd: %w", err)
	}
	s.cmd, s.exited = cmd, make(chan struct{})
	go func() { cmd.Wait(); close(s.exited) }()

	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		err := s.answers()
		if err == nil {
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("slapd exited before answering: %s", s.out.String())
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			s.stop()
			return fmt.Errorf("slapd did not answer within 20s: %v; output: %s", err, s.out.String())
		}
	}
}

// answers reports (nil) whether this slapd answers on both URLs: a TLS
// handshake with the test CA's certificate and the root bind prove it is
// ours, not another process that took a port first.
func (s *Server) answers() error {
	c, err := s.Dial(RootDN, RootPassword)
	if err != nil {
		return err
	}
	c.Close()
	c, err = ldap.DialURL(s.LDAPURL, ldap.DialWithDialer(&net.Dialer{Timeout: time.Second}))
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetTimeout(time.Second)
	return c.StartTLS(s.TLSConfig())
}

// stop ends slapd (SIGTERM, then SIGKILL after 5 s) and waits for it.
func (s *Server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
}

// config returns the slapd.conf of a server with its files in dir.
func config(dir, db string, c certFiles) string {
	var b strings.Builder
	for _, sc := range []string{"core", "cosine", "inetorgperson"} {
		fmt.Fprintf(&b, "include /etc/ldap/schema/%s.schema\n", sc)
	}
	if md := moduleDir(); md != "" {
		fmt.Fprintf(&b, "modulepath %s\nmoduleload back_mdb\nmoduleload memberof\n", md)
	}
	fmt.Fprintf(&b, "pidfile %s\nargsfile %s\n", filepath.Join(dir, "slapd.pid"), filepath.Join(dir, "slapd.args"))
	fmt.Fprintf(&b, "TLSCACertificateFile %s\nTLSCertificateFile %s\nTLSCertificateKeyFile %s\n", c.CA, c.Cert, c.Key)
	// Unauthenticated binds succeed (as anonymous), as on many servers:
	// the client must refuse empty passwords itself.
	b.WriteString("allow bind_anon_dn\n")
	fmt.Fprintf(&b, `database mdb
maxsize 16777216
suffix %q
rootdn %q
rootpw %s
directory %s
overlay memberof
memberof-group-oc groupOfNames
memberof-member-ad member
memberof-memberof-ad memberOf
access to attrs=userPassword
	by anonymous auth
	by * none
access to *
	by dn.exact=%q read
	by self read
	by * none
`, BaseDN, RootDN, RootPassword, db, BindDN)
	return b.String()
}

// moduleDir returns the directory holding slapd's back_mdb module, or ""
// when slapd has it built in.
func moduleDir() string {
	for _, d := range []string{"/usr/lib/ldap", "/usr/lib/openldap", "/usr/lib64/openldap", "/usr/libexec/openldap"} {
		if _, err := os.Stat(filepath.Join(d, "back_mdb.so")); err == nil {
			return d
		}
	}
	return ""
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// TLSConfig returns a client TLS configuration trusting the test CA.
func (s *Server) TLSConfig() *tls.Config {
	pem, err := os.ReadFile(s.CAFile)
	if err != nil {
		panic(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// Dial returns a connection over LDAPS, bound as dn with password.
func (s *Server) Dial(dn, password string) (*ldap.Conn, error) {
	c, err := ldap.DialURL(s.LDAPSURL, ldap.DialWithTLSConfig(s.TLSConfig()),
		ldap.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}))
	if err != nil {
		return nil, err
	}
	c.SetTimeout(10 * time.Second)
	if err := c.Bind(dn, password); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// UserDN returns the DN of the user uid.
func UserDN(uid string) string { return "uid=" + ldap.EscapeDN(uid) + "," + PeopleDN }

// GroupDN returns the DN of the group cn.
func GroupDN(cn string) string { return "cn=" + ldap.EscapeDN(cn) + "," + GroupsDN }

func (s *Server) admin(t testing.TB, f func(*ldap.Conn) error) {
	t.Helper()
	c, err := s.Dial(RootDN, RootPassword)
	if err != nil {
		t.Fatalf("slapdtest: bind as %s: %v", RootDN, err)
	}
	defer c.Close()
	if err := f(c); err != nil {
		t.Fatalf("slapdtest: %v", err)
	}
}

// AddUser adds the inetOrgPerson uid (cn "<uid> Example", mail
// <uid>@example.org) with password and returns its DN.
func (s *Server) AddUser(t testing.TB, uid, password string) string {
	t.Helper()
	dn := UserDN(uid)
	s.admin(t, func(c *ldap.Conn) error { return c.Add(userRequest(uid, password)) })
	return dn
}

// DeleteUser removes the user uid from the directory (its group
// memberships stay, as a careless admin would leave them).
func (s *Server) DeleteUser(t testing.TB, uid string) {
	t.Helper()
	s.admin(t, func(c *ldap.Conn) error { return c.Del(ldap.NewDelRequest(UserDN(uid), nil)) })
}

// AddGroup adds the groupOfNames cn with the users uids as members.
func (s *Server) AddGroup(t testing.TB, cn string, uids ...string) string {
	t.Helper()
	s.admin(t, func(c *ldap.Conn) error { return c.Add(groupRequest(cn, uids...)) })
	return GroupDN(cn)
}

// AddToGroup adds the user uid to the group cn.
func (s *Server) AddToGroup(t testing.TB, cn, uid string) {
	t.Helper()
	s.admin(t, func(c *ldap.Conn) error {
		m := ldap.NewModifyRequest(GroupDN(cn), nil)
		m.Add("member", []string{UserDN(uid)})
		return c.Modify(m)
	})
}

func (s *Server) seed() error {
	c, err := s.Dial(RootDN, RootPassword)
	if err != nil {
		return fmt.Errorf("bind as %s: %w", RootDN, err)
	}
	defer c.Close()
	base := ldap.NewAddRequest(BaseDN, nil)
	base.Attribute("objectClass", []string{"dcObject", "organization"})
	base.Attribute("dc", []string{"example"})
	base.Attribute("o", []string{"Example"})
	reader := ldap.NewAddRequest(BindDN, nil)
	reader.Attribute("objectClass", []string{"organizationalRole", "simpleSecurityObject"})
	reader.Attribute("cn", []string{"reader"})
	reader.Attribute("userPassword", []string{BindPassword})
	reqs := []*ldap.AddRequest{base, reader, ou("people"), ou("groups"),
		withAttr(userRequest("alice", AlicePassword), "displayName", AliceDisplayName), userRequest("bob", BobPassword),
		groupRequest("admins", "alice"), groupRequest("engineers", "alice", "bob")}
	for _, r := range reqs {
		if err := c.Add(r); err != nil {
			return fmt.Errorf("add %s: %w", r.DN, err)
		}
	}
	return nil
}

func ou(name string) *ldap.AddRequest {
	r := ldap.NewAddRequest("ou="+name+","+BaseDN, nil)
	r.Attribute("objectClass", []string{"organizationalUnit"})
	r.Attribute("ou", []string{name})
	return r
}

func userRequest(uid, password string) *ldap.AddRequest {
	r := ldap.NewAddRequest(UserDN(uid), nil)
	r.Attribute("objectClass", []string{"inetOrgPerson"})
	r.Attribute("uid", []string{uid})
	r.Attribute("cn", []string{uid + " Example"})
	r.Attribute("sn", []string{"Example"})
	r.Attribute("mail", []string{uid + "@example.org"})
	r.Attribute("userPassword", []string{password})
	return r
}

// withAttr returns r with the attribute name set to value.
func withAttr(r *ldap.AddRequest, name, value string) *ldap.AddRequest {
	r.Attribute(name, []string{value})
	return r
}

func groupRequest(cn string, uids ...string) *ldap.AddRequest {
	r := ldap.NewAddRequest(GroupDN(cn), nil)
	r.Attribute("objectClass", []string{"groupOfNames"})
	r.Attribute("cn", []string{cn})
	members := make([]string, len(uids))
	for i, u := range uids {
		members[i] = UserDN(u)
	}
	r.Attribute("member", members)
	return r
}

// syncBuffer collects slapd's output for error messages.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// Silent returns the address of a loopback listener that accepts
// connections and never answers, closed when t ends: for deadline tests.
func Silent(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("slapdtest: listen: %v", err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}
