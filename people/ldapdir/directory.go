// Package ldapdir signs users in through an LDAP or Active Directory
// server: a service account searches for the user, the user's own bind
// proves the password, and the user's groups map to latchkey permissions.
//
// Every call opens a fresh connection over LDAPS or StartTLS (certificate
// verified), bounded by Config.Timeout and the caller's context. latchkey
// never stores or logs directory passwords, and an empty password is
// refused before any bind: an LDAP simple bind with a DN and no password is
// an "unauthenticated bind" that many servers answer with success
// (RFC 4513 §5.1.2).
package ldapdir

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// maxUsername bounds the typed username; longer ones cannot be a user.
const maxUsername = 256

// noSuchDN is the RDN of the decoy bind made for unknown users.
const noSuchDN = "cn=latchkey-no-such-user"

// errNoMatch is the cause when the user filter matches no entry.
var errNoMatch = errors.New("no entry")

// Entry is a user as the directory describes it.
type Entry struct {
	DN       string
	Username string // the UsernameAttr value (the directory's spelling)
	Name     string // the NameAttr value (by default displayName, else cn)
	Email    string // the EmailAttr value
	// Groups are the names of the user's groups, sorted.
	Groups []string
	// Permissions are the union of the groups' mapped permissions, sorted
	// and without duplicates.
	Permissions []string
}

// Directory is a configured LDAP directory. It is safe for concurrent use.
type Directory struct {
	c       Config
	addr    string
	ldaps   bool
	tls     *tls.Config
	byName  map[string][]string // lower-cased group name → permissions
	byDN    []dnPerms
	userAtt []string
	// nameAtt are the attributes a user's name is read from, the first
	// one set wins: NameAttr, or displayName then cn if it is unset.
	nameAtt []string
}

type dnPerms struct {
	dn    *ldap.DN
	perms []string
}

// New checks c (Validate), reads CAFile and returns the directory. It does
// not connect.
func New(c Config) (*Directory, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	nameAtt := []string{c.NameAttr}
	if c.NameAttr == "" {
		nameAtt = []string{DefaultDisplayNameAttr, DefaultNameAttr}
	}
	c = c.withDefaults()
	host, addr, ldaps := address(c.URL)
	d := &Directory{c: c, addr: addr, ldaps: ldaps, byName: map[string][]string{}, nameAtt: nameAtt}
	if ldaps || c.StartTLS {
		roots, err := x509.SystemCertPool()
		if err != nil {
			roots = x509.NewCertPool()
		}
		if c.CAFile != "" {
			pem, err := os.ReadFile(c.CAFile)
			if err != nil {
				return nil, fmt.Errorf("ldap: CAFile: %w", err)
			}
			if !roots.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("ldap: CAFile %s holds no PEM certificate", c.CAFile)
			}
		}
		name := c.ServerName
		if name == "" {
			name = host
		}
		d.tls = &tls.Config{RootCAs: roots, ServerName: name, MinVersion: tls.VersionTLS12}
	}
	for g, perms := range c.GroupPermissions {
		if strings.Contains(g, "=") {
			dn, _ := ldap.ParseDN(g) // Validate parsed it
			d.byDN = append(d.byDN, dnPerms{dn, perms})
			continue
		}
		k := strings.ToLower(g)
		d.byName[k] = append(d.byName[k], perms...)
	}
	d.userAtt = append([]string{c.UsernameAttr, c.EmailAttr}, nameAtt...)
	if c.MemberOfAttr != "" {
		d.userAtt = append(d.userAtt, c.MemberOfAttr)
	}
	return d, nil
}

