package token

import (
	"context"
	"errors"
	"time"

	"github.com/latchkey/latchkey/apitoken"
	"github.com/latchkey/latchkey/ratelimit"
	"github.com/latchkey/latchkey/scope"
)

// KeyspaceParams describes a keyspace to create, or the attributes to change
// (nil stays as it is).
type KeyspaceParams struct {
	Name           string
	Prefix         *string
	DefaultTTL     *time.Duration
	MaxTTL         *time.Duration
	AllowPermanent *bool
	Scopes         *[]string
	RateLimits     *[]ratelimit.Limit
	Audiences      *[]string
	// AllowAPIKeyHeader, see Keyspace.
	AllowAPIKeyHeader *bool
	// Recoverable, see Keyspace.
	Recoverable *bool
}

// apply validates p and writes it into ks.
func (p *KeyspaceParams) apply(ks *Keyspace) error {
	if p.Prefix != nil {
		if !apitoken.ValidPrefix(*p.Prefix) {
			return invalidf("prefix %q must be 1-32 characters of lower-case letters, digits and '_' starting with a letter", truncate(*p.Prefix, 40))
		}
		ks.Prefix = *p.Prefix
	}
	if p.DefaultTTL != nil {
		ks.DefaultTTL = *p.DefaultTTL
	}
	if p.MaxTTL != nil {
		ks.MaxTTL = *p.MaxTTL
	}
	if p.AllowPermanent != nil {
		ks.AllowPermanent = *p.AllowPermanent
	}
	if p.RateLimits != nil {
		if err := validRateLimits("ratelimits", *p.RateLimits); err != nil {
			return err
		}
		ks.RateLimits = *p.RateLimits
	}
	if p.Scopes != nil {
		ss := scope.Normalize(*p.Scopes)
		if err := validScopes("scopes", ss); err != nil {
			return err
		}
		ks.Scopes = ss
	}
	if p.AllowAPIKeyHeader != nil {
		ks.AllowAPIKeyHeader = *p.AllowAPIKeyHeader
	}
	if p.Recoverable != nil {
		if *p.Recoverable && ks.Name == ManagementKeyspace {
			return invalidf("keyspace %q cannot be recoverable: management credentials are never kept", ManagementKeyspace)
		}
		if *p.Recoverable && (ks.Name == "oauth" || ks.Name == "oauth-grants") {
			// The OAuth server's keyspaces (oauth.AccessKeyspace,
			// oauth.GrantKeyspace): users' access tokens are never kept.
			return invalidf("keyspace %q cannot be recoverable: it holds OAuth tokens, which are never kept", ks.Name)
		}
		ks.Recoverable = *p.Recoverable
	}
	if p.Audiences != nil {
		if err := validAudiences(*p.Audiences); err != nil {
			return err
		}
		ks.Audiences = append([]string(nil), *p.Audiences...)
	}
	switch {
	case ks.DefaultTTL < 0 || ks.MaxTTL < 0:
		return invalidf("default_ttl and max_ttl must not be negative")
	case ks.DefaultTTL > 0 && ks.DefaultTTL < time.Second:
		return invalidf("default_ttl must be at least 1s")
	case ks.MaxTTL > 0 && ks.DefaultTTL > ks.MaxTTL:
		return invalidf("default_ttl %s exceeds max_ttl %s", ks.DefaultTTL, ks.MaxTTL)
	case !ks.AllowPermanent && ks.DefaultTTL == 0 && ks.MaxTTL == 0:
		return invalidf("a keyspace that forbids permanent keys needs a default_ttl or max_ttl")
	}
	return nil
}

// CreateKeyspace creates a keyspace. Unset attributes default to: prefix =
// the name with '-' turned into '_', permanent keys allowed, no TTLs.
func (s *Service) CreateKeyspace(ctx context.Context, a *Actor, p KeyspaceParams) (*Keyspace, error) {
	if !a.May(ScopeKeyspacesWrite) {
		return nil, s.deny(ctx, a, "keyspace.create", "keyspace", p.Name, ScopeKeyspacesWrite)
	}
	if !keyspaceNameRE.MatchString(p.Name) {
		return nil, invalidf("keyspace name %q must be 1-63 characters of lower-case letters, digits, '-' and '_'", truncate(p.Name, 70))
	}
	if p.Name == ManagementKeyspace {
		return nil, conflictf("keyspace_exists", "keyspace %q is built in", p.Name)
	}
	now := s.Now()
	ks := &Keyspace{Name: p.Name, Prefix: defaultPrefix(p.Name), AllowPermanent: true, CreatedAt: now, UpdatedAt: now}
	if p.AllowPermanent == nil && p.MaxTTL != nil && *p.MaxTTL > 0 {
		ks.AllowPermanent = false // a lifetime cap implies every key expires
	}
	if err := p.apply(ks); err != nil {
		return nil, err
	}
	if err := s.mayKeep(p.Recoverable); err != nil {
		return nil, err
	}
	detail := map[string]string{"prefix": ks.Prefix}
	if ks.Recoverable {
		detail["recoverable"] = "true"
	}
	if err := s.wrote(s.store.CreateKeyspace(ctx, ks, s.audit(a, "keyspace.create", "keyspace", ks.Name, detail))); err != nil {
		if errors.Is(err, ErrConflict) {
			return nil, conflictf("keyspace_exists", "keyspace %q already exists", ks.Name)
		}
		return nil, storeErr(err, "create keyspace")
	}
	return ks, nil
}

