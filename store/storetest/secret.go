package storetest

import (
	"testing"

	"github.com/latchkey/latchkey/token"
)

// wantStored fails the test unless want reads back the same by ID, by
// digest and in a listing of its keyspace.
func wantStored(t *testing.T, s token.Store, what string, want *token.Key) {
	t.Helper()
	equal(t, what+" by ID", getKey(t, s, want.ID), want)
	got, err := s.KeyByDigest(bg, want.Digest)
	if err != nil {
		t.Fatalf("KeyByDigest(%s): %v", want.ID, err)
	}
	equal(t, what+" by digest", got, want)
	for _, k := range listAll(t, s, token.KeyFilter{Keyspace: want.Keyspace}, 2) {
		if k.ID == want.ID {
			equal(t, what+" by list", k, want)
			return
		}
	}
	t.Fatalf("ListKeys does not return %s %s", what, want.ID)
}

// signingSecretTests check that the sealed request-signing secret is kept
// as opaque bytes by every write and read of a key.
var signingSecretTests = []test{
	{"round-trips through CreateKey by ID, by digest and by list", func(t *testing.T, s token.Store) {
		without := createKey(t, s)
		with := createKey(t, s, func(k *token.Key) { k.SigningSecret = everyByte("v1:") })
		wantStored(t, s, "key without a secret", without)
		wantStored(t, s, "key with a secret", with)
		if got := getKey(t, s, without.ID).SigningSecret; got != nil {
			t.Errorf("key without a secret reads back SigningSecret %q, want nil", got)
		}
	}},
	{"round-trips through ImportKeys", func(t *testing.T, s token.Store) {
		keyspace(t, s, token.DefaultKeyspace)
		keys := []*token.Key{
			newKey(t, func(k *token.Key) { k.SigningSecret = everyByte("imported:") }),
			newKey(t),
			newKey(t, func(k *token.Key) { k.SigningSecret = []byte("other") }),
		}
		var evs []*token.AuditEvent
		for _, k := range keys {
			evs = append(evs, event("key.import", "key", k.ID))
		}
		clones := make([]*token.Key, len(keys))
		for i, k := range keys {
			clones[i] = k.Clone()
		}
		if err := s.ImportKeys(bg, clones, evs); err != nil {
			t.Fatalf("ImportKeys: %v", err)
		}
		for _, k := range keys {
			wantStored(t, s, "imported key", k)
		}
	}},
	{"UpdateKey sets, changes, keeps and clears it", func(t *testing.T, s token.Store) {
		k := createKey(t, s)
		other := createKey(t, s, func(k *token.Key) { k.SigningSecret = []byte("untouched") })
		want := k.Clone()
		for _, step := range []struct {
			name string
			fn   func(*token.Key)
		}{
			{"set", func(k *token.Key) { k.SigningSecret = everyByte("first:") }},
			{"changed", func(k *token.Key) { k.SigningSecret = []byte("second") }},
			{"kept", func(k *token.Key) { k.Name = "renamed" }},
			{"cleared", func(k *token.Key) { k.SigningSecret = nil }},
			{"set again", func(k *token.Key) { k.SigningSecret = []byte{0xff, 0} }},
		} {
			before := want.Clone()
			step.fn(want)
			want.Version++
			got, err := s.UpdateKey(bg, k.ID, func(cur *token.Key) error {
				equal(t, "key given to fn ("+step.name+")", cur, before)
				step.fn(cur)
				return nil
			}, event("key.update", "key", k.ID))
			if err != nil {
				t.Fatalf("UpdateKey (%s): %v", step.name, err)
			}
			equal(t, "returned key ("+step.name+")", got, want)
			wantStored(t, s, "updated key ("+step.name+")", want)
		}
		wantStored(t, s, "other key", other)
	}},
	{"RotateKey stores both keys' secrets as fn returns them", func(t *testing.T, s token.Store) {
		for _, tc := range []struct {
			name     string
			old, gen []byte // the old key's secret before and as fn leaves it
		}{
			{"old keeps its secret", []byte("old secret"), []byte("old secret")},
			{"old loses its secret", []byte("old secret"), nil},
			{"old gets none", nil, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				old := createKey(t, s, func(k *token.Key) { k.SigningSecret = tc.old })
				next := newKey(t, func(k *token.Key) {
					k.RotatedFrom, k.SigningSecret = old.ID, everyByte("successor:")
				})
				wantOld := old.Clone()
				wantOld.RotatedTo, wantOld.SigningSecret, wantOld.Version = next.ID, tc.gen, old.Version+1
				gotOld, gotNext, err := s.RotateKey(bg, old.ID, func(k *token.Key) (*token.Key, error) {
					k.RotatedTo, k.SigningSecret = next.ID, tc.gen
					return next.Clone(), nil
				}, event("key.rotate", "key", old.ID))
				if err != nil {
					t.Fatalf("RotateKey: %v", err)
				}
				equal(t, "returned old key", gotOld, wantOld)
				equal(t, "returned successor", gotNext, next)
				wantStored(t, s, "old key", wantOld)
				wantStored(t, s, "successor", next)
			})
		}
	}},
}
