package oauth

import (
	"context"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/latchkey/latchkey/token"
)

// countingStore is a Store of one client that counts its reads.
type countingStore struct {
	Store
	known *Client
	reads atomic.Int64
}

func (s *countingStore) Client(_ context.Context, appID string) (*Client, error) {
	s.reads.Add(1)
	if appID == s.known.AppID {
		return s.known, nil
	}
	return nil, token.ErrNotFound
}

// TestAS09_UnknownClientSameWork: a failed client authentication costs the
// same storage reads whether the client ID exists or not. Known clients
// were cached and unknown ones read from the database every time, so two
// quick tries told (by the database round trip) which client IDs exist.
func TestAS09_UnknownClientSameWork(t *testing.T) {
	st := &countingStore{known: &Client{AppID: "app_known", SecretDigest: make([]byte, 32),
		Settings: Settings{TokenEndpointAuthMethod: AuthSecretPost, GrantTypes: []string{GrantClientCredentials}}}}
	s := New(Config{Store: st, Tokens: token.NewService(token.Config{})})
	reads := func(id string) int64 {
		before := st.reads.Load()
		for range 3 {
			form := url.Values{"client_id": {id}, "client_secret": {"lkcs_wrong"}, "grant_type": {GrantClientCredentials}}
			r := httptest.NewRequest("POST", "/oauth2/token", strings.NewReader(form.Encode()))
			if _, _, err := s.authenticate(r, form); !IsInvalidClient(err) {
				t.Fatalf("client %s with a wrong secret: %v", id, err)
			}
		}
		return st.reads.Load() - before
	}
	if known, unknown := reads("app_known"), reads("app_unknown"); known != unknown {
		t.Fatalf("three failed tries read the store %d times for a known client, %d for an unknown one", known, unknown)
	}
}
