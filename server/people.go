package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/latchkey/latchkey/people"
	"github.com/latchkey/latchkey/people/ldapdir"
	"github.com/latchkey/latchkey/people/upstream"
	"github.com/latchkey/latchkey/seal"
	"github.com/latchkey/latchkey/token"
)

// PeopleConfig configures sign-in: sessions, passkeys and the directory.
type PeopleConfig struct {
	// IdleTimeout and AbsoluteTimeout bound sessions (defaults 12h, 7d).
	IdleTimeout, AbsoluteTimeout time.Duration
	// RPID is the WebAuthn relying party ID: the host name users open
	// latchkey at (default: the issuer's host; "localhost" when that is an
	// IP address, which WebAuthn does not allow). "-" disables passkeys.
	RPID string
	// Origins are the page origins passkeys are used from (default: the
	// issuer's origin, and http://localhost:<port> for a local issuer).
	Origins []string
	// Directory, if set, signs in users without a local password.
	Directory people.Directory
	// SecureCookies forces Secure cookies (for TLS terminated by a proxy
	// in front of latchkey); they are Secure anyway when latchkey serves
	// TLS itself or the issuer is https.
	SecureCookies bool
	// Upstreams are OpenID Connect providers the sign-in page offers;
	// their RedirectURL is set from the issuer
	// (<issuer>/login/upstream/{id}/callback).
	Upstreams []upstream.Config
	// OutboundAllowPrivate lets latchkey reach providers at loopback and
	// private addresses (LATCHKEY_OUTBOUND_ALLOW_PRIVATE=true).
	OutboundAllowPrivate bool
}

// upstreams builds the providers of c and the codec of their state
// cookie (its key derived from the master key).
func upstreams(c PeopleConfig, issuer string, mk [32]byte) ([]*upstream.Provider, *upstream.Codec, error) {
	if len(c.Upstreams) == 0 {
		return nil, nil, nil
	}
	client := upstream.NewHTTPClient(c.OutboundAllowPrivate)
	seen := map[string]bool{}
	var out []*upstream.Provider
	for _, uc := range c.Upstreams {
		if seen[uc.ID] {
			return nil, nil, fmt.Errorf("oidc provider %q is configured twice", uc.ID)
		}
		seen[uc.ID] = true
		uc.RedirectURL = issuer + "/login/upstream/" + uc.ID + "/callback"
		if uc.HTTPClient == nil {
			uc.HTTPClient = client
		}
		p, err := upstream.New(uc)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, p)
	}
	key := hmac.New(sha256.New, mk[:])
	key.Write([]byte("latchkey upstream sign-in state v1"))
	codec, err := upstream.NewCodec(key.Sum(nil))
	if err != nil {
		return nil, nil, err
	}
	return out, codec, nil
}

// relyingParty works out the WebAuthn RP ID and origins from the issuer.
func relyingParty(c PeopleConfig, issuer string) (string, []string) {
	if c.RPID == "-" {
		return "", nil
	}
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" {
		return c.RPID, c.Origins
	}
	host, port := u.Hostname(), u.Port()
	rpID, origins := c.RPID, c.Origins
	local := net.ParseIP(host) != nil
	if rpID == "" {
		rpID = host
		if local {
			rpID = "localhost"
		}
	}
	if len(origins) == 0 {
		origins = []string{u.Scheme + "://" + u.Host}
		if local || host == "localhost" {
			lh := "localhost"
			if port != "" {
				lh = net.JoinHostPort("localhost", port)
			}
			origins = append(origins, u.Scheme+"://"+lh)
		}
	}
	return rpID, origins
}

// newPeople builds the sign-in service over the store.
func newPeople(c Config, db token.Store, svc *token.Service, box *seal.Box, mk [32]byte, issuer string) (*people.Service, error) {
	ps, ok := db.(people.Store)
	if !ok {
		return nil, errors.New("the store does not keep sign-in credentials")
	}
	rpID, origins := relyingParty(c.People, issuer)
	pepper := hmac.New(sha256.New, mk[:])
	pepper.Write([]byte("latchkey recovery codes v1"))
	return people.New(people.Config{Store: ps, Tokens: svc, Box: box, Pepper: pepper.Sum(nil), Issuer: "latchkey",
		Directory: c.People.Directory, IdleTimeout: c.People.IdleTimeout, AbsoluteTimeout: c.People.AbsoluteTimeout,
		RPID: rpID, RPName: "latchkey", RPOrigins: origins, Log: c.Log})
}

// every runs fn every interval until ctx ends, logging its failures as
// what (the pruning loops of sessions, grants and nonces).
func every(ctx context.Context, interval time.Duration, log *slog.Logger, what string, fn func(context.Context) error) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := fn(ctx); err != nil && ctx.Err() == nil {
			log.Warn(what+" failed", "err", err)
		}
	}
}

// secureCookies reports whether browsers reach latchkey over TLS.
func secureCookies(c Config, issuer string) bool {
	return c.TLSCert != "" || c.People.SecureCookies || strings.HasPrefix(issuer, "https://")
}

// ldapDirectory adapts an LDAP directory to the sign-in service.
type ldapDirectory struct{ d *ldapdir.Directory }

// LDAPDirectory returns d as a sign-in directory.
func LDAPDirectory(d *ldapdir.Directory) people.Directory { return ldapDirectory{d} }

func (l ldapDirectory) Authenticate(ctx context.Context, username, password string) (*people.DirectoryUser, error) {
	e, err := l.d.Authenticate(ctx, username, password)
	if errors.Is(err, ldapdir.ErrInvalidCredentials) {
		return nil, people.ErrDirectoryRejected
	}
	if err != nil {
		return nil, err
	}
	return &people.DirectoryUser{DN: e.DN, Username: e.Username, Name: e.Name, Email: e.Email,
		Groups: e.Groups, Permissions: e.Permissions}, nil
}
