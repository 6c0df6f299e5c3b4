package token

import (
	"context"
	"errors"

	"github.com/latchkey/latchkey/apitoken"
)

// Prefixes of the built-in keyspaces.
const (
	DefaultPrefix    = "lk"
	ManagementPrefix = "lk_mgmt"
)

// MinRootKeyLen is the shortest operator-chosen root credential accepted.
const MinRootKeyLen = 32

// Bootstrap prepares an empty store and is safe to call on every start: it
// creates the built-in keyspaces if missing and, if the store holds no
// management key yet, a root credential with scope admin. If rootKey is set
// it becomes a root credential (created if no key has that secret yet).
// The returned token is non-zero only when a root key was generated: the
// caller shows it once (an operator-chosen rootKey is never echoed). If
// save is set it receives a generated key before the key is stored, so a
// failure to save it leaves no root key that nobody has seen.
func (s *Service) Bootstrap(ctx context.Context, rootKey string, save ...func(apitoken.Token) error) (apitoken.Token, error) {
	now := s.Now()
	for _, ks := range []*Keyspace{
		{Name: DefaultKeyspace, Prefix: DefaultPrefix, AllowPermanent: true, CreatedAt: now, UpdatedAt: now},
		{Name: ManagementKeyspace, Prefix: ManagementPrefix, AllowPermanent: true, CreatedAt: now, UpdatedAt: now},
	} {
		if _, err := s.store.Keyspace(ctx, ks.Name); err == nil {
			continue
		} else if !errors.Is(err, ErrNotFound) {
			return apitoken.Token{}, storeErr(err, "bootstrap: look up keyspace")
		}
		err := s.store.CreateKeyspace(ctx, ks, s.audit(SystemActor, "keyspace.create", "keyspace", ks.Name, map[string]string{"prefix": ks.Prefix}))
		if err != nil && !errors.Is(err, ErrConflict) {
			return apitoken.Token{}, storeErr(err, "bootstrap: create keyspace")
		}
	}
	foreign, _, err := s.store.ListKeys(ctx, KeyFilter{Foreign: true, Limit: 1, Now: now})
	if err != nil {
		return apitoken.Token{}, storeErr(err, "bootstrap: look for foreign keys")
	}
	s.foreign.Store(len(foreign) > 0)

	params := CreateKeyParams{Keyspace: ManagementKeyspace, Name: "root", Scopes: []string{ScopeAdmin}}
	if rootKey != "" {
		if len(rootKey) < MinRootKeyLen {
			return apitoken.Token{}, invalidf("LATCHKEY_ROOT_KEY must be at least %d characters", MinRootKeyLen)
		}
		if apitoken.Check(rootKey) == apitoken.Malformed {
			return apitoken.Token{}, invalidf("LATCHKEY_ROOT_KEY must be printable ASCII without spaces, at most %d characters", apitoken.MaxLen)
		}
		switch _, err := s.store.KeyByDigest(ctx, apitoken.Hash(rootKey)); {
		case err == nil:
			return apitoken.Token{}, nil
		case !errors.Is(err, ErrNotFound):
			return apitoken.Token{}, storeErr(err, "bootstrap: look up root key")
		}
		params.Name = "root (LATCHKEY_ROOT_KEY)"
		_, err := s.createKey(ctx, SystemActor, params, apitoken.FromString(rootKey))
		return apitoken.Token{}, err
	}
	existing, _, err := s.store.ListKeys(ctx, KeyFilter{Keyspace: ManagementKeyspace, Limit: 1, Now: now})
	if err != nil {
		return apitoken.Token{}, storeErr(err, "bootstrap: look for management keys")
	}
	if len(existing) > 0 {
		return apitoken.Token{}, nil
	}
	secret, err := apitoken.New(ManagementPrefix)
	if err != nil {
		return apitoken.Token{}, internal(err, "bootstrap: generate root key")
	}
	for _, fn := range save {
		if err := fn(secret); err != nil {
			return apitoken.Token{}, err
		}
	}
	ck, err := s.createKey(ctx, SystemActor, params, secret)
	if err != nil {
		return apitoken.Token{}, err
	}
	return ck.Secret, nil
}
