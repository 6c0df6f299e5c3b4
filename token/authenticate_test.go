package token_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/latchkey/latchkey/ratelimit"
	"github.com/latchkey/latchkey/token"
)

// authOK authenticates secret from ip and fails the test unless it passes.
func authOK(t *testing.T, svc *token.Service, secret, ip string) *token.Actor {
	t.Helper()
	a, err := svc.Authenticate(context.Background(), secret, ip, "req")
	if err != nil {
		t.Fatalf("authenticate from %s: %v", ip, err)
	}
	return a
}

// authRefused fails the test unless secret from ip is refused as
// Unauthenticated.
func authRefused(t *testing.T, svc *token.Service, secret, ip, why string) {
	t.Helper()
	a, err := svc.Authenticate(context.Background(), secret, ip, "req")
	if a != nil || token.KindOf(err) != token.Unauthenticated {
		t.Fatalf("%s: authenticate gave actor %v, error %v; want Unauthenticated", why, a, err)
	}
}

// TestAuthenticateCachedCredentialStillRefusedAtOnce: management
// credentials are authenticated from the verification cache without
// reading the store, and that path still refuses, on the very next call, a
// credential that expired, was revoked or disabled, is used from outside
// its IP allowlist, or whose owner was disabled.
func TestAuthenticateCachedCredentialStillRefusedAtOnce(t *testing.T) {
	f, cs := newCountingFixture(t)
	ctx := context.Background()
	root := f.root
	mgmt := func(p token.CreateKeyParams) string {
		t.Helper()
		p.Keyspace = token.ManagementKeyspace
		if p.Scopes == nil {
			p.Scopes = []string{token.ScopeKeysRead}
		}
		ck, err := f.svc.CreateKey(ctx, root, p)
		if err != nil {
			t.Fatalf("create management key: %v", err)
		}
		return ck.Secret.Reveal()
	}
	expiring := mgmt(token.CreateKeyParams{ExpiresIn: time.Hour})
	revoked := mgmt(token.CreateKeyParams{Name: "to-revoke"})
	disabled := mgmt(token.CreateKeyParams{Name: "to-disable"})
	bound := mgmt(token.CreateKeyParams{IPAllow: []string{"10.0.0.0/8"}})
	if _, err := f.svc.CreatePrincipal(ctx, root, token.CreatePrincipalParams{Type: token.User, ID: "alice", Permissions: []string{token.ScopeKeysRead, token.ScopeKeysWrite}}); err != nil {
		t.Fatal(err)
	}
	personal := mgmt(token.CreateKeyParams{Owner: &token.Owner{Type: token.User, ID: "alice"}, Scopes: []string{token.ScopeKeysRead, token.ScopeKeysWrite}})

	// Fill the cache, then show that authenticating reads no storage.
	for _, s := range []string{expiring, revoked, disabled, personal} {
		authOK(t, f.svc, s, "192.0.2.1")
	}
	authOK(t, f.svc, bound, "10.1.2.3")
	before := cs.lookups.Load()
	for range 20 {
		authOK(t, f.svc, expiring, "192.0.2.1")
		authOK(t, f.svc, bound, "10.1.2.3")
		authOK(t, f.svc, personal, "192.0.2.1")
	}
	if n := cs.lookups.Load() - before; n != 0 {
		t.Fatalf("cached management credentials read from storage %d times", n)
	}

	// Decided from the cached entry, no storage read: expiry and IP binding.
	f.clock.Advance(time.Hour)
	authRefused(t, f.svc, expiring, "192.0.2.1", "expired credential")
	authRefused(t, f.svc, bound, "192.0.2.1", "credential used outside its IP allowlist")
	authRefused(t, f.svc, bound, "::ffff:192.0.2.1", "IPv4-mapped address outside the allowlist")
	authOK(t, f.svc, bound, "10.9.9.9")
	if n := cs.lookups.Load() - before; n != 0 {
		t.Fatalf("expiry and IP checks read storage %d times; want them decided from the cache", n)
	}

	// Changes made on this node: refused on the next call.
	keyID := func(secret string) string {
		t.Helper()
		a := authOK(t, f.svc, secret, "192.0.2.1")
		return a.KeyID
	}
	rid, did := keyID(revoked), keyID(disabled)
	if _, err := f.svc.RevokeKey(ctx, root, rid, "test"); err != nil {
		t.Fatal(err)
	}
	authRefused(t, f.svc, revoked, "192.0.2.1", "revoked credential")
	off := false
	if _, err := f.svc.UpdateKey(ctx, root, did, token.UpdateKeyParams{Enabled: &off}); err != nil {
		t.Fatal(err)
	}
	authRefused(t, f.svc, disabled, "192.0.2.1", "disabled credential")

	// The owner: narrowed permissions narrow the actor at once; a disabled
	// owner refuses the credential.
	if a := authOK(t, f.svc, personal, "192.0.2.1"); !a.May(token.ScopeKeysWrite) {
		t.Fatalf("personal credential scopes %v, want keys:write", a.Scopes)
	}
	perms := []string{token.ScopeKeysRead}
	if _, err := f.svc.UpdatePrincipal(ctx, root, token.User, "alice", token.UpdatePrincipalParams{Permissions: &perms}); err != nil {
		t.Fatal(err)
	}
	a := authOK(t, f.svc, personal, "192.0.2.1")
	if a.May(token.ScopeKeysWrite) || !slices.Equal(a.Inert, []string{token.ScopeKeysWrite}) {
		t.Fatalf("after the owner lost keys:write: scopes %v inert %v", a.Scopes, a.Inert)
	}
	yes := true
	if _, err := f.svc.UpdatePrincipal(ctx, root, token.User, "alice", token.UpdatePrincipalParams{Disabled: &yes}); err != nil {
		t.Fatal(err)
	}
	authRefused(t, f.svc, personal, "192.0.2.1", "credential of a disabled owner")

	// Not management credentials at all.
	api := f.create(token.CreateKeyParams{Scopes: []string{"orders:read"}})
	f.wantCode(api.Secret.Reveal(), token.CodeValid) // cached now
	authRefused(t, f.svc, api.Secret.Reveal(), "192.0.2.1", "API key of another keyspace")
	authRefused(t, f.svc, "", "192.0.2.1", "empty credential")
	authRefused(t, f.svc, "lk_garbage", "192.0.2.1", "malformed credential")
}

