package server_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/server"
)

// TestInertScopesShownHTTP: over HTTP, a scope its owner does not hold is
// refused with 422 scope_not_held; one the owner loses later shows as inert
// on GET /v1/keys/{id}, in the listing and on /v1/self, and the effective
// scopes leave it out.
func TestInertScopesShownHTTP(t *testing.T) {
	s := startServer(t, server.Config{})
	ctx := context.Background()
	root := s.client(t, s.Root)
	if _, err := root.CreateUser(ctx, api.CreatePrincipalRequest{ID: "alice", Permissions: []string{"orders:read", "orders:write", "keys:read"}}); err != nil {
		t.Fatal(err)
	}
	alice := &api.Owner{Type: "user", ID: "alice"}
	r := s.doJSON(t, "POST", "/v1/keys", s.Root, `{"owner":{"type":"user","id":"alice"},"scopes":["orders:read","billing:read"]}`)
	if p := wantProblem(t, r, 422); p.Code != "scope_not_held" || !strings.Contains(p.Detail, "billing:read") {
		t.Fatalf("problem %+v, want scope_not_held naming billing:read", p)
	}
	k, err := root.CreateKey(ctx, api.CreateKeyRequest{Name: "orders", Owner: alice, Scopes: []string{"orders:read", "orders:write"}})
	if err != nil {
		t.Fatal(err)
	}
	mgmt, err := root.CreateKey(ctx, api.CreateKeyRequest{Keyspace: "latchkey", Owner: alice, Scopes: []string{"keys:read"}})
	if err != nil {
		t.Fatal(err)
	}
	r = s.doJSON(t, "PATCH", "/v1/keys/"+k.ID, s.Root, `{"scopes":["orders:read","admin"]}`)
	if p := wantProblem(t, r, 422); p.Code != "scope_not_held" || !strings.Contains(p.Detail, "admin") {
		t.Fatalf("problem %+v, want scope_not_held naming admin", p)
	}

	perms := []string{"orders:read"}
	if _, err := root.UpdateUser(ctx, "alice", api.UpdatePrincipalRequest{Permissions: &perms}); err != nil {
		t.Fatal(err)
	}
	wantScopes := func(t *testing.T, where string, got *api.Key) {
		t.Helper()
		if got.EffectiveScopes == nil || got.InertScopes == nil {
			t.Fatalf("%s: effective %v inert %v, want both given", where, got.EffectiveScopes, got.InertScopes)
		}
		if !slices.Equal(*got.EffectiveScopes, []string{"orders:read"}) || !slices.Equal(*got.InertScopes, []string{"orders:write"}) {
			t.Fatalf("%s: effective %v inert %v, want [orders:read] and [orders:write]", where, *got.EffectiveScopes, *got.InertScopes)
		}
		if !slices.Equal(got.Scopes, []string{"orders:read", "orders:write"}) {
			t.Fatalf("%s: scopes %v, want both as stored", where, got.Scopes)
		}
	}
	wantScopes(t, "GET", keyOf(t, root, k.ID))
	listed := false
	for _, got := range s.allKeys(t, client.KeyListOptions{OwnerID: "alice"}) {
		if got.ID == k.ID {
			wantScopes(t, "list", &got)
			listed = true
		}
	}
	if !listed {
		t.Fatal("the key is not listed")
	}

	self, err := s.client(t, mgmt.Secret).Self(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(self.Scopes) != 0 || !slices.Equal(self.InertScopes, []string{"keys:read"}) {
		t.Fatalf("/v1/self scopes %v inert %v, want [] and [keys:read]", self.Scopes, self.InertScopes)
	}
}
