package server_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/server"
)

// TestSEC_KEY03_BOLA_HTTP: over HTTP, user A's personal management key gets
// for every operation on user B's key the same 404 problem as for a key id
// that does not exist, sees none of B's keys when listing with
// owner_id=B, and changes nothing.
func TestSEC_KEY03_BOLA_HTTP(t *testing.T) {
	s := startServer(t, server.Config{})
	ctx := context.Background()
	root := s.client(t, s.Root)
	for _, u := range []string{"alice", "bob"} {
		if _, err := root.CreateUser(ctx, api.CreatePrincipalRequest{ID: u, Permissions: []string{"keys:read", "keys:write", "keys:reveal", "orders:read"}}); err != nil {
			t.Fatal(err)
		}
	}
	on := true // bob's key is recoverable: a reveal would have something to show
	if _, err := root.CreateKeyspace(ctx, api.KeyspaceRequest{Name: "vault", Recoverable: &on}); err != nil {
		t.Fatal(err)
	}
	personal := func(user string) string {
		k, err := root.CreateKey(ctx, api.CreateKeyRequest{Keyspace: "latchkey", Name: user + " personal",
			Owner: &api.Owner{Type: "user", ID: user}, Scopes: []string{"keys:read", "keys:write", "keys:reveal"}})
		if err != nil {
			t.Fatal(err)
		}
		return k.Secret
	}
	alice := personal("alice")
	bobMgmt := personal("bob")
	bobs, err := s.client(t, bobMgmt).CreateKey(ctx, api.CreateKeyRequest{Keyspace: "vault", Name: "bob's", Scopes: []string{"orders:read"}, ExpiresIn: "24h"})
	if err != nil {
		t.Fatal(err)
	}
	if bobs.Owner == nil || bobs.Owner.ID != "bob" {
		t.Fatalf("bob's personal create is not bound to bob: %+v", bobs.Owner)
	}
	before := keyOf(t, root, bobs.ID)
	const missing = "key_00000000000000000000000000"

	ops := []struct{ name, method, suffix, body string }{
		{"GET", "GET", "", ""},
		{"PATCH", "PATCH", "", `{"name":"pwned","enabled":false}`},
		{"DELETE", "DELETE", "", ""},
		{"revoke", "POST", "/revoke", `{"reason":"pwned"}`},
		{"rotate", "POST", "/rotate", `{"grace_period":"1h"}`},
		{"renew", "POST", "/renew", `{}`},
		{"reveal", "GET", "/secret", ""},
	}
	for _, op := range ops {
		t.Run("404/"+op.name+" of another user's key", func(t *testing.T) {
			got := s.doJSON(t, op.method, "/v1/keys/"+bobs.ID+op.suffix, alice, op.body)
			want := s.doJSON(t, op.method, "/v1/keys/"+missing+op.suffix, alice, op.body)
			pg := wantProblem(t, got, 404)
			pw := wantProblem(t, want, 404)
			if pg.Code != "key_not_found" || pg.Code != pw.Code {
				t.Errorf("code %q for another's key, %q for a missing one; want key_not_found for both", pg.Code, pw.Code)
			}
			if a, b := normalized(t, got.Body, bobs.ID), normalized(t, want.Body, missing); a != b {
				t.Errorf("distinguishable from a missing key:\n%s\n%s", a, b)
			}
		})
	}
	t.Run("list owner_id=bob is empty", func(t *testing.T) {
		ac := s.client(t, alice)
		for _, opts := range []client.KeyListOptions{
			{OwnerType: "user", OwnerID: "bob"},
			{OwnerID: "bob"},
			{OwnerType: "app"},
			{},
		} {
			page, err := ac.ListKeys(ctx, opts)
			if err != nil {
				t.Fatalf("list %+v: %v", opts, err)
			}
			for _, k := range page.Items {
				if k.Owner == nil || k.Owner.ID != "alice" {
					t.Errorf("list %+v shows key %s of %+v", opts, k.ID, k.Owner)
				}
			}
		}
	})
	t.Run("bob's key unchanged", func(t *testing.T) {
		after := keyOf(t, root, bobs.ID)
		if !after.UpdatedAt.Equal(before.UpdatedAt) || after.Name != before.Name || after.State != "active" ||
			after.RotatedTo != "" || !after.ExpiresAt.Equal(*before.ExpiresAt) {
			t.Errorf("bob's key changed:\nbefore %+v\nafter  %+v", before, after)
		}
		res, err := root.Verify(ctx, api.VerifyRequest{Key: bobs.Secret})
		if err != nil || res.Code != "VALID" {
			t.Errorf("bob's key verifies %v, %v", res, err)
		}
	})
	t.Run("alice still manages her own keys", func(t *testing.T) {
		ac := s.client(t, alice)
		own, err := ac.CreateKey(ctx, api.CreateKeyRequest{Name: "mine"})
		if err != nil || own.Owner == nil || own.Owner.ID != "alice" {
			t.Fatalf("create own: %+v %v", own, err)
		}
		if _, err := ac.RevokeKey(ctx, own.ID, "done"); err != nil {
			t.Fatalf("revoke own: %v", err)
		}
	})
}

