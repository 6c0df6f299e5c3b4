package token_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/token"
)

// TestKeyScopesMustBeHeldByOwner: a key is not given scopes its owner does
// not hold, at create or at update (422 scope_not_held naming them); keys
// without an owner are unaffected, and wildcards count as held.
func TestKeyScopesMustBeHeldByOwner(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.user("alice", "orders:*", "keys:write")
	alice := &token.Owner{Type: token.User, ID: "alice"}
	wantNotHeld := func(t *testing.T, err error, names ...string) {
		t.Helper()
		wantKind(t, err, token.Invalid)
		var e *token.Error
		if !errors.As(err, &e) || e.Code != "scope_not_held" {
			t.Fatalf("error %v, want code scope_not_held", err)
		}
		for _, n := range names {
			if !strings.Contains(e.Msg, n) {
				t.Errorf("message %q does not name %q", e.Msg, n)
			}
		}
	}

	_, err := f.svc.CreateKey(ctx, f.root, token.CreateKeyParams{Owner: alice, Scopes: []string{"orders:read", "billing:read", "admin"}})
	wantNotHeld(t, err, "billing:read", "admin")
	_, err = f.svc.CreateKey(ctx, f.root, token.CreateKeyParams{Keyspace: token.ManagementKeyspace, Owner: alice, Scopes: []string{"keys:write", "keys:read"}})
	wantNotHeld(t, err, "keys:read")

	k := f.create(token.CreateKeyParams{Owner: alice, Scopes: []string{"orders:read", "orders:*"}})
	bad := []string{"orders:read", "billing:write"}
	_, err = f.svc.UpdateKey(ctx, f.root, k.Key.ID, token.UpdateKeyParams{Scopes: &bad})
	wantNotHeld(t, err, "billing:write")
	got, err := f.svc.Key(ctx, f.root, k.Key.ID)
	if err != nil || !equal(got.Scopes, []string{"orders:*", "orders:read"}) {
		t.Fatalf("refused update changed the key: %v %v", got.Scopes, err)
	}
	good := []string{"orders:write"}
	if _, err := f.svc.UpdateKey(ctx, f.root, k.Key.ID, token.UpdateKeyParams{Scopes: &good}); err != nil {
		t.Fatalf("held scope refused: %v", err)
	}
	name := "renamed"
	if _, err := f.svc.UpdateKey(ctx, f.root, k.Key.ID, token.UpdateKeyParams{Name: &name}); err != nil {
		t.Fatalf("update without scopes: %v", err)
	}

	// A key acting for nobody carries any scope of its keyspace.
	f.create(token.CreateKeyParams{Scopes: []string{"billing:read", "admin"}})
}

// TestInertScopesShown: when its owner loses a permission, a key shows that
// scope as inert and its effective scopes without it; so does the personal
// credential's own view (Actor, behind /v1/self).
func TestInertScopesShown(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.user("alice", "orders:read", "orders:write", "keys:read")
	alice := &token.Owner{Type: token.User, ID: "alice"}
	k := f.create(token.CreateKeyParams{Owner: alice, Scopes: []string{"orders:read", "orders:write"}})
	free := f.create(token.CreateKeyParams{Scopes: []string{"x:y"}})

	check := func(t *testing.T, key *token.Key, eff, inert []string) {
		t.Helper()
		ks, err := f.svc.ScopesNow(ctx, []*token.Key{key})
		if err != nil {
			t.Fatal(err)
		}
		if !equal(ks[0].Effective, eff) || !equal(ks[0].Inert, inert) {
			t.Fatalf("effective %v inert %v, want %v and %v", ks[0].Effective, ks[0].Inert, eff, inert)
		}
	}
	check(t, k.Key, []string{"orders:read", "orders:write"}, nil)
	check(t, free.Key, []string{"x:y"}, nil)

	mgmt := f.create(token.CreateKeyParams{Keyspace: token.ManagementKeyspace, Owner: alice, Scopes: []string{"keys:read"}})
	f.setPerms("alice", "orders:read")
	check(t, k.Key, []string{"orders:read"}, []string{"orders:write"})
	check(t, free.Key, []string{"x:y"}, nil)
	f.wantCode(k.Secret.Reveal(), token.CodeInsufficientScope, "orders:write")

	a, err := f.svc.Authenticate(ctx, mgmt.Secret.Reveal(), "127.0.0.1", "t")
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Scopes) != 0 || !equal(a.Inert, []string{"keys:read"}) {
		t.Fatalf("actor scopes %v inert %v, want none and [keys:read]", a.Scopes, a.Inert)
	}
}