// Authenticate checks username and password against the directory and
// returns the user with its groups and permissions. Errors are *Error of
// kind ErrInvalidCredentials (unknown, ambiguous or refused user, wrong or
// empty password) or ErrUnavailable (see their docs).
func (d *Directory) Authenticate(ctx context.Context, username, password string) (*Entry, error) {
	if password == "" {
		return nil, fail(ErrInvalidCredentials, "empty password refused (it would be an unauthenticated bind)", nil)
	}
	if username == "" || len(username) > maxUsername {
		return nil, fail(ErrInvalidCredentials, "username empty or too long", nil)
	}
	conn, ctx, done, err := d.open(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	ue, err := d.findUser(ctx, conn, username, ErrInvalidCredentials)
	if errors.Is(err, errNoMatch) {
		// An unknown user costs the same round trips as a wrong password
		// (ADM-04): bind to a DN that names no one, and fail alike.
		conn.Bind(noSuchDN+","+d.c.UserBaseDN, password)
	}
	if err != nil {
		return nil, err
	}
	if err := conn.Bind(ue.DN, password); err != nil {
		if userRefused(err) {
			return nil, fail(ErrInvalidCredentials, "bind as "+ue.DN+" refused", err)
		}
		return nil, d.unavailable(ctx, "bind as "+ue.DN, err)
	}
	// Groups are read as the service account: users may not read them.
	if err := conn.Bind(d.c.BindDN, d.c.BindPassword); err != nil {
		return nil, d.unavailable(ctx, "service account re-bind as "+d.c.BindDN, err)
	}
	return d.entry(ctx, conn, ue)
}

// Lookup finds the user by username with the service account alone (no
// password): it tells a user removed from the directory (ErrNoSuchUser)
// and refreshes groups and permissions. Other errors are of kind
// ErrUnavailable.
func (d *Directory) Lookup(ctx context.Context, username string) (*Entry, error) {
	if username == "" || len(username) > maxUsername {
		return nil, fail(ErrNoSuchUser, "username empty or too long", nil)
	}
	conn, ctx, done, err := d.open(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	ue, err := d.findUser(ctx, conn, username, ErrNoSuchUser)
	if err != nil {
		return nil, err
	}
	return d.entry(ctx, conn, ue)
}

// open connects, secures the connection and binds the service account. The
// connection is closed when parent ends, the Timeout passes (ctx, which
// the caller uses from then on, ends with both), or done is called.
func (d *Directory) open(parent context.Context) (conn *ldap.Conn, ctx context.Context, done func(), err error) {
	ctx, cancel := context.WithTimeout(parent, d.c.Timeout)
	deadline, _ := ctx.Deadline()
	var dialer net.Dialer
	raw, err := dialer.DialContext(ctx, "tcp", d.addr)
	if err != nil {
		err = d.unavailable(ctx, "connect to "+d.addr, err)
		cancel()
		return nil, nil, nil, err
	}
	// Every read and write ends by the deadline, whatever go-ldap does.
	raw.SetDeadline(deadline)
	if d.ldaps {
		tc := tls.Client(raw, d.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			err = d.unavailable(ctx, "TLS with "+d.addr, err)
			raw.Close()
			cancel()
			return nil, nil, nil, err
		}
		raw = tc
	}
	conn = ldap.NewConn(raw, d.ldaps)
	conn.Start()
	conn.SetTimeout(time.Until(deadline))
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	done = func() {
		stop()
		conn.Close()
		cancel()
	}
	if d.c.StartTLS {
		if err := conn.StartTLS(d.tls); err != nil {
			err = d.unavailable(ctx, "StartTLS with "+d.addr, err)
			done()
			return nil, nil, nil, err
		}
	}
	if err := conn.Bind(d.c.BindDN, d.c.BindPassword); err != nil {
		err = d.unavailable(ctx, "service account bind as "+d.c.BindDN, err)
		done()
		return nil, nil, nil, err
	}
	return conn, ctx, done, nil
}

// findUser searches for exactly one user; none is an error of kind
// missing, several of ErrInvalidCredentials or ErrUnavailable (Lookup).
func (d *Directory) findUser(ctx context.Context, conn *ldap.Conn, username string, missing error) (*ldap.Entry, error) {
	req := ldap.NewSearchRequest(d.c.UserBaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		2, 0, false, userFilter(d.c.UserFilter, username), d.userAtt, nil)
	res, err := conn.Search(req)
	ambiguous := ErrInvalidCredentials
	if missing == ErrNoSuchUser {
		ambiguous = ErrUnavailable
	}
	switch {
	case ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded):
		return nil, fail(ambiguous, "user search under "+d.c.UserBaseDN, ErrAmbiguousUser)
	case ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject):
		return nil, fail(missing, "user search base "+d.c.UserBaseDN+" does not exist", err)
	case err != nil:
		return nil, d.unavailable(ctx, "user search under "+d.c.UserBaseDN, err)
	}
	switch len(res.Entries) {
	case 0:
		return nil, fail(missing, "no user matches the filter under "+d.c.UserBaseDN, errNoMatch)
	case 1:
	default:
		return nil, fail(ambiguous, fmt.Sprintf("user search under %s: %d entries", d.c.UserBaseDN, len(res.Entries)), ErrAmbiguousUser)
	}
	e := res.Entries[0]
	if e.DN == "" {
		// A bind with an empty DN is anonymous: never let one through.
		return nil, fail(ambiguous, "user search returned an entry without DN", nil)
	}
	return e, nil
}

