package web

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/latchkey/latchkey/oauth"
	"github.com/latchkey/latchkey/token"
)

// memGrants is an in-memory oauth.GrantStore for the pages' tests: one
// process, one mutex, the contract's semantics (single-use codes,
// compare-and-set rotation) without a database.
type memGrants struct {
	mu       sync.Mutex
	codes    map[string]*oauth.Code
	reused   map[string]bool
	grants   map[string]*oauth.Grant
	refresh  map[string]*oauth.RefreshToken
	consents map[[2]string]*oauth.Consent
	pushed   map[string]*oauth.PushedRequest
}

func newMemGrants() *memGrants {
	return &memGrants{codes: map[string]*oauth.Code{}, reused: map[string]bool{}, grants: map[string]*oauth.Grant{},
		refresh: map[string]*oauth.RefreshToken{}, consents: map[[2]string]*oauth.Consent{}, pushed: map[string]*oauth.PushedRequest{}}
}

func (m *memGrants) CreateCode(_ context.Context, c *oauth.Code) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	cp := *c
	m.codes[string(c.Digest)] = &cp
	return nil
}

func (m *memGrants) RedeemCode(_ context.Context, d []byte, now time.Time) (*oauth.Code, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.codes[string(d)]
	if !ok {
		return nil, token.ErrNotFound
	}
	cp := *c
	if !c.UsedAt.IsZero() {
		m.reused[string(d)] = true
		return &cp, oauth.ErrCodeUsed
	}
	c.UsedAt = now
	cp.UsedAt = now
	return &cp, nil
}

func (m *memGrants) SetCodeGrant(_ context.Context, d []byte, grantID string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.codes[string(d)]
	if !ok {
		return false, token.ErrNotFound
	}
	c.GrantID = grantID
	return m.reused[string(d)], nil
}

func (m *memGrants) CreateGrant(_ context.Context, g *oauth.Grant, rt *oauth.RefreshToken) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	cp := *g
	m.grants[g.ID] = &cp
	if rt != nil {
		r := *rt
		m.refresh[string(rt.Digest)] = &r
	}
	return nil
}

func (m *memGrants) Grant(_ context.Context, id string) (*oauth.Grant, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	g, ok := m.grants[id]
	if !ok {
		return nil, token.ErrNotFound
	}
	cp := *g
	return &cp, nil
}

func (m *memGrants) Grants(_ context.Context, f oauth.GrantFilter) ([]*oauth.Grant, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*oauth.Grant
	for _, g := range m.grants {
		if (f.UserID == "" || g.UserID == f.UserID) && (f.ClientID == "" || g.ClientID == f.ClientID) && g.ID > f.After {
			cp := *g
			out = append(out, &cp)
		}
	}
	slices.SortFunc(out, func(a, b *oauth.Grant) int {
		if a.ID < b.ID {
			return -1
		}
		return 1
	})
	limit := f.Limit
	if limit == 0 {
		limit = 100
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (m *memGrants) DeleteGrants(_ context.Context, ids []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, id := range ids {
		delete(m.grants, id)
		for k, r := range m.refresh {
			if r.GrantID == id {
				delete(m.refresh, k)
			}
		}
	}
	return nil
}

func (m *memGrants) RefreshToken(_ context.Context, d []byte) (*oauth.RefreshToken, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.refresh[string(d)]
	if !ok {
		return nil, token.ErrNotFound
	}
	cp := *r
	return &cp, nil
}

func (m *memGrants) RotateRefresh(_ context.Context, old []byte, now time.Time, successor []byte, next *oauth.RefreshToken) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.refresh[string(old)]
	if !ok {
		return token.ErrNotFound
	}
	if !r.RotatedAt.IsZero() {
		return oauth.ErrRotated
	}
	r.RotatedAt, r.Successor = now, successor
	n := *next
	m.refresh[string(next.Digest)] = &n
	return nil
}

func (m *memGrants) Consent(_ context.Context, userID, clientID string) (*oauth.Consent, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.consents[[2]string{userID, clientID}]
	if !ok {
		return nil, token.ErrNotFound
	}
	cp := *c
	cp.Scopes = slices.Clone(c.Scopes)
	return &cp, nil
}

func (m *memGrants) PutConsent(_ context.Context, c *oauth.Consent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	cp := *c
	cp.Scopes = slices.Clone(c.Scopes)
	m.consents[[2]string{c.UserID, c.ClientID}] = &cp
	return nil
}

func (m *memGrants) DeleteConsent(_ context.Context, userID, clientID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.consents, [2]string{userID, clientID})
	return nil
}

func (m *memGrants) Consents(_ context.Context, userID string) ([]*oauth.Consent, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*oauth.Consent
	for k, c := range m.consents {
		if k[0] == userID {
			cp := *c
			out = append(out, &cp)
		}
	}
	slices.SortFunc(out, func(a, b *oauth.Consent) int {
		if a.ClientID < b.ClientID {
			return -1
		}
		return 1
	})
	return out, nil
}

func (m *memGrants) PushRequest(_ context.Context, p *oauth.PushedRequest) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	cp := *p
	m.pushed[string(p.Digest)] = &cp
	return nil
}

func (m *memGrants) PushedRequest(_ context.Context, d []byte, now time.Time) (*oauth.PushedRequest, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.pushed[string(d)]
	if !ok || !now.Before(p.ExpiresAt) {
		return nil, token.ErrNotFound
	}
	cp := *p
	return &cp, nil
}

func (m *memGrants) DeletePushedRequest(_ context.Context, d []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.pushed, string(d))
	return nil
}

func (m *memGrants) PruneGrants(context.Context, time.Time, time.Time) (int64, error) { return 0, nil }

var _ oauth.GrantStore = (*memGrants)(nil)
