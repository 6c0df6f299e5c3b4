package storetest

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/token"
)

// listAll pages through ListKeys with f, pageSize keys at a time, and fails
// the test unless every page but the last is full and only the last has
// no next cursor.
func listAll(t *testing.T, s token.Store, f token.KeyFilter, pageSize int) []*token.Key {
	t.Helper()
	f.Limit = pageSize
	var out []*token.Key
	for range 1000 {
		keys, next, err := s.ListKeys(bg, f)
		if err != nil {
			t.Fatalf("ListKeys(%+v): %v", f, err)
		}
		out = append(out, keys...)
		if next == "" {
			return out
		}
		if len(keys) != pageSize {
			t.Fatalf("ListKeys(%+v): %d keys and next cursor %q, want a full page before a cursor", f, len(keys), next)
		}
		if next != keys[len(keys)-1].ID {
			t.Fatalf("ListKeys(%+v): next cursor %q, want the last ID %q", f, next, keys[len(keys)-1].ID)
		}
		f.After = next
	}
	t.Fatal("ListKeys never returned an empty cursor")
	return nil
}

// matching returns the keys that keep selects, ordered by ID as ListKeys
// orders them.
func matching(keys []*token.Key, keep func(*token.Key) bool) []*token.Key {
	var out []*token.Key
	for _, k := range keys {
		if keep(k) {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, func(a, b *token.Key) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// stateFixture stores keys in every state, and on each boundary, at t0.
func stateFixture(t *testing.T, s token.Store) []*token.Key {
	t.Helper()
	expired := func(k *token.Key) { k.ExpiresAt = t0.Add(-time.Hour) }
	expiresNow := func(k *token.Key) { k.ExpiresAt = t0 } // expired: expiry at or before now
	future := func(k *token.Key) { k.ExpiresAt = t0.Add(time.Nanosecond) }
	disabled := func(k *token.Key) { k.Disabled = true }
	revoked := func(k *token.Key) { k.RevokedAt, k.RevokeReason = t0.Add(-time.Minute), "test" }
	return []*token.Key{
		createKey(t, s),
		createKey(t, s, future),
		createKey(t, s, expired),
		createKey(t, s, expiresNow),
		createKey(t, s, disabled),
		createKey(t, s, disabled, future),
		createKey(t, s, disabled, expired), // expiry wins over disabling
		createKey(t, s, revoked),
		createKey(t, s, revoked, expired), // revocation wins over expiry
		createKey(t, s, revoked, disabled, future),
	}
}

var listTests = []test{
	{"an empty store lists nothing", func(t *testing.T, s token.Store) {
		keys, next, err := s.ListKeys(bg, token.KeyFilter{Limit: 10, Now: t0})
		if err != nil || len(keys) != 0 || next != "" {
			t.Fatalf("ListKeys = %d keys, %q, %v; want none", len(keys), next, err)
		}
	}},
	{"lists every key, complete and ordered by ID", func(t *testing.T, s token.Store) {
		var all []*token.Key
		for _, v := range keyVariants {
			all = append(all, createKey(t, s, v.opt))
		}
		equalKeys(t, "ListKeys", listAll(t, s, token.KeyFilter{Now: t0}, 100), matching(all, func(*token.Key) bool { return true }))
	}},
	{"filters by keyspace", func(t *testing.T, s token.Store) {
		var all []*token.Key
		for _, ks := range []string{"a", "b", "a", "c", "a", "b"} {
			all = append(all, createKey(t, s, func(k *token.Key) { k.Keyspace = ks }))
		}
		for _, ks := range []string{"a", "b", "c", "missing"} {
			want := matching(all, func(k *token.Key) bool { return k.Keyspace == ks })
			equalKeys(t, "keyspace "+ks, listAll(t, s, token.KeyFilter{Keyspace: ks, Now: t0}, 100), want)
		}
	}},
	{"filters by owner type and owner ID", func(t *testing.T, s token.Store) {
		owners := []*token.Owner{nil, {Type: token.User, ID: "u1"}, {Type: token.User, ID: "u2"},
			{Type: token.App, ID: "u1"}, {Type: token.App, ID: "svc"}, {Type: token.User, ID: "u1"}}
		var all []*token.Key
		for _, o := range owners {
			all = append(all, createKey(t, s, func(k *token.Key) { k.Owner = o }))
		}
		for _, f := range []token.KeyFilter{
			{OwnerType: token.User}, {OwnerType: token.App}, {OwnerID: "u1"},
			{OwnerType: token.User, OwnerID: "u1"}, {OwnerType: token.App, OwnerID: "u1"},
			{OwnerType: token.App, OwnerID: "u2"},
		} {
			want := matching(all, func(k *token.Key) bool {
				return k.Owner != nil && (f.OwnerType == "" || k.Owner.Type == f.OwnerType) &&
					(f.OwnerID == "" || k.Owner.ID == f.OwnerID)
			})
			f.Now = t0
			equalKeys(t, string(f.OwnerType)+"/"+f.OwnerID, listAll(t, s, f, 100), want)
		}
	}},
	{"filters by state as Key.State computes it at f.Now", func(t *testing.T, s token.Store) {
		all := stateFixture(t, s)
		for _, now := range []time.Time{t0, t0.Add(-24 * time.Hour), t0.Add(time.Hour)} {
			for _, st := range []token.State{token.Active, token.Disabled, token.Revoked, token.Expired} {
				want := matching(all, func(k *token.Key) bool { return k.State(now) == st })
				got := listAll(t, s, token.KeyFilter{State: st, Now: now}, 100)
				equalKeys(t, string(st)+" at "+now.Format(time.RFC3339Nano), got, want)
			}
		}
	}},
	{"filters foreign keys", func(t *testing.T, s token.Store) {
		var all []*token.Key
		for _, foreign := range []bool{false, true, false, true, true} {
			all = append(all, createKey(t, s, func(k *token.Key) { k.Foreign = foreign }))
		}
		want := matching(all, func(k *token.Key) bool { return k.Foreign })
		equalKeys(t, "foreign", listAll(t, s, token.KeyFilter{Foreign: true, Now: t0}, 100), want)
	}},
	{"combines filters", func(t *testing.T, s token.Store) {
		var all []*token.Key
		for i := range 24 {
			all = append(all, createKey(t, s, func(k *token.Key) {
				k.Keyspace = []string{"a", "b"}[i%2]
				if i%3 != 0 {
					k.Owner = &token.Owner{Type: token.User, ID: []string{"u1", "u2"}[i%4/2]}
				}
				k.Disabled = i%5 == 0
				k.Foreign = i%7 == 0
			}))
		}
		f := token.KeyFilter{Keyspace: "a", OwnerType: token.User, OwnerID: "u1", State: token.Active, Now: t0}
		want := matching(all, func(k *token.Key) bool {
			return k.Keyspace == "a" && k.Owner != nil && *k.Owner == token.Owner{Type: token.User, ID: "u1"} &&
				k.State(t0) == token.Active
		})
		equalKeys(t, "combined", listAll(t, s, f, 2), want)
		f.State, f.Foreign = token.Disabled, true
		want = matching(all, func(k *token.Key) bool {
			return k.Keyspace == "a" && k.Owner != nil && *k.Owner == token.Owner{Type: token.User, ID: "u1"} &&
				k.Disabled && k.Foreign
		})
		equalKeys(t, "combined with foreign", listAll(t, s, f, 2), want)
	}},
	{"pages by ID with a cursor only when more keys exist", func(t *testing.T, s token.Store) {
		var all []*token.Key
		for range 7 {
			all = append(all, createKey(t, s))
		}
		want := matching(all, func(*token.Key) bool { return true })
		for _, size := range []int{1, 2, 3, 6, 7, 8} {
			equalKeys(t, "pages of "+strconv.Itoa(size), listAll(t, s, token.KeyFilter{Now: t0}, size), want)
		}
		// A page that ends exactly at the last key has no cursor.
		keys, next, err := s.ListKeys(bg, token.KeyFilter{After: want[3].ID, Limit: 3, Now: t0})
		if err != nil || len(keys) != 3 || next != "" {
			t.Fatalf("last full page: %d keys, next %q, err %v; want 3 keys and no cursor", len(keys), next, err)
		}
		// A cursor past every key lists nothing.
		keys, next, err = s.ListKeys(bg, token.KeyFilter{After: want[6].ID, Limit: 3, Now: t0})
		if err != nil || len(keys) != 0 || next != "" {
			t.Fatalf("after the last key: %d keys, next %q, err %v; want none", len(keys), next, err)
		}
	}},
	{"pages through a filter", func(t *testing.T, s token.Store) {
		all := stateFixture(t, s)
		all = append(all, stateFixture(t, s)...)
		for _, st := range []token.State{token.Active, token.Disabled, token.Revoked, token.Expired} {
			want := matching(all, func(k *token.Key) bool { return k.State(t0) == st })
			equalKeys(t, string(st)+" in pages of 2", listAll(t, s, token.KeyFilter{State: st, Now: t0}, 2), want)
		}
	}},
}
