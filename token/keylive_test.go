package token_test

import (
	"context"
	"testing"
	"time"

	"github.com/latchkey/latchkey/token"
)

// TestKeyLive: the by-ID check the in-process gateway makes for every JWT
// follows the key at once — through the verification cache, whose
// invalidations it shares — for revocation, expiry and a disabled owner.
func TestKeyLive(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	live := func(id string) bool {
		t.Helper()
		ok, err := f.svc.KeyLive(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	f.user("alice", "orders:read")
	owned := f.create(token.CreateKeyParams{Owner: &token.Owner{Type: token.User, ID: "alice"}, Scopes: []string{"orders:read"}})
	plain := f.create(token.CreateKeyParams{Scopes: []string{"orders:read"}, ExpiresIn: time.Hour})
	for range 2 { // the second round is answered from the cache
		if !live(owned.Key.ID) || !live(plain.Key.ID) {
			t.Fatal("new keys are not live")
		}
	}
	if live("key_06h0f6zp4ne92q93h192w9vx4w") {
		t.Error("an unknown key is live")
	}
	if _, err := f.svc.RevokeKey(ctx, f.root, plain.Key.ID, "test"); err != nil {
		t.Fatal(err)
	}
	if live(plain.Key.ID) {
		t.Error("a revoked key is still live (stale cache)")
	}
	disabled := true
	if _, err := f.svc.UpdatePrincipal(ctx, f.root, token.User, "alice", token.UpdatePrincipalParams{Disabled: &disabled}); err != nil {
		t.Fatal(err)
	}
	if live(owned.Key.ID) {
		t.Error("the key of a disabled owner is still live")
	}
	expiring := f.create(token.CreateKeyParams{ExpiresIn: time.Minute})
	if !live(expiring.Key.ID) {
		t.Fatal("not live")
	}
	f.clock.Advance(time.Minute)
	if live(expiring.Key.ID) {
		t.Error("an expired key is still live")
	}
}
