package token

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/latchkey/latchkey/scope"
)

// RevocationWindow is how far back the revocation feed reaches: a JWT lives
// at most an hour (plus the verifiers' clock leeway), so an older
// revocation cannot concern any token still in use.
const RevocationWindow = time.Hour + time.Minute

// RevocationPage is one answer of the revocation feed.
type RevocationPage struct {
	Revocations []Revocation
	Cursor      int64 // the after of the next call
	HasMore     bool
}

// Revocations returns the revocations after cursor (0: from the start of
// the window) and at most RevocationWindow old. With wait > 0 and nothing to
// report it polls the store until something arrives, wait passes or ctx
// ends. The actor needs keys:verify or keys:read.
func (s *Service) Revocations(ctx context.Context, a *Actor, after int64, limit int, wait time.Duration) (*RevocationPage, error) {
	if !a.May(ScopeKeysVerify) && !a.May(ScopeKeysRead) {
		return nil, s.deny(ctx, a, "revocation.list", "", "", ScopeKeysVerify)
	}
	if a.ownerBound() {
		// The feed names every key and principal: not for a personal
		// credential, which sees only its owner's keys.
		return nil, s.deny(ctx, a, "revocation.list", "", "", ScopeAdmin)
	}
	if after < 0 {
		return nil, invalidf("cursor must not be negative")
	}
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	deadline := s.Now().Add(wait)
	for {
		// The head is read first: a revocation committed after it gets a
		// higher Seq, so skipping to it when nothing is found loses nothing.
		head, err := s.store.RevocationHead(ctx)
		if err != nil {
			return nil, storeErr(err, "revocations: head")
		}
		rs, err := s.store.Revocations(ctx, after, s.Now().Add(-RevocationWindow), limit+1)
		if err != nil {
			return nil, storeErr(err, "revocations: list")
		}
		p := &RevocationPage{Revocations: rs, Cursor: max(after, head)}
		if len(rs) > limit {
			p.Revocations, p.HasMore = rs[:limit], true
		}
		if n := len(p.Revocations); n > 0 {
			p.Cursor = p.Revocations[n-1].Seq
			return p, nil
		}
		left := deadline.Sub(s.Now())
		if left <= 0 {
			return p, nil
		}
		after = p.Cursor
		t := time.NewTimer(min(left, revocationPoll))
		select {
		case <-ctx.Done():
			t.Stop()
			return p, nil
		case <-t.C:
		}
	}
}

// revocationPoll is how often a waiting feed request looks at the store. It
// bounds how late a subscriber learns of a revocation, on top of its own
// request round trip.
const revocationPoll = 250 * time.Millisecond

// Require returns nil if the actor holds scope need, and otherwise records
// the refusal of action on target and returns a PermissionDenied error.
func (s *Service) Require(ctx context.Context, a *Actor, need, action, targetType, targetID string) error {
	if a.May(need) {
		return nil
	}
	return s.deny(ctx, a, action, targetType, targetID, need)
}

// KeyLive reports whether the API key keyID may still act now: it exists,
// is active (not revoked, expired or disabled) and its owner, if any, is
// enabled. A gateway inside the server asks it for every JWT, so that a
// JWT stops working the moment its key does; false with a nil error means
// "no", an error that the store could not answer.
func (s *Service) KeyLive(ctx context.Context, keyID string) (bool, error) {
	_, live, err := s.LiveScopes(ctx, keyID)
	return live, err
}

// LiveScopes is KeyLive that also returns the key's effective scopes now
// (its scopes, granted by its owner's permissions): a gateway inside the
// server intersects a JWT's scopes with them, so that scopes taken from
// the key or its owner stop working at once for JWTs issued before.
func (s *Service) LiveScopes(ctx context.Context, keyID string) ([]string, bool, error) {
	k, err := s.keyByIDCached(ctx, keyID)
	if errors.Is(err, ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if k.State(s.Now()) != Active {
		return nil, false, nil
	}
	if k.Owner == nil {
		return k.Scopes, true, nil
	}
	p, err := s.lookupPrincipal(ctx, k.Owner.Type, k.Owner.ID)
	if errors.Is(err, ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if p.Disabled {
		return nil, false, nil
	}
	return scope.Intersect(k.Scopes, p.Permissions), true, nil
}

// keyByIDCached returns key id through the verification cache (and its
// invalidations): the ID's digest is remembered, the key is then read by
// digest like any verification.
func (s *Service) keyByIDCached(ctx context.Context, id string) (*Key, error) {
	if s.cache != nil {
		if d, ok := s.cache.ids.GetIfPresent(id); ok {
			e, err := s.lookupKey(ctx, d)
			if err != nil {
				return nil, err
			}
			return e.key, nil
		}
	}
	k, err := s.store.KeyByID(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, storeErr(err, "key %s", id)
	}
	if s.cache != nil {
		s.cache.ids.Set(id, k.Digest)
	}
	return k, nil
}

// JWTScopes returns what a latchkey JWT may do now and whether what it was
// issued for is still live: its key (LiveScopes) when it names one
// (key_id), else its subject principal "<type>:<id>" itself — an OAuth
// client_credentials token — with the principal's current permissions. The
// JWT's own scopes are intersected with them.
//
// clientID, the JWT's client_id when it has one, must name an app that
// exists and is enabled too (a user's OAuth grant token, an exchanged
// token): disabling the client ends its tokens at once.
func (s *Service) JWTScopes(ctx context.Context, keyID, subject, clientID string, scopes []string) ([]string, bool, error) {
	var current []string
	var live bool
	var err error
	// JWTs of POST /v1/tokens name their key as client_id: no app to ask.
	if clientID != "" && clientID != keyID && subject != string(App)+":"+clientID {
		if _, live, err = s.principalScopes(ctx, string(App)+":"+clientID); err != nil || !live {
			return nil, false, err
		}
	}
	if keyID != "" {
		current, live, err = s.LiveScopes(ctx, keyID)
	} else {
		current, live, err = s.principalScopes(ctx, subject)
	}
	if err != nil || !live {
		return nil, false, err
	}
	return scope.Intersect(scopes, current), true, nil
}

// principalScopes returns the current permissions of the principal
// subject names ("<type>:<id>"), and whether it exists and is enabled.
func (s *Service) principalScopes(ctx context.Context, subject string) ([]string, bool, error) {
	typ, id, ok := strings.Cut(subject, ":")
	if !ok || !ValidPrincipalType(PrincipalType(typ)) || id == "" {
		return nil, false, nil
	}
	p, err := s.lookupPrincipal(ctx, PrincipalType(typ), id)
	if errors.Is(err, ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if p.Disabled {
		return nil, false, nil
	}
	return p.Permissions, true, nil
}

// LivePrincipal returns principal (typ, id) through the verification
// cache — invalidated on every node when the principal changes, like a
// key's owner during verification. ErrNotFound if there is none.
func (s *Service) LivePrincipal(ctx context.Context, typ PrincipalType, id string) (*Principal, error) {
	return s.lookupPrincipal(ctx, typ, id)
}
