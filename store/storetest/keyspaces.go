package storetest

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/token"
)

var keyspaceTests = []test{
	{"round-trips every field and writes the event", func(t *testing.T, s token.Store) {
		for _, want := range []*token.Keyspace{
			{Name: "minimal", Prefix: "m", CreatedAt: t0, UpdatedAt: t0},
			{Name: "full", Prefix: "acme_live", DefaultTTL: 24*time.Hour + 1, MaxTTL: 90 * 24 * time.Hour,
				AllowPermanent: true, Scopes: []string{"billing:read", "users:*"},
				Audiences: []string{"https://api.example.com", "billing"}, AllowAPIKeyHeader: true,
				CreatedAt: t0, UpdatedAt: t0.Add(time.Nanosecond), Recoverable: true},
		} {
			n := auditCount(t, s)
			ev := event("keyspace.create", "keyspace", want.Name)
			if err := s.CreateKeyspace(bg, want.Clone(), ev); err != nil {
				t.Fatalf("CreateKeyspace(%s): %v", want.Name, err)
			}
			got, err := s.Keyspace(bg, want.Name)
			if err != nil {
				t.Fatalf("Keyspace(%s): %v", want.Name, err)
			}
			equal(t, "keyspace "+want.Name, got, want)
			wantAudit(t, s, n, ev)
		}
	}},
	{"an existing name returns ErrConflict and changes nothing", func(t *testing.T, s token.Store) {
		first := keyspace(t, s, "acme")
		n := auditCount(t, s)
		ev := event("keyspace.create", "keyspace", "acme")
		err := s.CreateKeyspace(bg, &token.Keyspace{Name: "acme", Prefix: "other", CreatedAt: t0, UpdatedAt: t0}, ev)
		wantErr(t, "CreateKeyspace", err, token.ErrConflict)
		got, err := s.Keyspace(bg, "acme")
		if err != nil {
			t.Fatalf("Keyspace: %v", err)
		}
		equal(t, "keyspace", got, first)
		wantNoAudit(t, s, n, ev)
	}},
	{"a missing keyspace returns ErrNotFound", func(t *testing.T, s token.Store) {
		keyspace(t, s, "acme")
		_, err := s.Keyspace(bg, "acm")
		wantErr(t, "Keyspace", err, token.ErrNotFound)
	}},
	{"lists every keyspace ordered by name", func(t *testing.T, s token.Store) {
		if kss, err := s.ListKeyspaces(bg); err != nil || len(kss) != 0 {
			t.Fatalf("ListKeyspaces of an empty store = %d, %v; want none", len(kss), err)
		}
		var want []*token.Keyspace
		for _, name := range []string{"latchkey", "default", "zeta", "acme-live", "acme"} {
			want = append(want, keyspace(t, s, name, func(ks *token.Keyspace) { ks.Scopes = []string{name} }))
		}
		slices.SortFunc(want, func(a, b *token.Keyspace) int { return strings.Compare(a.Name, b.Name) })
		got, err := s.ListKeyspaces(bg)
		if err != nil {
			t.Fatalf("ListKeyspaces: %v", err)
		}
		if len(got) != len(want) {
			t.Fatalf("ListKeyspaces returned %d keyspaces, want %d", len(got), len(want))
		}
		for i := range got {
			equal(t, "keyspace "+want[i].Name, got[i], want[i])
		}
	}},
	{"UpdateKeyspace applies fn and writes the event", func(t *testing.T, s token.Store) {
		ks := keyspace(t, s, "acme")
		n := auditCount(t, s)
		ev := event("keyspace.update", "keyspace", "acme")
		want := ks.Clone()
		want.Prefix, want.DefaultTTL, want.MaxTTL = "acme_test", time.Hour, 2*time.Hour
		want.AllowPermanent, want.Scopes, want.UpdatedAt = false, []string{"a", "b"}, t0.Add(time.Second)
		got, err := s.UpdateKeyspace(bg, "acme", func(cur *token.Keyspace) error {
			equal(t, "keyspace given to fn", cur, ks)
			cur.Prefix, cur.DefaultTTL, cur.MaxTTL = want.Prefix, want.DefaultTTL, want.MaxTTL
			cur.AllowPermanent, cur.Scopes, cur.UpdatedAt = false, want.Scopes, want.UpdatedAt
			ev.Detail = map[string]string{"prefix": want.Prefix}
			return nil
		}, ev)
		if err != nil {
			t.Fatalf("UpdateKeyspace: %v", err)
		}
		equal(t, "returned keyspace", got, want)
		stored, err := s.Keyspace(bg, "acme")
		if err != nil {
			t.Fatalf("Keyspace: %v", err)
		}
		equal(t, "stored keyspace", stored, want)
		wantAudit(t, s, n, ev)
	}},
	{"UpdateKeyspace: an error from fn aborts and comes back", func(t *testing.T, s token.Store) {
		ks := keyspace(t, s, "acme")
		n := auditCount(t, s)
		ev := event("keyspace.update", "keyspace", "acme")
		abort := &errAbort{"acme"}
		_, err := s.UpdateKeyspace(bg, "acme", func(cur *token.Keyspace) error {
			cur.Prefix = "changed"
			return abort
		}, ev)
		if !errors.Is(err, abort) {
			t.Fatalf("UpdateKeyspace error = %v, want fn's error", err)
		}
		stored, err := s.Keyspace(bg, "acme")
		if err != nil {
			t.Fatalf("Keyspace: %v", err)
		}
		equal(t, "stored keyspace", stored, ks)
		wantNoAudit(t, s, n, ev)
	}},
	{"UpdateKeyspace of a missing keyspace returns ErrNotFound without calling fn", func(t *testing.T, s token.Store) {
		n := auditCount(t, s)
		ev := event("keyspace.update", "keyspace", "missing")
		_, err := s.UpdateKeyspace(bg, "missing", func(*token.Keyspace) error {
			t.Error("fn called for a missing keyspace")
			return nil
		}, ev)
		wantErr(t, "UpdateKeyspace", err, token.ErrNotFound)
		wantNoAudit(t, s, n, ev)
	}},
}
