package httpapi

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/store/sqlstore"
	"github.com/latchkey/latchkey/token"
)

// usageFixture is a handler on SQLite with a fixed clock, the root
// credential, alice's personal credential (keys:read), and verified keys:
// alice's and bob's in keyspace acme, and one in keyspace other.
type usageFixture struct {
	h                 *Handler
	svc               *token.Service
	root, alicePAT    string
	alice, bob, other string // key IDs
	now               time.Time
}

func newUsageFixture(t *testing.T) *usageFixture {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.OpenSQLite(ctx, t.TempDir()+"/db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &usageFixture{now: time.Date(2026, 5, 17, 10, 30, 20, 0, time.UTC)}
	svc := token.NewService(token.Config{Store: db, Now: func() time.Time { return f.now }})
	root, err := svc.Bootstrap(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	f.svc, f.root, f.h = svc, root.Reveal(), New(Config{Service: svc})
	a := token.SystemActor
	for _, ks := range []string{"acme", "other"} {
		if _, err := svc.CreateKeyspace(ctx, a, token.KeyspaceParams{Name: ks}); err != nil {
			t.Fatal(err)
		}
	}
	mk := func(ks, user string, scopes ...string) *token.CreatedKey {
		t.Helper()
		p := token.CreateKeyParams{Keyspace: ks, Scopes: scopes}
		if user != "" {
			p.Owner = &token.Owner{Type: token.User, ID: user}
		}
		k, err := svc.CreateKey(ctx, a, p)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	for _, u := range []string{"alice", "bob"} {
		if _, err := svc.CreatePrincipal(ctx, a, token.CreatePrincipalParams{Type: token.User, ID: u, Permissions: []string{"orders:read", token.ScopeKeysRead}}); err != nil {
			t.Fatal(err)
		}
	}
	f.alicePAT = mk(token.ManagementKeyspace, "alice", token.ScopeKeysRead).Secret.Reveal()
	verify := func(k *token.CreatedKey, ks string, n int) {
		for range n {
			if _, err := svc.Verify(ctx, token.VerifyRequest{Key: k.Secret.Reveal(), Keyspace: ks, Scopes: []string{"orders:read"}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	ka, kb, ko := mk("acme", "alice", "orders:read"), mk("acme", "bob", "orders:read"), mk("other", "", "orders:read")
	f.alice, f.bob, f.other = ka.Key.ID, kb.Key.ID, ko.Key.ID
	verify(ka, "acme", 2)
	verify(kb, "acme", 3)
	verify(ko, "other", 7)
	if err := svc.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	return f
}

// get calls the API as cred and decodes a 200 answer into out.
func (f *usageFixture) get(t *testing.T, cred, path string, q url.Values, out any) int {
	t.Helper()
	r := httptest.NewRequest("GET", path+"?"+q.Encode(), nil)
	r.Header.Set("Authorization", "Bearer "+cred)
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	if w.Code == 200 && out != nil {
		if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
			t.Fatalf("GET %s: %v: %s", path, err, w.Body)
		}
	}
	if w.Code != 200 {
		var p api.Problem
		json.Unmarshal(w.Body.Bytes(), &p)
		if out, ok := out.(*api.Problem); ok {
			*out = p
		}
	}
	return w.Code
}

func TestKeyUsageEndpoint(t *testing.T) {
	f := newUsageFixture(t)
	var u api.KeyUsage
	if code := f.get(t, f.root, "/v1/keys/"+f.alice+"/usage", url.Values{"granularity": {"minute"}, "from": {"2026-05-17T10:00:00Z"}}, &u); code != 200 {
		t.Fatalf("status %d", code)
	}
	m := time.Date(2026, 5, 17, 10, 30, 0, 0, time.UTC)
	if u.KeyID != f.alice || u.Granularity != "minute" || !u.To.Equal(m.Add(time.Minute)) || len(u.Buckets) != 1 ||
		!u.Buckets[0].Start.Equal(m) || u.Buckets[0].Counts["VALID"] != 2 || u.Totals["VALID"] != 2 {
		t.Fatalf("answer %+v", u)
	}
	if code := f.get(t, f.root, "/v1/keys/"+f.alice+"/usage", nil, &u); code != 200 || u.Granularity != "hour" ||
		len(u.Buckets) != 1 || !u.Buckets[0].Start.Equal(m.Truncate(time.Hour)) {
		t.Fatalf("default range: %d %+v", code, u)
	}
}

// TestUsageBadRanges: every malformed or unbounded range is a 400 with a
// stable code, on both endpoints.
func TestUsageBadRanges(t *testing.T) {
	f := newUsageFixture(t)
	for _, tc := range []struct {
		name string
		q    url.Values
		code string
	}{
		{"unknown granularity", url.Values{"granularity": {"day"}}, "bad_granularity"},
		{"to before from", url.Values{"from": {"2026-05-17T10:00:00Z"}, "to": {"2026-05-17T09:00:00Z"}}, "bad_range"},
		{"to equal to from", url.Values{"from": {"2026-05-17T10:00:00Z"}, "to": {"2026-05-17T10:00:00Z"}}, "bad_range"},
		{"too many minute buckets", url.Values{"granularity": {"minute"}, "from": {"2026-05-10T00:00:00Z"}}, "bad_range"},
		{"too many hour buckets", url.Values{"from": {"2025-01-01T00:00:00Z"}}, "bad_range"},
		{"from not a time", url.Values{"from": {"yesterday"}}, "bad_time"},
	} {
		for _, path := range []string{"/v1/keys/" + f.alice + "/usage", "/v1/analytics"} {
			t.Run(tc.name+" "+path, func(t *testing.T) {
				q := url.Values{"keyspace": {"acme"}}
				for k, v := range tc.q {
					q[k] = v
				}
				var p api.Problem
				if code := f.get(t, f.root, path, q, &p); code != 400 || p.Code != tc.code {
					t.Fatalf("status %d code %q, want 400 %s", code, p.Code, tc.code)
				}
			})
		}
	}
	for _, tc := range []struct {
		name string
		q    url.Values
		code string
	}{
		{"no keyspace", url.Values{}, "bad_keyspace"},
		{"unknown group_by", url.Values{"keyspace": {"acme"}, "group_by": {"ip"}}, "bad_group_by"},
		{"limit too large", url.Values{"keyspace": {"acme"}, "group_by": {"key"}, "limit": {"100000"}}, "bad_limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p api.Problem
			if code := f.get(t, f.root, "/v1/analytics", tc.q, &p); code != 400 || p.Code != tc.code {
				t.Fatalf("status %d code %q, want 400 %s", code, p.Code, tc.code)
			}
		})
	}
}

// TestKEY03_UsageOfOthersKeys: usage is read with the same rules as keys: a
// personal credential gets 404 for another owner's key and sees only its
// own keys in the analytics; a keyspace's analytics never hold another
// keyspace's keys.
func TestKEY03_UsageOfOthersKeys(t *testing.T) {
	f := newUsageFixture(t)
	var p api.Problem
	if code := f.get(t, f.alicePAT, "/v1/keys/"+f.bob+"/usage", nil, &p); code != 404 {
		t.Fatalf("alice reading bob's key usage: %d, want 404", code)
	}
	var u api.KeyUsage
	if code := f.get(t, f.alicePAT, "/v1/keys/"+f.alice+"/usage", nil, &u); code != 200 || u.Totals["VALID"] != 2 {
		t.Fatalf("alice reading her key's usage: %d %+v", code, u)
	}
	groups := func(cred, by string) []api.UsageGroup {
		t.Helper()
		var a api.Analytics
		if code := f.get(t, cred, "/v1/analytics", url.Values{"keyspace": {"acme"}, "group_by": {by}}, &a); code != 200 {
			t.Fatalf("analytics by %s: %d", by, code)
		}
		return a.Groups
	}
	if g := groups(f.root, "key"); len(g) != 2 || g[0].KeyID != f.alice || g[1].KeyID != f.bob || g[1].Total != 3 {
		t.Errorf("root, acme by key: %+v (the key of keyspace other must not be there)", g)
	}
	if g := groups(f.root, "code"); len(g) != 1 || g[0].Code != "VALID" || g[0].Total != 5 {
		t.Errorf("root, acme by code: %+v, want VALID 5 (2 + 3; not other's 7)", g)
	}
	if g := groups(f.alicePAT, "key"); len(g) != 1 || g[0].KeyID != f.alice {
		t.Errorf("alice, acme by key: %+v, want her key only", g)
	}
	if g := groups(f.alicePAT, "owner"); len(g) != 1 || g[0].Owner == nil || g[0].Owner.ID != "alice" || g[0].Total != 2 {
		t.Errorf("alice, acme by owner: %+v, want herself only", g)
	}
	if g := groups(f.alicePAT, "code"); len(g) != 1 || g[0].Total != 2 {
		t.Errorf("alice, acme by code: %+v, want her 2 verifications only", g)
	}
	var a api.Analytics
	if code := f.get(t, f.root, "/v1/analytics", url.Values{"keyspace": {"acme"}, "group_by": {"key"}, "limit": {"1"}}, &a); code != 200 ||
		len(a.Groups) != 1 || a.NextCursor != f.alice {
		t.Fatalf("first page: %d %+v", code, a)
	}
	var a2 api.Analytics
	if code := f.get(t, f.root, "/v1/analytics", url.Values{"keyspace": {"acme"}, "group_by": {"key"}, "limit": {"1"}, "cursor": {a.NextCursor}}, &a2); code != 200 ||
		len(a2.Groups) != 1 || a2.Groups[0].KeyID != f.bob || a2.NextCursor != "" {
		t.Fatalf("second page: %d %+v", code, a2)
	}
	if code := f.get(t, f.root, "/v1/analytics", url.Values{"keyspace": {"nope"}}, &p); code != 404 {
		t.Errorf("unknown keyspace: %d, want 404", code)
	}
}
