package server_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/server"
	"github.com/latchkey/latchkey/verify"
)

// TestSEC_KEY08_JWTExchangeKeepsLimitsAndCredits: a JWT is checked offline,
// as often as its holder likes, so a key with credits or rate limits — its
// own, its keyspace's defaults, or its owner's shared ones — is not
// exchanged (400 key_not_exchangeable, after a dry run: nothing is spent).
// Before the fix, a key with 1 credit and a 1/hour limit got a JWT.
func TestSEC_KEY08_JWTExchangeKeepsLimitsAndCredits(t *testing.T) {
	ctx := t.Context()
	one := int64(1)
	f := newJWTFixture(t, server.Config{}, api.CreateKeyRequest{Remaining: &one,
		RateLimits: []api.RateLimit{{Name: "hour", Limit: 1, Window: "1h"}}})
	c := f.c
	if _, err := c.CreateKeyspace(ctx, api.KeyspaceRequest{Name: "limited",
		RateLimits: &[]api.RateLimit{{Name: "d", Limit: 1, Window: "1h"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateUser(ctx, api.CreatePrincipalRequest{ID: "bob", Permissions: []string{"orders:read"},
		OwnerRateLimits: []api.RateLimit{{Name: "shared", Limit: 1, Window: "1h"}}}); err != nil {
		t.Fatal(err)
	}
	keys := map[string]*api.CreatedKey{"credits and limit": f.key}
	for name, req := range map[string]api.CreateKeyRequest{
		"credits":           {Keyspace: "orders", Scopes: []string{"orders:read"}, Remaining: &one},
		"own limit":         {Keyspace: "orders", Scopes: []string{"orders:read"}, RateLimits: []api.RateLimit{{Name: "x", Limit: 1, Window: "1h"}}},
		"keyspace defaults": {Keyspace: "limited", Scopes: []string{"orders:read"}},
		"owner's limits":    {Keyspace: "orders", Scopes: []string{"orders:read"}, Owner: &api.Owner{Type: "user", ID: "bob"}},
	} {
		k, err := c.CreateKey(ctx, req)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		keys[name] = k
	}
	for name, k := range keys {
		for range 3 {
			r := f.s.doJSON(t, "POST", "/v1/tokens", k.Secret, "")
			if p := wantProblem(t, r, http.StatusBadRequest); p.Code != "key_not_exchangeable" {
				t.Errorf("%s: %s, want key_not_exchangeable", name, p.Code)
			}
		}
		// Nothing was spent: the key's one use (credit, hourly limit) is
		// still there.
		ks := "orders"
		if name == "keyspace defaults" {
			ks = "limited"
		}
		vr, err := c.Verify(ctx, api.VerifyRequest{Key: k.Secret, Keyspace: ks})
		if err != nil || vr.Code != "VALID" {
			t.Errorf("%s: after refused exchanges the key verifies %v (%v), want VALID", name, vr, err)
		}
	}
	// A key without such bounds is exchanged as before.
	plain, err := c.CreateKey(ctx, api.CreateKeyRequest{Keyspace: "orders", Scopes: []string{"orders:read"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ExchangeToken(ctx, plain.Secret, api.TokenRequest{}); err != nil {
		t.Errorf("plain key: %v", err)
	}
}

// feedVerifier returns an SDK JWT verifier for aud following the
// revocation feed with a fresh keys:verify credential, once synced.
func (f *jwtFixture) feedVerifier(t *testing.T, aud string) *verify.JWT {
	t.Helper()
	vk, err := f.c.CreateKey(t.Context(), api.CreateKeyRequest{Keyspace: "latchkey", Scopes: []string{"keys:verify"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	rev := verify.NewRevocations(f.s.client(t, vk.Secret), verify.RevocationsOptions{})
	rev.Start(ctx)
	select {
	case <-rev.Synced():
	case <-time.After(10 * time.Second):
		t.Fatal("feed never synced")
	}
	return f.verifier(t, aud, rev)
}

// refusedWithin polls v until tok is refused as invalid, failing after
// bound; it returns how long that took.
func refusedWithin(t *testing.T, v *verify.JWT, tok string, bound time.Duration, what string) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		_, err := v.Verify(t.Context(), tok)
		if errors.Is(err, verify.ErrInvalidToken) {
			return time.Since(start)
		}
		if time.Since(start) > bound {
			t.Fatalf("%s: JWT still accepted %v later (%v)", what, bound, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestJWT_ImmediateRotationWithdrawsThroughFeed: after `signing-keys rotate
// --immediately`, an SDK verifier that cached the JWKS (which it keeps for
// up to 5 minutes) refuses the old key's tokens within the feed's bound,
// and accepts tokens of the new key. Before the fix the old token verified
// on from the cached JWKS.
func TestJWT_ImmediateRotationWithdrawsThroughFeed(t *testing.T) {
	f := newJWTFixture(t, server.Config{}, api.CreateKeyRequest{})
	v := f.feedVerifier(t, "orders")
	old := f.exchange(t, api.TokenRequest{}).AccessToken
	if _, err := v.Verify(t.Context(), old); err != nil {
		t.Fatalf("before rotation: %v", err)
	}
	if _, err := f.c.RotateSigningKey(t.Context(), api.RotateSigningKeyRequest{Immediately: true}); err != nil {
		t.Fatal(err)
	}
	took := refusedWithin(t, v, old, 5*time.Second, "signing key withdrawn")
	t.Logf("old key's JWT refused %v after rotate --immediately", took)
	fresh := f.exchange(t, api.TokenRequest{}).AccessToken
	if _, err := v.Verify(t.Context(), fresh); err != nil {
		t.Errorf("new key's JWT: %v", err)
	}
}

// TestJWT_NarrowingRevokesEarlierJWTs: scopes taken from a key, or
// permissions from its owner, reach JWTs exchanged before: an SDK verifier
// on the feed refuses them within the revocation bound, and a holder who
// exchanges again gets a JWT with the narrowed scopes that verifies.
func TestJWT_NarrowingRevokesEarlierJWTs(t *testing.T) {
	f := newJWTFixture(t, server.Config{}, api.CreateKeyRequest{})
	ctx := t.Context()
	if _, err := f.c.CreateUser(ctx, api.CreatePrincipalRequest{ID: "carol", Permissions: []string{"orders:read", "orders:write"}}); err != nil {
		t.Fatal(err)
	}
	owned, err := f.c.CreateKey(ctx, api.CreateKeyRequest{Keyspace: "orders", Scopes: []string{"orders:read", "orders:write"},
		Owner: &api.Owner{Type: "user", ID: "carol"}})
	if err != nil {
		t.Fatal(err)
	}
	v := f.feedVerifier(t, "orders")
	keyTok := f.exchange(t, api.TokenRequest{}).AccessToken
	ownedTok, err := f.c.ExchangeToken(ctx, owned.Secret, api.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{keyTok, ownedTok.AccessToken} {
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatalf("before narrowing: %v", err)
		}
	}
	// Widening revokes nothing.
	if _, err := f.c.UpdateKey(ctx, f.key.ID, api.UpdateKeyRequest{Scopes: &[]string{"orders:read", "orders:write", "orders:list"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.UpdateKey(ctx, f.key.ID, api.UpdateKeyRequest{Scopes: &[]string{"orders:read"}}); err != nil {
		t.Fatal(err)
	}
	t.Logf("JWT of a narrowed key refused after %v", refusedWithin(t, v, keyTok, 5*time.Second, "key narrowed"))
	if _, err := f.c.UpdateUser(ctx, "carol", api.UpdatePrincipalRequest{Permissions: &[]string{"orders:read"}}); err != nil {
		t.Fatal(err)
	}
	t.Logf("JWT of a narrowed owner refused after %v", refusedWithin(t, v, ownedTok.AccessToken, 5*time.Second, "owner narrowed"))

	// Exchanging again works (past the feed's 2 s margin), with the
	// narrowed scopes.
	deadline := time.Now().Add(10 * time.Second)
	for {
		tr := f.exchange(t, api.TokenRequest{})
		c, err := v.Verify(ctx, tr.AccessToken)
		if err == nil {
			if len(c.Scopes) != 1 || c.Scopes[0] != "orders:read" {
				t.Errorf("re-exchanged JWT scopes %v", c.Scopes)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a JWT exchanged after narrowing is still refused: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestGateway_JWTNarrowedAtOnce: the in-process gateway looks the JWT's
// key up anyway, so scopes taken from the key or its owner stop working
// at once (the JWT's scopes are intersected with the key's current
// effective scopes). Before the fix the JWT kept its scopes for its life.
func TestGateway_JWTNarrowedAtOnce(t *testing.T) {
	up := newUpstream(t)
	s, gw := startGatewayServer(t, up, server.Config{})
	c := s.client(t, s.Root)
	ctx := t.Context()
	k, err := c.CreateKey(ctx, api.CreateKeyRequest{Scopes: []string{"orders:read", "orders:write"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateUser(ctx, api.CreatePrincipalRequest{ID: "dave", Permissions: []string{"orders:read"}}); err != nil {
		t.Fatal(err)
	}
	owned, err := c.CreateKey(ctx, api.CreateKeyRequest{Scopes: []string{"orders:read"}, Owner: &api.Owner{Type: "user", ID: "dave"}})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.ExchangeToken(ctx, k.Secret, api.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	ownedTok, err := c.ExchangeToken(ctx, owned.Secret, api.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range []string{tok.AccessToken, ownedTok.AccessToken} {
		if resp := gatewayGet(t, gw+"/orders", tk); resp.StatusCode != 200 {
			t.Fatalf("before narrowing: %d", resp.StatusCode)
		}
	}
	if _, err := c.UpdateKey(ctx, k.ID, api.UpdateKeyRequest{Scopes: &[]string{"orders:write"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateUser(ctx, "dave", api.UpdatePrincipalRequest{Permissions: &[]string{"billing:read"}}); err != nil {
		t.Fatal(err)
	}
	for name, tk := range map[string]string{"key narrowed": tok.AccessToken, "owner narrowed": ownedTok.AccessToken} {
		if resp := gatewayGet(t, gw+"/orders", tk); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: JWT with a removed scope: %d, want 403 at once", name, resp.StatusCode)
		}
	}
}
