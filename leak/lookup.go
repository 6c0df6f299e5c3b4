package leak

import (
	"context"
	"errors"

	"github.com/latchkey/latchkey/apitoken"
	"github.com/latchkey/latchkey/token"
)

// Found is what Lookup knows of a secret by its digest.
type Found struct {
	Digest apitoken.Digest
	Kind   string // "" when the digest is no secret this server knows
	ID     string // the key's or app's ID
}

// MaxLookup bounds the digests of one Lookup.
const MaxLookup = 500

// Lookup names the secrets whose SHA-256 digests are ds (latchkey scan
// asks with digests, so the secrets never leave the machine they were
// found on), for an actor that may read every key: keys by their ID, and
// client secrets by their app's ID. Refresh tokens are not named.
func (s *Service) Lookup(ctx context.Context, a *token.Actor, ds []apitoken.Digest) ([]Found, error) {
	if !a.May(token.ScopeKeysRead) || (a.Owner != nil && !a.May(token.ScopeAdmin)) {
		need := token.ScopeKeysRead
		if a.May(token.ScopeKeysRead) {
			need = token.ScopeAdmin
		}
		return nil, s.tokens.Refuse(ctx, a, "leak.lookup", need)
	}
	if len(ds) > MaxLookup {
		return nil, token.Errorf(token.Invalid, "invalid_request", "at most %d token hashes at once", MaxLookup)
	}
	out := make([]Found, 0, len(ds))
	for _, d := range ds {
		f := Found{Digest: d}
		k, err := s.tokens.Store().KeyByDigest(ctx, d)
		switch {
		case err == nil:
			f.Kind, f.ID = KindAPIKey, k.ID
		case !errors.Is(err, token.ErrNotFound):
			return nil, token.Unavailablef(err, "look up key")
		default:
			id, err := s.store.ClientBySecretDigest(ctx, d[:])
			if err == nil {
				f.Kind, f.ID = KindClientSecret, id
			} else if !errors.Is(err, token.ErrNotFound) {
				return nil, token.Unavailablef(err, "look up client secret")
			}
		}
		out = append(out, f)
	}
	return out, nil
}
