package verify

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/client"
)

// TestRevocations_PollBoundedPerRequest: a long poll is given Wait +
// RequestTimeout, not the client's overall timeout (which must not apply
// to the feed): a server that never answers is noticed after that bound
// and the subscription retries.
func TestRevocations_PollBoundedPerRequest(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c, err := client.New(srv.URL, "x", client.WithHTTPClient(&http.Client{}))
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 10)
	r := NewRevocations(c, RevocationsOptions{Wait: time.Second, RequestTimeout: 200 * time.Millisecond,
		OnError: func(err error) {
			select {
			case errs <- err:
			default:
			}
		}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now()
	r.Start(ctx)
	select {
	case err := <-errs:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Logf("poll error: %v", err)
		}
		t.Logf("hung poll abandoned after %v", time.Since(start).Round(time.Millisecond))
	case <-time.After(20 * time.Second):
		t.Fatal("a poll of a server that never answers was not abandoned")
	}
}

// TestOpaque_FeedEvictsRevokedKeys: with Revocations, a cached VALID
// answer is dropped once the feed reports its key (or owner) revoked after
// the answer was asked for; a revocation older than the answer (minus the
// margin) leaves it.
func TestOpaque_FeedEvictsRevokedKeys(t *testing.T) {
	c := &clock{t: t0}
	rev := NewRevocations(nil, RevocationsOptions{Now: c.Now})
	o := NewOpaque(nil, OpaqueOptions{CacheTTL: time.Minute, Revocations: rev})
	o.now = c.Now
	answer := func(key, owner string) cacheKey {
		ck := cacheKey{scopes: key}
		r := &api.VerifyResponse{Valid: true, Code: "VALID", KeyID: key}
		if owner != "" {
			r.Owner = &api.Owner{Type: "user", ID: owner}
		}
		o.store(ck, r, c.Now())
		return ck
	}
	a, b, old, owned := answer("key_a", ""), answer("key_b", ""), answer("key_old", ""), answer("key_o", "bob")
	rev.apply([]api.Revocation{
		{Kind: "key", ID: "key_old", RevokedAt: t0.Add(-RevocationMargin - time.Second)}, // known when asked
	}, "1")
	c.Add(time.Second)
	rev.apply([]api.Revocation{
		{Kind: "key", ID: "key_a", RevokedAt: c.Now()},
		{Kind: "principal", ID: "user:bob", RevokedAt: c.Now()},
	}, "3")
	for name, tc := range map[string]struct {
		ck     cacheKey
		cached bool
	}{"revoked key": {a, false}, "other key": {b, true}, "revoked before the answer": {old, true}, "owner disabled": {owned, false}} {
		if got := o.lookup(tc.ck, c.Now()) != nil; got != tc.cached {
			t.Errorf("%s: cached %v, want %v", name, got, tc.cached)
		}
	}
}
