package oauth

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"

	"github.com/latchkey/latchkey/apitoken"
	"github.com/latchkey/latchkey/token"
)

// The OAuth side of leak response (package leak): a reported refresh
// token, opaque access token or client secret ends what it opens.

// EndLeakedRefresh revokes the grant of the refresh token whose SHA-256
// digest is d — the grant's key and its opaque access tokens — with
// reason. (A report kept to be handled later holds the digest, never the
// token.) It returns the grant's ID ("" when d is no refresh token of this
// server) and whether the grant was live until now. A rotated-out refresh
// token ends its grant too: whoever holds it holds the chain.
func (s *Service) EndLeakedRefresh(ctx context.Context, a *token.Actor, d apitoken.Digest, reason string) (grantID string, ended bool, err error) {
	if s.grants == nil {
		return "", false, nil
	}
	rt, err := s.grants.RefreshToken(ctx, d[:])
	if errors.Is(err, token.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, unavailable(err, "get refresh token")
	}
	live, err := s.grantLive(ctx, rt.GrantID)
	if err != nil {
		return "", false, err
	}
	if err := s.endGrant(ctx, a, rt.GrantID, reason); err != nil {
		return "", false, err
	}
	return rt.GrantID, live, nil
}

// grantLive reports whether grant id's key is not revoked.
func (s *Service) grantLive(ctx context.Context, id string) (bool, error) {
	k, err := s.tokens.Key(ctx, issuerActor, id)
	if token.KindOf(err) == token.NotFound {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return k.RevokedAt.IsZero(), nil
}

// EndLeakedKey ends what an OAuth key k opens beyond itself (the caller
// revokes k): the grant of an opaque access token, or, for a grant's own
// key, its opaque access tokens. It reports whether a live grant ended; a
// key of another keyspace changes nothing.
func (s *Service) EndLeakedKey(ctx context.Context, a *token.Actor, k *token.Key, reason string) (bool, error) {
	grantID := ""
	switch k.Keyspace {
	case AccessKeyspace:
		var m opaqueMeta
		if json.Unmarshal(k.Metadata, &m) == nil {
			grantID = m.GrantID
		}
	case GrantKeyspace:
		grantID = k.ID
	}
	if grantID == "" || s.grants == nil {
		return false, nil
	}
	live, err := s.grantLive(ctx, grantID)
	if err != nil {
		return false, err
	}
	if err := s.endGrant(ctx, a, grantID, reason); err != nil {
		return false, err
	}
	return live, nil
}

// EndLeakedSecret ends the client secret of app appID whose digest is d:
// the current secret is replaced by one nobody is given (the app
// authenticates again once an admin rotates its secret), a previous one
// still in its grace stops at once. It reports whether the secret worked
// until now. The change is audited as app.secret.revoke with reason.
func (s *Service) EndLeakedSecret(ctx context.Context, a *token.Actor, appID string, d apitoken.Digest, reason string) (bool, error) {
	_, nobody, err := newSecret()
	if err != nil {
		return false, &token.Error{Kind: token.Internal, Msg: "internal error", Err: err}
	}
	now := s.tokens.Now()
	ended := false
	ev := s.audit(a, "app.secret.revoke", appID, map[string]string{"reason": reason})
	_, err = s.store.UpdateClient(ctx, appID, func(c *Client) error {
		switch {
		case c.SecretDigest != nil && subtle.ConstantTimeCompare(c.SecretDigest, d[:]) == 1:
			c.SecretDigest, ended = nobody, true
			ev.Detail["secret"] = "current"
		case c.PrevSecretDigest != nil && subtle.ConstantTimeCompare(c.PrevSecretDigest, d[:]) == 1:
			ended = now.Before(c.PrevSecretUntil)
			c.PrevSecretDigest, c.PrevSecretUntil = nil, now
			ev.Detail["secret"] = "previous"
		default:
			return errNoSuchSecret
		}
		c.UpdatedAt = now
		return nil
	}, ev)
	s.clients.Invalidate(appID)
	if errors.Is(err, errNoSuchSecret) || token.KindOf(err) == token.NotFound || errors.Is(err, token.ErrNotFound) {
		return false, nil // rotated meanwhile, or the app is gone
	}
	if err != nil {
		return false, updateErr(err, "end leaked client secret")
	}
	return ended, nil
}

var errNoSuchSecret = errors.New("oauth: no such client secret")