func defaultPrefix(name string) string {
	b := []byte(name)
	for i, c := range b {
		if c == '-' {
			b[i] = '_'
		}
	}
	if len(b) > 32 {
		b = b[:32]
	}
	if p := string(b); apitoken.ValidPrefix(p) {
		return p
	}
	return "k" + string(b[:min(len(b), 31)])
}

// Keyspace returns one keyspace. Any management credential may read
// keyspaces: they hold configuration, no secrets.
func (s *Service) Keyspace(ctx context.Context, a *Actor, name string) (*Keyspace, error) {
	ks, err := s.store.Keyspace(ctx, name)
	if errors.Is(err, ErrNotFound) {
		return nil, notFound("keyspace", name)
	}
	if err != nil {
		return nil, storeErr(err, "get keyspace")
	}
	return ks, nil
}

// Keyspaces lists every keyspace.
func (s *Service) Keyspaces(ctx context.Context, a *Actor) ([]*Keyspace, error) {
	kss, err := s.store.ListKeyspaces(ctx)
	if err != nil {
		return nil, storeErr(err, "list keyspaces")
	}
	return kss, nil
}

// UpdateKeyspace changes a keyspace. The settings apply to keys created,
// renewed or updated afterwards; existing expiries stay as they are.
func (s *Service) UpdateKeyspace(ctx context.Context, a *Actor, p KeyspaceParams) (*Keyspace, error) {
	if !a.May(ScopeKeyspacesWrite) {
		return nil, s.deny(ctx, a, "keyspace.update", "keyspace", p.Name, ScopeKeyspacesWrite)
	}
	if p.Name == ManagementKeyspace && !a.May(ScopeAdmin) {
		return nil, s.deny(ctx, a, "keyspace.update", "keyspace", p.Name, ScopeAdmin)
	}
	if p.Name == ManagementKeyspace && (p.Prefix != nil || p.Scopes != nil) {
		return nil, invalidf("the prefix and scopes of keyspace %q are fixed", ManagementKeyspace)
	}
	if err := s.mayKeep(p.Recoverable); err != nil {
		return nil, err
	}
	var detail map[string]string
	if p.Recoverable != nil {
		// Turning it off deletes the kept plaintexts (the store does it in
		// this transaction): worth a line in the audit log either way.
		detail = map[string]string{"recoverable": boolString(*p.Recoverable)}
	}
	now := s.Now()
	ks, err := s.store.UpdateKeyspace(ctx, p.Name, func(ks *Keyspace) error {
		ks.UpdatedAt = now
		return p.apply(ks)
	}, s.audit(a, "keyspace.update", "keyspace", p.Name, detail))
	s.wrote(err)
	if errors.Is(err, ErrNotFound) {
		return nil, notFound("keyspace", p.Name)
	}
	if err != nil {
		return nil, storeErr(err, "update keyspace")
	}
	return ks, nil
}

// mayKeep refuses to turn recoverable keys on without a master key to seal
// them with.
func (s *Service) mayKeep(recoverable *bool) error {
	if recoverable != nil && *recoverable && s.secrets == nil {
		return invalidf("recoverable keys need a master key, which this server was started without")
	}
	return nil
}

// validAudiences checks a keyspace's JWT audiences: at most 16, each 1-256
// printable ASCII characters without spaces, no duplicates.
func validAudiences(as []string) error {
	if len(as) > 16 {
		return invalidf("audiences: at most 16")
	}
	seen := map[string]bool{}
	for _, a := range as {
		if a == "" || len(a) > 256 {
			return invalidf("audiences: each must be 1-256 characters")
		}
		for i := 0; i < len(a); i++ {
			if a[i] <= ' ' || a[i] > '~' {
				return invalidf("audiences: only printable ASCII without spaces")
			}
		}
		if seen[a] {
			return invalidf("audiences: %q appears twice", truncate(a, 40))
		}
		seen[a] = true
	}
	return nil
}

// KeyspaceAllowsAPIKeyHeader reports whether keys of keyspace name may be
// presented as X-API-Key (for the gateway, which has verified the key, not
// a management actor). An unknown keyspace allows nothing.
func (s *Service) KeyspaceAllowsAPIKeyHeader(ctx context.Context, name string) (bool, error) {
	ks, err := s.store.Keyspace(ctx, name)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, storeErr(err, "keyspace %s", name)
	}
	return ks.AllowAPIKeyHeader, nil
}

// KeyspaceAudiences returns the audiences JWTs for keys of keyspace name
// may ask for besides the keyspace itself. It is for the token exchange,
// which has authenticated the key, not a management actor.
func (s *Service) KeyspaceAudiences(ctx context.Context, name string) ([]string, error) {
	ks, err := s.store.Keyspace(ctx, name)
	if err != nil {
		return nil, storeErr(err, "keyspace %s", name)
	}
	return ks.Audiences, nil
}
