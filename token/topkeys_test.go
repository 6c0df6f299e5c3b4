package token_test

import (
	"context"
	"testing"
	"time"

	"github.com/latchkey/latchkey/token"
)

// TestTopKeysAuthorization: TopKeys is authorized as Analytics is — keys:read
// needed, a personal credential ranks only its own keys, an unknown
// keyspace is NotFound — and bounds its limit to 1..MaxTopKeys.
func TestTopKeysAuthorization(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.user("alice", "orders:read", "keys:read", "keys:write")
	f.user("bob", "orders:read")
	hers := f.create(token.CreateKeyParams{Owner: &token.Owner{Type: token.User, ID: "alice"}, Scopes: []string{"orders:read"}})
	his := f.create(token.CreateKeyParams{Owner: &token.Owner{Type: token.User, ID: "bob"}, Scopes: []string{"orders:read"}})
	for range 3 {
		f.wantCode(his.Secret.Reveal(), token.CodeValid)
	}
	f.wantCode(hers.Secret.Reveal(), token.CodeValid)
	if err := f.svc.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	ids := func(gs []token.UsageGroup) []string {
		var out []string
		for _, g := range gs {
			out = append(out, g.KeyID)
		}
		return out
	}
	f.clock.Advance(time.Minute) // the default range ends now: past the minute used
	var r token.UsageRange
	all, rng, err := f.svc.TopKeys(ctx, f.root, token.DefaultKeyspace, r, 10)
	if err != nil || len(all) != 2 || all[0].KeyID != his.Key.ID || all[0].Counts[token.CodeValid] != 3 || rng.Granularity != token.Hour {
		t.Fatalf("admin's top keys: %v %+v %v", ids(all), rng, err)
	}
	alice := f.personal("alice", "keys:read")
	own, _, err := f.svc.TopKeys(ctx, alice, token.DefaultKeyspace, r, 10)
	if err != nil || len(own) != 1 || own[0].KeyID != hers.Key.ID {
		t.Fatalf("alice's top keys: %v %v, want only her key", ids(own), err)
	}
	writer := f.personal("alice", "keys:write")
	if _, _, err := f.svc.TopKeys(ctx, writer, token.DefaultKeyspace, r, 10); err != nil {
		t.Fatalf("keys:write reads like Analytics: %v", err)
	}
	f.user("carol", "orders:read")
	nobody := f.personal("carol")
	_, _, err = f.svc.TopKeys(ctx, nobody, token.DefaultKeyspace, r, 10)
	wantKind(t, err, token.PermissionDenied)
	_, _, err = f.svc.TopKeys(ctx, f.root, "nope", r, 10)
	wantKind(t, err, token.NotFound)
	for _, n := range []int{0, token.MaxTopKeys + 1} {
		_, _, err = f.svc.TopKeys(ctx, f.root, token.DefaultKeyspace, r, n)
		wantKind(t, err, token.Invalid)
	}
}