// TestAuthenticateRecordsUseNotVerification: authenticating a management
// call updates the credential's last use but is not counted as a
// verification, so verification counts are those of the keys verified.
func TestAuthenticateRecordsUseNotVerification(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ck, err := f.svc.CreateKey(ctx, f.root, token.CreateKeyParams{Keyspace: token.ManagementKeyspace, Scopes: []string{token.ScopeKeysVerify}})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Minute)
	for range 3 {
		authOK(t, f.svc, ck.Secret.Reveal(), "203.0.113.9")
	}
	if err := f.svc.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := f.store.KeyByID(ctx, ck.Key.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.LastUsedIP != "203.0.113.9" || !got.LastUsedAt.Equal(f.clock.Now()) {
		t.Fatalf("last used %v from %q, want %v from 203.0.113.9", got.LastUsedAt, got.LastUsedIP, f.clock.Now())
	}
	counts, err := f.svc.KeyUsage(ctx, f.root, ck.Key.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(counts) != 0 {
		t.Fatalf("authentications counted as verifications: %v", counts)
	}
}

// TestAuthenticateChargesLimitedCredential: a management credential with a
// rate limit takes the full verification, which enforces the limit.
func TestAuthenticateChargesLimitedCredential(t *testing.T) {
	f := newFixture(t)
	ck, err := f.svc.CreateKey(context.Background(), f.root, token.CreateKeyParams{Keyspace: token.ManagementKeyspace,
		Scopes: []string{token.ScopeKeysRead}, RateLimits: []ratelimit.Limit{{Name: "calls", Limit: 2, Window: time.Hour}}})
	if err != nil {
		t.Fatal(err)
	}
	authOK(t, f.svc, ck.Secret.Reveal(), "192.0.2.1")
	authOK(t, f.svc, ck.Secret.Reveal(), "192.0.2.1")
	authRefused(t, f.svc, ck.Secret.Reveal(), "192.0.2.1", "third call within a limit of 2 per hour")
}