// normalized returns a problem body with id replaced and the request id
// dropped, for comparing two problems' shape.
func normalized(t *testing.T, body []byte, id string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(strings.ReplaceAll(string(body), id, "ID")), &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "request_id")
	b, _ := json.Marshal(m)
	return string(b)
}

// TestSEC_KEY04_NonAdmin_HTTP: a management key with only keys:verify gets
// 403 problems on admin endpoints, and nothing is created; a missing or
// unknown bearer gets 401 with WWW-Authenticate.
func TestSEC_KEY04_NonAdmin_HTTP(t *testing.T) {
	s := startServer(t, server.Config{})
	ctx := context.Background()
	root := s.client(t, s.Root)
	vk, err := root.CreateKey(ctx, api.CreateKeyRequest{Keyspace: "latchkey", Name: "verifier", Scopes: []string{"keys:verify"}})
	if err != nil {
		t.Fatal(err)
	}
	verifier := vk.Secret
	keysBefore := s.countKeys(t)
	forbidden := []struct{ name, method, path, body string }{
		{"create key", "POST", "/v1/keys", `{"name":"x"}`},
		{"create management key", "POST", "/v1/keys", `{"keyspace":"latchkey","scopes":["admin"]}`},
		{"list keys", "GET", "/v1/keys", ``},
		{"get key", "GET", "/v1/keys/" + vk.ID, ``},
		{"revoke key", "POST", "/v1/keys/" + vk.ID + "/revoke", `{}`},
		{"reveal key", "GET", "/v1/keys/" + vk.ID + "/secret", ``},
		{"read audit log", "GET", "/v1/audit", ``},
		{"create keyspace", "POST", "/v1/keyspaces", `{"name":"evil"}`},
		{"create user", "POST", "/v1/users", `{"id":"mallory","permissions":["admin"]}`},
		{"create app", "POST", "/v1/apps", `{"id":"mallory"}`},
	}
	for _, tt := range forbidden {
		t.Run("403/"+tt.name, func(t *testing.T) {
			p := wantProblem(t, s.doJSON(t, tt.method, tt.path, verifier, tt.body), 403)
			if p.Code != "insufficient_scope" {
				t.Errorf("code %q, want insufficient_scope", p.Code)
			}
		})
	}
	t.Run("200/verify is allowed", func(t *testing.T) {
		if r := s.doJSON(t, "POST", "/v1/keys/verify", verifier, `{"key":"lk_x"}`); r.Status != 200 {
			t.Fatalf("verify with keys:verify: %d %.200s", r.Status, r.Body)
		}
	})
	if n := s.countKeys(t); n != keysBefore {
		t.Errorf("refused requests changed the number of keys: %d, then %d", keysBefore, n)
	}
	if _, err := root.User(ctx, "mallory"); !client.IsNotFound(err) {
		t.Errorf("user mallory after a refused create: %v", err)
	}
	if _, err := root.Keyspace(ctx, "evil"); !client.IsNotFound(err) {
		t.Errorf("keyspace evil after a refused create: %v", err)
	}
	plain, err := root.CreateKey(ctx, api.CreateKeyRequest{Name: "not a management key"})
	if err != nil {
		t.Fatal(err)
	}
	unauthenticated := []struct{ name, tok string }{
		{"no bearer", ""},
		{"garbage bearer", "garbage"},
		{"well-formed unknown key", withChecksum("lk_mgmt_" + strings.Repeat("A", 43))},
		{"key of another keyspace", plain.Secret},
	}
	for _, tt := range unauthenticated {
		t.Run("401/"+tt.name, func(t *testing.T) {
			r := s.doJSON(t, "GET", "/v1/self", tt.tok, "")
			wantProblem(t, r, 401)
			if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate %q, want a Bearer challenge", r.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

// keyOf returns the root client's view of key id.
func keyOf(t *testing.T, c *client.Client, id string) *api.Key {
	t.Helper()
	k, err := c.Key(context.Background(), id)
	if err != nil {
		t.Fatalf("get %s: %v", id, err)
	}
	return k
}
