package people_test

import (
	"context"
	"slices"
	"testing"

	"github.com/latchkey/latchkey/token"
)

// TestKEY03_PortalActorIsOwnerBound: the portal's actor is a personal
// credential of the session's user with keys:read and keys:write — the
// token service itself keeps it to the user's own keys (another user's key
// is NotFound, as if it did not exist), makes the keys it creates the
// user's, refuses scopes the user does not hold and the management
// keyspace, and its audit records name the session.
func TestKEY03_PortalActorIsOwnerBound(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.user("alice", "orders:read", "orders:write")
	f.user("bob", "orders:read")
	bobs, err := f.tokens.CreateKey(ctx, f.root, token.CreateKeyParams{Name: "bob's", Owner: &token.Owner{Type: token.User, ID: "bob"}, Scopes: []string{"orders:read"}})
	if err != nil {
		t.Fatal(err)
	}
	sess := f.session("alice")
	a := f.svc.PortalActor(sess, "req-1", "192.0.2.9")
	if a.KeyID != sess.ID || a.Owner == nil || *a.Owner != (token.Owner{Type: token.User, ID: "alice"}) || !a.Session {
		t.Fatalf("portal actor %+v: want the session %s, owner user:alice, a session", a, sess.ID)
	}
	if a.May(token.ScopeAdmin) || a.May(token.ScopeKeysReveal) || !a.May(token.ScopeKeysWrite) {
		t.Fatalf("portal actor scopes %v: want keys:read and keys:write only", a.Scopes)
	}

	// Someone else's key: NotFound for every call, never PermissionDenied.
	if _, err := f.tokens.Key(ctx, a, bobs.Key.ID); token.KindOf(err) != token.NotFound {
		t.Errorf("read bob's key: %v, want NotFound", err)
	}
	if _, _, err := f.tokens.RotateKey(ctx, a, bobs.Key.ID, 0); token.KindOf(err) != token.NotFound {
		t.Errorf("rotate bob's key: %v, want NotFound", err)
	}
	if _, err := f.tokens.RevokeKey(ctx, a, bobs.Key.ID, "mine now"); token.KindOf(err) != token.NotFound {
		t.Errorf("revoke bob's key: %v, want NotFound", err)
	}
	if l, _, err := f.tokens.Keys(ctx, a, token.KeyFilter{}); err != nil || len(l) != 0 {
		t.Errorf("alice lists %d keys (%v), want none of bob's", len(l), err)
	}

	// Creating: the key is alice's whatever the request says; scopes she
	// does not hold and the management keyspace are refused.
	c, err := f.tokens.CreateKey(ctx, a, token.CreateKeyParams{Name: "laptop", Scopes: []string{"orders:read"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Key.Owner == nil || c.Key.Owner.ID != "alice" {
		t.Fatalf("created key owner %+v, want user:alice", c.Key.Owner)
	}
	if _, err := f.tokens.CreateKey(ctx, a, token.CreateKeyParams{Name: "x", Owner: &token.Owner{Type: token.User, ID: "bob"}}); token.KindOf(err) != token.PermissionDenied {
		t.Errorf("create a key for bob: %v, want PermissionDenied", err)
	}
	if _, err := f.tokens.CreateKey(ctx, a, token.CreateKeyParams{Name: "x", Scopes: []string{"billing:read"}}); err == nil {
		t.Error("created a key with a scope alice does not hold")
	}
	if _, err := f.tokens.CreateKey(ctx, a, token.CreateKeyParams{Keyspace: token.ManagementKeyspace, Name: "x", Scopes: []string{token.ScopeKeysRead}}); token.KindOf(err) != token.PermissionDenied {
		t.Errorf("create a management key: %v, want PermissionDenied", err)
	}
	ev, _, err := f.tokens.Audit(ctx, f.root, token.AuditFilter{Action: "key.create", TargetID: c.Key.ID})
	if err != nil || len(ev) != 1 || ev[0].ActorKeyID != sess.ID {
		t.Fatalf("audit of the create: %+v %v; want one event by session %s", ev, err, sess.ID)
	}
	l, _, err := f.tokens.Keys(ctx, a, token.KeyFilter{})
	if err != nil || !slices.ContainsFunc(l, func(k *token.Key) bool { return k.ID == c.Key.ID }) || len(l) != 1 {
		t.Fatalf("alice lists %d keys (%v), want her one", len(l), err)
	}
	if _, err := f.tokens.RevokeKey(ctx, a, c.Key.ID, "done"); err != nil {
		t.Fatalf("revoke her own key: %v", err)
	}
}