// entry builds the Entry of ue, looking up its groups.
func (d *Directory) entry(ctx context.Context, conn *ldap.Conn, ue *ldap.Entry) (*Entry, error) {
	e := &Entry{
		DN:       ue.DN,
		Username: ue.GetAttributeValue(d.c.UsernameAttr),
		Email:    ue.GetAttributeValue(d.c.EmailAttr),
	}
	for _, a := range d.nameAtt {
		if e.Name = ue.GetAttributeValue(a); e.Name != "" {
			break
		}
	}
	if e.Username == "" {
		// A user without a name cannot be matched to a latchkey user.
		return nil, fail(ErrUnavailable, ue.DN+" has no "+d.c.UsernameAttr+" attribute (check UsernameAttr)", nil)
	}
	var groupDNs []string
	switch {
	case d.c.MemberOfAttr != "":
		for _, g := range ue.GetAttributeValues(d.c.MemberOfAttr) {
			groupDNs = append(groupDNs, g)
			e.Groups = append(e.Groups, rdnValue(g))
		}
	case d.c.GroupFilter != "":
		req := ldap.NewSearchRequest(d.c.GroupBaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
			0, 0, false, groupFilter(d.c.GroupFilter, ue.DN, e.Username), []string{d.c.GroupNameAttr}, nil)
		res, err := conn.Search(req)
		if err != nil {
			return nil, d.unavailable(ctx, "group search under "+d.c.GroupBaseDN, err)
		}
		for _, g := range res.Entries {
			name := g.GetAttributeValue(d.c.GroupNameAttr)
			if name == "" {
				name = rdnValue(g.DN)
			}
			groupDNs = append(groupDNs, g.DN)
			e.Groups = append(e.Groups, name)
		}
	}
	e.Permissions = d.permissions(e.Groups, groupDNs)
	slices.Sort(e.Groups)
	e.Groups = slices.Compact(e.Groups)
	return e, nil
}

// permissions returns the sorted union of the permissions mapped to the
// groups, by name or by DN.
func (d *Directory) permissions(names, dns []string) []string {
	var out []string
	for _, n := range names {
		out = append(out, d.byName[strings.ToLower(n)]...)
	}
	if len(d.byDN) > 0 {
		for _, s := range dns {
			dn, err := ldap.ParseDN(s)
			if err != nil {
				continue
			}
			for _, m := range d.byDN {
				if m.dn.EqualFold(dn) {
					out = append(out, m.perms...)
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// rdnValue returns the value of the first attribute of dn's first RDN
// ("admins" for cn=admins,ou=groups,…), or dn itself when it does not
// parse.
func rdnValue(dn string) string {
	p, err := ldap.ParseDN(dn)
	if err != nil || len(p.RDNs) == 0 || len(p.RDNs[0].Attributes) == 0 {
		return dn
	}
	return p.RDNs[0].Attributes[0].Value
}

// userRefused reports whether err is the server refusing the user's bind
// (wrong password, locked or disabled account, password policy, the entry
// gone since the search) rather than an outage (busy, unavailable,
// network).
func userRefused(err error) bool {
	var le *ldap.Error
	if !errors.As(err, &le) {
		return false
	}
	switch le.ResultCode {
	case ldap.LDAPResultInvalidCredentials, ldap.LDAPResultInsufficientAccessRights,
		ldap.LDAPResultUnwillingToPerform, ldap.LDAPResultConstraintViolation,
		ldap.LDAPResultNoSuchObject, ldap.LDAPResultInappropriateAuthentication:
		return true
	}
	return false
}

// unavailable wraps err as ErrUnavailable, adding the context's error when
// it ended the call.
func (d *Directory) unavailable(ctx context.Context, what string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		err = errors.Join(err, cerr)
	} else if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		// The connection's own deadline fired first.
		err = errors.Join(err, context.DeadlineExceeded)
	}
	return fail(ErrUnavailable, what, err)
}
