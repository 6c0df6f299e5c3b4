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

// EnvRootKeyName is the name of the root credential set by
// LATCHKEY_ROOT_KEY. There is one: when the variable changes, the key of
// the previous value is revoked at the next start.
const EnvRootKeyName = "root (LATCHKEY_ROOT_KEY)"

// MinRootKeyLen is the shortest operator-chosen root credential accepted.
const MinRootKeyLen = 32

// ValidateRootKey reports why an operator-chosen root credential is not
// acceptable (nil if it is). The error never contains the key.
func ValidateRootKey(rootKey string) error {
	if len(rootKey) < MinRootKeyLen {
		return invalidf("LATCHKEY_ROOT_KEY must be at least %d characters", MinRootKeyLen)
	}
	if apitoken.Check(rootKey) == apitoken.Malformed {
		return invalidf("LATCHKEY_ROOT_KEY must be printable ASCII without spaces, at most %d characters", apitoken.MaxLen)
	}
	return nil
}

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
		if err := ValidateRootKey(rootKey); err != nil {
			return apitoken.Token{}, err
		}
		var current string
		switch k, err := s.store.KeyByDigest(ctx, apitoken.Hash(rootKey)); {
		case err == nil:
			current = k.ID
		case !errors.Is(err, ErrNotFound):
			return apitoken.Token{}, storeErr(err, "bootstrap: look up root key")
		default:
			params.Name = EnvRootKeyName
			ck, err := s.createKey(ctx, SystemActor, params, apitoken.FromString(rootKey))
			if err != nil {
				return apitoken.Token{}, err
			}
			current = ck.Key.ID
		}
		// The new key is stored first, then the old ones revoked: a crash
		// in between leaves both, and the next start revokes the old.
		return apitoken.Token{}, s.retireEnvRoots(ctx, current)
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

// retireEnvRoots revokes every active ownerless management key named
// EnvRootKeyName other than keep: the credentials of earlier values of
// LATCHKEY_ROOT_KEY. Each revocation is audited (key.revoke by system).
// A generated root credential ("root") is left alone: revoke it with the
// new key if it should go too.
func (s *Service) retireEnvRoots(ctx context.Context, keep string) error {
	after := ""
	for range 1000 { // bounded: 100k management keys
		keys, next, err := s.store.ListKeys(ctx, KeyFilter{Keyspace: ManagementKeyspace, State: Active, Now: s.Now(), After: after, Limit: 100})
		if err != nil {
			return storeErr(err, "bootstrap: list management keys")
		}
		for _, k := range keys {
			if k.ID == keep || k.Name != EnvRootKeyName || k.Owner != nil {
				continue
			}
			if _, err := s.RevokeKey(ctx, SystemActor, k.ID, "replaced by a new LATCHKEY_ROOT_KEY"); err != nil {
				return err
			}
			s.log.Info("old LATCHKEY_ROOT_KEY credential revoked", "key_id", k.ID)
		}
		if next == "" {
			return nil
		}
		after = next
	}
	return nil
}
