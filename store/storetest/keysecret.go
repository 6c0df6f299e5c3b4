package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/latchkey/latchkey/token"
)

// recoverable creates keyspace name with Recoverable on.
func recoverable(t *testing.T, s token.Store, name string) {
	t.Helper()
	keyspace(t, s, name, func(ks *token.Keyspace) { ks.Recoverable = true })
}

// kept returns a key option that gives the key a sealed secret to keep.
func kept(keyspace string, sealed []byte) func(*token.Key) {
	return func(k *token.Key) { k.Keyspace, k.SealedSecret = keyspace, sealed }
}

// wantKept fails unless KeySecret(id) returns want (nil: ErrNotFound).
func wantKept(t *testing.T, s token.Store, what, id string, want []byte) {
	t.Helper()
	got, err := s.KeySecret(bg, id)
	if want == nil {
		wantErr(t, what+": KeySecret", err, token.ErrNotFound)
		return
	}
	if err != nil {
		t.Fatalf("%s: KeySecret(%s): %v", what, id, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: KeySecret(%s) = %q, want %q", what, id, got, want)
	}
}

// keySecretTests check the kept secrets of recoverable keys (table
// key_secrets): written with the key's insert, never read back into a Key,
// and gone with the key, its revocation and its keyspace's setting.
var keySecretTests = []test{
	{"kept with the key in a recoverable keyspace and never read back into a Key", func(t *testing.T, s token.Store) {
		recoverable(t, s, "rec")
		sealed := everyByte("sealed:")
		k := createKey(t, s, kept("rec", sealed))
		wantKept(t, s, "created key", k.ID, sealed)
		want := k.Clone()
		want.SealedSecret = nil
		wantStored(t, s, "recoverable key", want) // by ID, by digest, in a listing: no SealedSecret
		plain := createKey(t, s, func(k *token.Key) { k.Keyspace = "rec" })
		wantKept(t, s, "key without a sealed secret", plain.ID, nil)
		wantKept(t, s, "unknown key", "key_nope", nil)
	}},
	{"not kept in a keyspace that is not recoverable", func(t *testing.T, s token.Store) {
		k := createKey(t, s, kept(token.DefaultKeyspace, []byte("sealed")))
		wantKept(t, s, "key of default", k.ID, nil)
	}},
	{"DeleteKey removes it", func(t *testing.T, s token.Store) {
		recoverable(t, s, "rec")
		k := createKey(t, s, kept("rec", []byte("gone")))
		other := createKey(t, s, kept("rec", []byte("stays")))
		if err := s.DeleteKey(bg, k.ID, func(*token.Key) error { return nil }, event("key.delete", "key", k.ID)); err != nil {
			t.Fatalf("DeleteKey: %v", err)
		}
		wantKept(t, s, "deleted key", k.ID, nil)
		wantKept(t, s, "other key", other.ID, []byte("stays"))
	}},
	{"UpdateKey keeps it until the key is stored revoked", func(t *testing.T, s token.Store) {
		recoverable(t, s, "rec")
		k := createKey(t, s, kept("rec", []byte("kept")))
		if _, err := s.UpdateKey(bg, k.ID, func(k *token.Key) error { k.Name, k.Disabled = "renamed", true; return nil }, event("key.update", "key", k.ID)); err != nil {
			t.Fatalf("UpdateKey: %v", err)
		}
		wantKept(t, s, "updated key", k.ID, []byte("kept"))
		if _, err := s.UpdateKey(bg, k.ID, func(k *token.Key) error { k.RevokedAt = t0.Add(time.Hour); return nil }, event("key.revoke", "key", k.ID)); err != nil {
			t.Fatalf("UpdateKey (revoke): %v", err)
		}
		wantKept(t, s, "revoked key", k.ID, nil)
	}},
	{"RotateKey keeps the successor's; an old key revoked by the rotation loses its own", func(t *testing.T, s token.Store) {
		recoverable(t, s, "rec")
		old := createKey(t, s, kept("rec", []byte("old")))
		next := newKey(t, kept("rec", []byte("next")), func(k *token.Key) { k.RotatedFrom = old.ID })
		if _, _, err := s.RotateKey(bg, old.ID, rotation(next), event("key.rotate", "key", old.ID)); err != nil {
			t.Fatalf("RotateKey: %v", err)
		}
		wantKept(t, s, "old key in its grace period", old.ID, []byte("old"))
		wantKept(t, s, "successor", next.ID, []byte("next"))
		if got := getKey(t, s, next.ID).SealedSecret; got != nil {
			t.Errorf("successor reads back SealedSecret %q, want nil", got)
		}
		third := newKey(t, kept("rec", []byte("third")), func(k *token.Key) { k.RotatedFrom = next.ID })
		_, _, err := s.RotateKey(bg, next.ID, func(k *token.Key) (*token.Key, error) {
			k.RotatedTo, k.RevokedAt, k.RevokeReason = third.ID, t0.Add(time.Minute), "rotated"
			return third.Clone(), nil
		}, event("key.rotate", "key", next.ID))
		if err != nil {
			t.Fatalf("RotateKey (no grace): %v", err)
		}
		wantKept(t, s, "successor revoked by its rotation", next.ID, nil)
		wantKept(t, s, "third key", third.ID, []byte("third"))
	}},
	{"turning recoverable off deletes the keyspace's kept secrets and keeps new ones out", func(t *testing.T, s token.Store) {
		recoverable(t, s, "rec")
		recoverable(t, s, "other")
		a := createKey(t, s, kept("rec", []byte("a")))
		b := createKey(t, s, kept("other", []byte("b")))
		ev := event("keyspace.update", "keyspace", "rec")
		if _, err := s.UpdateKeyspace(bg, "rec", func(ks *token.Keyspace) error { ks.Scopes = []string{"x:y"}; return nil }, ev); err != nil {
			t.Fatalf("UpdateKeyspace: %v", err)
		}
		wantKept(t, s, "after an unrelated change", a.ID, []byte("a"))
		if _, err := s.UpdateKeyspace(bg, "rec", func(ks *token.Keyspace) error { ks.Recoverable = false; return nil }, event("keyspace.update", "keyspace", "rec")); err != nil {
			t.Fatalf("UpdateKeyspace (off): %v", err)
		}
		wantKept(t, s, "key of the keyspace turned off", a.ID, nil)
		wantKept(t, s, "key of another recoverable keyspace", b.ID, []byte("b"))
		c := createKey(t, s, kept("rec", []byte("c")))
		wantKept(t, s, "key created after it was turned off", c.ID, nil)
		if _, err := s.UpdateKeyspace(bg, "rec", func(ks *token.Keyspace) error { ks.Recoverable = true; return nil }, event("keyspace.update", "keyspace", "rec")); err != nil {
			t.Fatalf("UpdateKeyspace (on again): %v", err)
		}
		wantKept(t, s, "deleted secrets stay deleted", a.ID, nil)
		d := createKey(t, s, kept("rec", []byte("d")))
		wantKept(t, s, "key created after it was turned on again", d.ID, []byte("d"))
	}},
	{"ImportKeys keeps them", func(t *testing.T, s token.Store) {
		recoverable(t, s, "rec")
		keys := []*token.Key{newKey(t, kept("rec", everyByte("imported:"))), newKey(t, func(k *token.Key) { k.Keyspace = "rec" })}
		if err := s.ImportKeys(bg, []*token.Key{keys[0].Clone(), keys[1].Clone()},
			[]*token.AuditEvent{event("key.import", "key", keys[0].ID), event("key.import", "key", keys[1].ID)}); err != nil {
			t.Fatalf("ImportKeys: %v", err)
		}
		wantKept(t, s, "imported key", keys[0].ID, everyByte("imported:"))
		wantKept(t, s, "imported key without one", keys[1].ID, nil)
	}},
}
