package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/server"
)

// TestE2E_QuickStart walks the getting-started flow against a real server
// through the public client package: keyspace, user, key, verify, list,
// update, rotate, renew, revoke, delete, self, audit and the operational
// endpoints.
func TestE2E_QuickStart(t *testing.T) {
	s := startServer(t, server.Config{})
	ctx := context.Background()
	c := s.client(t, s.Root)

	if err := c.Health(ctx); err != nil {
		t.Fatalf("health: %v", err)
	}
	if err := c.Ready(ctx); err != nil {
		t.Fatalf("ready: %v", err)
	}
	prefix := "acme_live"
	ks, err := c.CreateKeyspace(ctx, api.KeyspaceRequest{Name: "acme-live", Prefix: &prefix})
	if err != nil || ks.Prefix != prefix {
		t.Fatalf("create keyspace: %+v %v", ks, err)
	}
	if _, err := c.CreateUser(ctx, api.CreatePrincipalRequest{ID: "alice", Permissions: []string{"orders:read", "orders:write", "billing:read"}}); err != nil {
		t.Fatalf("create user: %v", err)
	}
	alice := &api.Owner{Type: "user", ID: "alice"}
	hundred := int64(100)
	ck, err := c.CreateKey(ctx, api.CreateKeyRequest{
		Keyspace: "acme-live", Name: "alice cli", Owner: alice,
		Scopes:   []string{"orders:read", "orders:write"},
		Metadata: json.RawMessage(`{"team":"red"}`), Remaining: &hundred,
	})
	if err != nil {
		t.Fatalf("create key: %v", err)
	}
	id := ck.ID
	alicePerms := []string{"orders:read", "billing:read"} // alice loses orders:write: the key keeps it, inert
	if _, err := c.UpdateUser(ctx, "alice", api.UpdatePrincipalRequest{Permissions: &alicePerms}); err != nil {
		t.Fatalf("update user: %v", err)
	}
	if !strings.HasPrefix(ck.Secret, prefix+"_") || !strings.HasPrefix(ck.Secret, ck.Start) || len(ck.Start) >= len(ck.Secret)/2 {
		t.Fatalf("created key %s: secret %s does not fit prefix %q / start %q", id, fp(ck.Secret), prefix, ck.Start)
	}

	verify := func(t *testing.T, secret string, want string, scopes ...string) *api.VerifyResponse {
		t.Helper()
		res, err := c.Verify(ctx, api.VerifyRequest{Key: secret, Scopes: scopes})
		if err != nil {
			t.Fatalf("verify %s: %v", fp(secret), err)
		}
		if res.Code != want || res.Valid != (want == "VALID") {
			t.Fatalf("verify %s: %s (valid %v), want %s", fp(secret), res.Code, res.Valid, want)
		}
		return res
	}

	t.Run("verify/effective scopes are key ∩ user", func(t *testing.T) {
		res := verify(t, ck.Secret, "VALID", "orders:read")
		if !slices.Equal(res.Scopes, []string{"orders:read"}) {
			t.Errorf("effective scopes %v, want [orders:read]", res.Scopes)
		}
		if res.KeyID != id || res.Keyspace != "acme-live" || res.Owner == nil || *res.Owner != *alice {
			t.Errorf("verify identity: %+v", res)
		}
		if !jsonEqual(res.Metadata, []byte(`{"team":"red"}`)) {
			t.Errorf("metadata %s", res.Metadata)
		}
		if res.Remaining == nil || *res.Remaining != 99 {
			t.Errorf("remaining %v, want 99", res.Remaining)
		}
		verify(t, ck.Secret, "INSUFFICIENT_SCOPE", "orders:write") // the user lacks it
	})

	t.Run("list/filters and pagination", func(t *testing.T) {
		if _, err := c.CreateApp(ctx, api.CreatePrincipalRequest{ID: "billing", Permissions: []string{"orders:read"}}); err != nil {
			t.Fatal(err)
		}
		want := map[string]bool{}
		for i := range 7 {
			k, err := c.CreateKey(ctx, api.CreateKeyRequest{Keyspace: "acme-live", Name: "svc " + strconv.Itoa(i), Owner: &api.Owner{Type: "app", ID: "billing"}})
			if err != nil {
				t.Fatal(err)
			}
			want[k.ID] = true
		}
		opts := client.KeyListOptions{Keyspace: "acme-live", OwnerType: "app", OwnerID: "billing", State: "active", Limit: 3}
		seen := map[string]bool{}
		var sizes []int
		for range 10 {
			page, err := c.ListKeys(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			sizes = append(sizes, len(page.Items))
			for _, k := range page.Items {
				if seen[k.ID] || !want[k.ID] {
					t.Fatalf("page %d: key %s duplicated or not matching the filter", len(sizes), k.ID)
				}
				seen[k.ID] = true
			}
			if opts.Cursor = page.NextCursor; opts.Cursor == "" {
				break
			}
		}
		if !slices.Equal(sizes, []int{3, 3, 1}) || len(seen) != 7 {
			t.Fatalf("page sizes %v, %d keys, want [3 3 1] and 7", sizes, len(seen))
		}
	})

	t.Run("get", func(t *testing.T) {
		k, err := c.Key(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if k.ID != id || k.Name != "alice cli" || k.State != "active" || k.Start != ck.Start ||
			!slices.Equal(k.Scopes, []string{"orders:read", "orders:write"}) || k.ExpiresAt != nil {
			t.Fatalf("get: %+v", k)
		}
	})

	t.Run("update/rename, disable, enable", func(t *testing.T) {
		name, off, on := "alice laptop", false, true
		k, err := c.UpdateKey(ctx, id, api.UpdateKeyRequest{Name: &name})
		if err != nil || k.Name != name {
			t.Fatalf("rename: %+v %v", k, err)
		}
		if k, err = c.UpdateKey(ctx, id, api.UpdateKeyRequest{Enabled: &off}); err != nil || k.State != "disabled" {
			t.Fatalf("disable: %+v %v", k, err)
		}
		verify(t, ck.Secret, "DISABLED")
		if k, err = c.UpdateKey(ctx, id, api.UpdateKeyRequest{Enabled: &on}); err != nil || k.State != "active" {
			t.Fatalf("enable: %+v %v", k, err)
		}
		verify(t, ck.Secret, "VALID")
	})

	var successor string
	t.Run("rotate with grace: both verify", func(t *testing.T) {
		before := time.Now()
		rk, err := c.RotateKey(ctx, id, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		successor = rk.ID
		if rk.RotatedFrom != id || rk.Previous.ID != id || rk.Previous.RotatedTo != rk.ID || rk.Secret == "" || rk.Secret == ck.Secret {
			t.Fatalf("rotate: new %s from %q, previous %s to %q", rk.ID, rk.RotatedFrom, rk.Previous.ID, rk.Previous.RotatedTo)
		}
		if e := rk.Previous.ExpiresAt; e == nil || e.Before(before.Add(59*time.Minute)) || e.After(time.Now().Add(61*time.Minute)) {
			t.Fatalf("previous key expires %v, want in about 1h", e)
		}
		verify(t, rk.Secret, "VALID", "orders:read")
		verify(t, ck.Secret, "VALID", "orders:read")
		if k, err := c.Key(ctx, id); err != nil || k.RotatedTo != rk.ID {
			t.Fatalf("old key after rotate: %+v %v", k, err)
		}
		// The successor is a live key: revoke it, then it never verifies.
		k, err := c.RevokeKey(ctx, rk.ID, "compromised laptop")
		if err != nil || k.State != "revoked" || k.RevokeReason != "compromised laptop" || k.RevokedAt == nil {
			t.Fatalf("revoke: %+v %v", k, err)
		}
		verify(t, rk.Secret, "REVOKED")
	})

	t.Run("renew a temporary key", func(t *testing.T) {
		tk, err := c.CreateKey(ctx, api.CreateKeyRequest{Keyspace: "acme-live", Name: "temp", ExpiresIn: "24h"})
		if err != nil || tk.ExpiresAt == nil {
			t.Fatalf("create temporary: %+v %v", tk, err)
		}
		k, err := c.RenewKey(ctx, tk.ID)
		if err != nil || k.ExpiresAt == nil || !k.ExpiresAt.After(*tk.ExpiresAt) {
			t.Fatalf("renew: %+v %v (was %v)", k, err, tk.ExpiresAt)
		}
		if _, err := c.RenewKey(ctx, id); client.StatusOf(err) != 409 || client.CodeOf(err) != "key_rotated" {
			t.Fatalf("renew of a rotated key: %v, want 409 key_rotated", err)
		}
	})

	t.Run("delete only after revoke", func(t *testing.T) {
		if err := c.DeleteKey(ctx, id); client.StatusOf(err) != 409 {
			t.Fatalf("delete of a live key: %v, want 409", err)
		}
		if err := c.DeleteKey(ctx, successor); err != nil {
			t.Fatalf("delete revoked: %v", err)
		}
		if _, err := c.Key(ctx, successor); !client.IsNotFound(err) || client.CodeOf(err) != "key_not_found" {
			t.Fatalf("get after delete: %v, want 404 key_not_found", err)
		}
	})

	t.Run("self", func(t *testing.T) {
		me, err := c.Self(ctx)
		if err != nil || me.KeyID == "" || !slices.Contains(me.Scopes, "admin") {
			t.Fatalf("self: %+v %v", me, err)
		}
	})

	t.Run("audit shows the actions", func(t *testing.T) {
		var got []string
		opts := client.AuditListOptions{Limit: 100}
		for range 100 {
			page, err := c.Audit(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range page.Items {
				if e.Time.IsZero() || e.Outcome == "" || e.Actor == "" {
					t.Errorf("incomplete audit event %+v", e)
				}
				got = append(got, e.Action+" "+e.TargetID)
			}
			if opts.Cursor = page.NextCursor; opts.Cursor == "" {
				break
			}
		}
		for _, want := range []string{
			"keyspace.create acme-live", "user.create alice", "app.create billing",
			"key.create " + id, "key.update " + id, "key.rotate " + id,
			"key.revoke " + successor, "key.delete " + successor,
		} {
			if !slices.Contains(got, want) {
				t.Errorf("audit log lacks %q", want)
			}
		}
		if !slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, "key.renew ") }) {
			t.Error("audit log lacks key.renew")
		}
	})

	t.Run("operational endpoints", func(t *testing.T) {
		for _, p := range []string{"/healthz", "/readyz"} {
			if r := s.do(t, "GET", p, "", "", nil); r.Status != 200 {
				t.Errorf("GET %s: %d", p, r.Status)
			}
		}
		r := s.do(t, "GET", "/metrics", "", "", nil)
		if r.Status != 200 {
			t.Fatalf("GET /metrics: %d", r.Status)
		}
		// The verifications this test made through POST /v1/keys/verify.
		for code, want := range map[string]float64{"VALID": 4, "DISABLED": 1, "INSUFFICIENT_SCOPE": 1, "REVOKED": 1} {
			series := `latchkey_verifications_total{code="` + code + `"}`
			if n := metricValue(r.Body, series); n != want {
				t.Errorf("%s = %v, want %v", series, n, want)
			}
		}
	})
}

// metricValue returns the value of the Prometheus sample named series
// (with labels), or -1 if absent.
func metricValue(body []byte, series string) float64 {
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err == nil {
				return f
			}
		}
	}
	return -1
}

// jsonEqual reports whether a and b hold the same JSON value.
func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}
