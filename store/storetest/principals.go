package storetest

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/latchkey/latchkey/token"
)

// listPrincipals pages through ListPrincipals and returns "type/id" of each.
func listPrincipals(t *testing.T, s token.Store, typ token.PrincipalType, pageSize int) []string {
	t.Helper()
	f := token.PrincipalFilter{Type: typ, Limit: pageSize}
	var out []string
	for range 1000 {
		ps, next, err := s.ListPrincipals(bg, f)
		if err != nil {
			t.Fatalf("ListPrincipals(%+v): %v", f, err)
		}
		for _, p := range ps {
			out = append(out, string(p.Type)+"/"+p.ID)
		}
		if next == "" {
			return out
		}
		if len(ps) != pageSize || next != ps[len(ps)-1].ID {
			t.Fatalf("ListPrincipals(%+v): %d principals, next %q; want a full page and its last ID", f, len(ps), next)
		}
		f.After = next
	}
	t.Fatal("ListPrincipals never returned an empty cursor")
	return nil
}

var principalTests = []test{
	{"round-trips every field and writes the event", func(t *testing.T, s token.Store) {
		for _, want := range []*token.Principal{
			{Type: token.User, ID: "minimal", CreatedAt: t0, UpdatedAt: t0, Version: 1},
			{Type: token.User, ID: "alice", Name: "Alice Liddell", Email: "alice@example.com", EmailVerified: true,
				PreferredUsername: "alice", Groups: []string{"staff", "Domain Users"}, CreatedAt: t0, UpdatedAt: t0, Version: 1},
			{Type: token.App, ID: "billing-service", Name: "Billing", Permissions: []string{"billing:*", "users:read"},
				Disabled: true, Metadata: json.RawMessage(`{"team":"payments","cost_center":42}`),
				CreatedAt: t0, UpdatedAt: t0.Add(3 * time.Nanosecond), Version: 5},
		} {
			n := auditCount(t, s)
			ev := event(string(want.Type)+".create", string(want.Type), want.ID)
			if err := s.CreatePrincipal(bg, want.Clone(), ev); err != nil {
				t.Fatalf("CreatePrincipal(%s): %v", want.ID, err)
			}
			got, err := s.Principal(bg, want.Type, want.ID)
			if err != nil {
				t.Fatalf("Principal(%s): %v", want.ID, err)
			}
			equal(t, "principal "+want.ID, got, want)
			wantAudit(t, s, n, ev)
		}
	}},
	{"an existing type and ID returns ErrConflict; the same ID of the other type does not", func(t *testing.T, s token.Store) {
		first := principal(t, s, token.User, "alice")
		n := auditCount(t, s)
		ev := event("user.create", "user", "alice")
		err := s.CreatePrincipal(bg, &token.Principal{Type: token.User, ID: "alice", Name: "other", CreatedAt: t0, UpdatedAt: t0}, ev)
		wantErr(t, "CreatePrincipal", err, token.ErrConflict)
		wantNoAudit(t, s, n, ev)
		got, err := s.Principal(bg, token.User, "alice")
		if err != nil {
			t.Fatalf("Principal: %v", err)
		}
		equal(t, "user alice", got, first)
		app := principal(t, s, token.App, "alice")
		got, err = s.Principal(bg, token.App, "alice")
		if err != nil {
			t.Fatalf("Principal(app): %v", err)
		}
		equal(t, "app alice", got, app)
	}},
	{"a missing principal returns ErrNotFound", func(t *testing.T, s token.Store) {
		principal(t, s, token.User, "alice")
		_, err := s.Principal(bg, token.App, "alice")
		wantErr(t, "Principal(app alice)", err, token.ErrNotFound)
		_, err = s.Principal(bg, token.User, "bob")
		wantErr(t, "Principal(user bob)", err, token.ErrNotFound)
	}},
	{"lists by type, ordered by ID, in pages", func(t *testing.T, s token.Store) {
		if got := listPrincipals(t, s, token.User, 10); len(got) != 0 {
			t.Fatalf("empty store lists %v", got)
		}
		for _, id := range []string{"u3", "u1", "a2", "u2", "u5", "u4"} {
			principal(t, s, token.User, id)
		}
		for _, id := range []string{"a1", "u1", "a3"} {
			principal(t, s, token.App, id)
		}
		users := []string{"user/a2", "user/u1", "user/u2", "user/u3", "user/u4", "user/u5"}
		for _, size := range []int{1, 2, 4, 6, 7} {
			if got := listPrincipals(t, s, token.User, size); !slices.Equal(got, users) {
				t.Errorf("users in pages of %d = %v, want %v", size, got, users)
			}
		}
		apps := []string{"app/a1", "app/a3", "app/u1"}
		if got := listPrincipals(t, s, token.App, 2); !slices.Equal(got, apps) {
			t.Errorf("apps = %v, want %v", got, apps)
		}
		ps, _, err := s.ListPrincipals(bg, token.PrincipalFilter{Type: token.App, Limit: 10})
		if err != nil || len(ps) != 3 {
			t.Fatalf("ListPrincipals(app) = %d, %v", len(ps), err)
		}
		want, err := s.Principal(bg, token.App, "a1")
		if err != nil {
			t.Fatalf("Principal: %v", err)
		}
		equal(t, "listed app a1", ps[0], want)
	}},
	{"UpdatePrincipal applies fn, increments Version by one and writes the event", func(t *testing.T, s token.Store) {
		p := principal(t, s, token.App, "svc", func(p *token.Principal) {
			p.Permissions, p.Metadata, p.Version = []string{"a"}, json.RawMessage(`{"x":1}`), 3
		})
		n := auditCount(t, s)
		ev := event("app.update", "app", "svc")
		want := p.Clone()
		want.Name, want.Permissions, want.Disabled, want.Metadata = "renamed", []string{"b", "c"}, true, nil
		want.UpdatedAt, want.Version = t0.Add(time.Second), 4
		got, err := s.UpdatePrincipal(bg, token.App, "svc", func(cur *token.Principal) error {
			equal(t, "principal given to fn", cur, p)
			cur.Name, cur.Permissions, cur.Disabled, cur.Metadata = want.Name, want.Permissions, true, nil
			cur.UpdatedAt, cur.Version = want.UpdatedAt, 99
			ev.Detail = map[string]string{"disabled": "true"}
			return nil
		}, ev)
		if err != nil {
			t.Fatalf("UpdatePrincipal: %v", err)
		}
		equal(t, "returned principal", got, want)
		stored, err := s.Principal(bg, token.App, "svc")
		if err != nil {
			t.Fatalf("Principal: %v", err)
		}
		equal(t, "stored principal", stored, want)
		wantAudit(t, s, n, ev)
	}},
	{"UpdatePrincipal writes and clears the OpenID Connect profile and groups", func(t *testing.T, s token.Store) {
		p := principal(t, s, token.User, "alice")
		for _, set := range []func(*token.Principal){
			func(p *token.Principal) { p.Email, p.EmailVerified, p.PreferredUsername = "a@example.org", true, "al" },
			func(p *token.Principal) { p.EmailVerified = false },
			func(p *token.Principal) { p.Groups = []string{"admins", "ops"} },
			func(p *token.Principal) { p.Email, p.PreferredUsername, p.Groups = "", "", nil },
		} {
			want := p.Clone()
			set(want)
			want.Version++
			got, err := s.UpdatePrincipal(bg, token.User, "alice", func(cur *token.Principal) error {
				set(cur)
				return nil
			}, event("user.update", "user", "alice"))
			if err != nil {
				t.Fatalf("UpdatePrincipal: %v", err)
			}
			equal(t, "returned principal", got, want)
			stored, err := s.Principal(bg, token.User, "alice")
			if err != nil {
				t.Fatalf("Principal: %v", err)
			}
			equal(t, "stored principal", stored, want)
			p = stored
		}
	}},
	{"UpdatePrincipal: an error from fn aborts and comes back", func(t *testing.T, s token.Store) {
		p := principal(t, s, token.User, "alice")
		n := auditCount(t, s)
		ev := event("user.update", "user", "alice")
		abort := &errAbort{"alice"}
		_, err := s.UpdatePrincipal(bg, token.User, "alice", func(cur *token.Principal) error {
			cur.Disabled = true
			return abort
		}, ev)
		if !errors.Is(err, abort) {
			t.Fatalf("UpdatePrincipal error = %v, want fn's error", err)
		}
		stored, err := s.Principal(bg, token.User, "alice")
		if err != nil {
			t.Fatalf("Principal: %v", err)
		}
		equal(t, "stored principal", stored, p)
		wantNoAudit(t, s, n, ev)
	}},
	{"UpdatePrincipal of a missing principal returns ErrNotFound without calling fn", func(t *testing.T, s token.Store) {
		principal(t, s, token.User, "alice")
		n := auditCount(t, s)
		ev := event("app.update", "app", "alice")
		_, err := s.UpdatePrincipal(bg, token.App, "alice", func(*token.Principal) error {
			t.Error("fn called for a missing principal")
			return nil
		}, ev)
		wantErr(t, "UpdatePrincipal", err, token.ErrNotFound)
		wantNoAudit(t, s, n, ev)
	}},
}
