package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/latchkey/latchkey/apitoken"
	"github.com/latchkey/latchkey/token"
)

// rotation returns a RotateKey function that marks the old key rotated and
// returns successor.
func rotation(successor *token.Key) func(*token.Key) (*token.Key, error) {
	return func(old *token.Key) (*token.Key, error) {
		old.RotatedTo, old.UpdatedAt, old.ExpiresAt = successor.ID, t0.Add(time.Minute), t0.Add(time.Hour)
		return successor.Clone(), nil
	}
}

var rotateTests = []test{
	{"stores the changed old key, its successor and the event", func(t *testing.T, s token.Store) {
		old := createKey(t, s, keyVariants[1].opt, func(k *token.Key) { k.RevokedAt, k.RevokeReason = time.Time{}, "" })
		n := auditCount(t, s)
		next := newKey(t, func(k *token.Key) {
			k.Keyspace, k.Owner, k.Scopes, k.RotatedFrom = old.Keyspace, old.Owner, old.Scopes, old.ID
		})
		ev := event("key.rotate", "key", old.ID)
		ev.Detail = nil
		wantOld := old.Clone()
		wantOld.RotatedTo, wantOld.UpdatedAt, wantOld.ExpiresAt = next.ID, t0.Add(time.Minute), t0.Add(time.Hour)
		wantOld.Version = old.Version + 1
		fn := rotation(next)
		gotOld, gotNext, err := s.RotateKey(bg, old.ID, func(k *token.Key) (*token.Key, error) {
			ev.Detail = map[string]string{"successor": next.ID}
			return fn(k)
		}, ev)
		if err != nil {
			t.Fatalf("RotateKey: %v", err)
		}
		equal(t, "returned old key", gotOld, wantOld)
		equal(t, "returned successor", gotNext, next)
		equal(t, "stored old key", getKey(t, s, old.ID), wantOld)
		equal(t, "stored successor", getKey(t, s, next.ID), next)
		for _, k := range []*token.Key{wantOld, next} {
			got, err := s.KeyByDigest(bg, k.Digest)
			if err != nil {
				t.Fatalf("KeyByDigest(%s): %v", k.ID, err)
			}
			equal(t, "key by digest", got, k)
		}
		wantAudit(t, s, n, ev)
	}},
	{"the successor keeps the lineage ID it was given, and an empty one reads back empty", func(t *testing.T, s token.Store) {
		first := createKey(t, s)
		if got := getKey(t, s, first.ID).LineageID; got != "" {
			t.Errorf("first key: LineageID = %q, want empty (its own ID)", got)
		}
		prev := first
		for i := range 2 {
			next := newKey(t, func(k *token.Key) { k.RotatedFrom, k.LineageID = prev.ID, first.ID })
			_, gotNext, err := s.RotateKey(bg, prev.ID, rotation(next), event("key.rotate", "key", prev.ID))
			if err != nil {
				t.Fatalf("RotateKey %d: %v", i, err)
			}
			equal(t, "returned successor", gotNext, next)
			stored := getKey(t, s, next.ID)
			if stored.LineageID != first.ID {
				t.Errorf("generation %d: stored LineageID = %q, want %q", i+1, stored.LineageID, first.ID)
			}
			got, err := s.KeyByDigest(bg, next.Digest)
			if err != nil {
				t.Fatalf("KeyByDigest: %v", err)
			}
			if got.LineageID != first.ID {
				t.Errorf("generation %d: LineageID by digest = %q, want %q", i+1, got.LineageID, first.ID)
			}
			prev = next
		}
	}},
	{"an error from fn aborts and leaves both keys untouched", func(t *testing.T, s token.Store) {
		old := createKey(t, s)
		n := auditCount(t, s)
		next := newKey(t)
		ev := event("key.rotate", "key", old.ID)
		abort := &errAbort{old.ID}
		_, _, err := s.RotateKey(bg, old.ID, func(k *token.Key) (*token.Key, error) {
			k.RotatedTo, k.RevokedAt = next.ID, t0
			return next, abort
		}, ev)
		var target *errAbort
		if !errors.Is(err, abort) || !errors.As(err, &target) {
			t.Fatalf("RotateKey error = %v, want fn's error", err)
		}
		equal(t, "old key", getKey(t, s, old.ID), old)
		if _, err := s.KeyByID(bg, next.ID); !errors.Is(err, token.ErrNotFound) {
			t.Errorf("KeyByID(successor) error = %v, want ErrNotFound", err)
		}
		wantNoAudit(t, s, n, ev)
	}},
	{"a successor with an existing digest returns ErrConflict and changes nothing", func(t *testing.T, s token.Store) {
		other := createKey(t, s)
		old := createKey(t, s)
		n := auditCount(t, s)
		next := newKey(t, func(k *token.Key) { k.Digest = other.Digest })
		ev := event("key.rotate", "key", old.ID)
		_, _, err := s.RotateKey(bg, old.ID, rotation(next), ev)
		wantErr(t, "RotateKey", err, token.ErrConflict)
		equal(t, "old key", getKey(t, s, old.ID), old)
		equal(t, "other key", getKey(t, s, other.ID), other)
		if _, err := s.KeyByID(bg, next.ID); !errors.Is(err, token.ErrNotFound) {
			t.Errorf("KeyByID(successor) error = %v, want ErrNotFound", err)
		}
		wantNoAudit(t, s, n, ev)
	}},
	{"a missing key returns ErrNotFound without calling fn", func(t *testing.T, s token.Store) {
		createKey(t, s)
		n := auditCount(t, s)
		ev := event("key.rotate", "key", "key_missing")
		_, _, err := s.RotateKey(bg, newID("key"), func(*token.Key) (*token.Key, error) {
			t.Error("fn called for a missing key")
			return newKey(t), nil
		}, ev)
		wantErr(t, "RotateKey", err, token.ErrNotFound)
		wantNoAudit(t, s, n, ev)
	}},
}

var deleteTests = []test{
	{"keeps a tombstone: the digest of a deleted revoked key cannot be imported again", func(t *testing.T, s token.Store) {
		k := createKey(t, s, func(k *token.Key) { k.RevokedAt = t0 })
		if err := s.DeleteKey(bg, k.ID, func(*token.Key) error { return nil }, event("key.delete", "key", k.ID)); err != nil {
			t.Fatalf("DeleteKey: %v", err)
		}
		n := auditCount(t, s)
		again := newKey(t, func(nk *token.Key) { nk.Digest, nk.Foreign = k.Digest, true })
		fresh := newKey(t, func(nk *token.Key) { nk.Foreign = true })
		err := s.ImportKeys(bg, []*token.Key{fresh, again}, []*token.AuditEvent{event("key.import", "key", fresh.ID), event("key.import", "key", again.ID)})
		wantErr(t, "ImportKeys of a tombstoned digest", err, token.ErrDigestRevoked)
		_, err = s.KeyByDigest(bg, k.Digest)
		wantErr(t, "KeyByDigest after refused import", err, token.ErrNotFound)
		_, err = s.KeyByID(bg, fresh.ID)
		wantErr(t, "the rest of the refused batch", err, token.ErrNotFound)
		if got := auditCount(t, s); got != n {
			t.Fatalf("refused import wrote %d audit events", got-n)
		}
	}},
	{"removes the key for good and writes the event", func(t *testing.T, s token.Store) {
		k := createKey(t, s, func(k *token.Key) { k.RevokedAt = t0 })
		keep := createKey(t, s)
		n := auditCount(t, s)
		ev := event("key.delete", "key", k.ID)
		var seen *token.Key
		err := s.DeleteKey(bg, k.ID, func(cur *token.Key) error { seen = cur; return nil }, ev)
		if err != nil {
			t.Fatalf("DeleteKey: %v", err)
		}
		equal(t, "key given to pred", seen, k)
		_, err = s.KeyByID(bg, k.ID)
		wantErr(t, "KeyByID after delete", err, token.ErrNotFound)
		_, err = s.KeyByDigest(bg, k.Digest)
		wantErr(t, "KeyByDigest after delete", err, token.ErrNotFound)
		equal(t, "other key", getKey(t, s, keep.ID), keep)
		wantAudit(t, s, n, ev)
		err = s.DeleteKey(bg, k.ID, func(*token.Key) error { return nil }, event("key.delete", "key", k.ID))
		wantErr(t, "second DeleteKey", err, token.ErrNotFound)
	}},
	{"removes a key that has usage records", func(t *testing.T, s token.Store) {
		k := createKey(t, s)
		err := s.RecordUsage(bg, []token.Usage{{KeyID: k.ID, LastUsedAt: t0, LastUsedIP: "192.0.2.1",
			Counts: map[token.Code]int64{token.CodeValid: 3}}})
		if err != nil {
			t.Fatalf("RecordUsage: %v", err)
		}
		if err := s.DeleteKey(bg, k.ID, func(*token.Key) error { return nil }, event("key.delete", "key", k.ID)); err != nil {
			t.Fatalf("DeleteKey: %v", err)
		}
		// A digest once used can be stored again after its key is gone.
		if err := s.CreateKey(bg, newKey(t, func(n *token.Key) { n.Digest = k.Digest }), event("key.create", "key", "x")); err != nil {
			t.Fatalf("CreateKey with the deleted key's digest: %v", err)
		}
	}},
	{"an error from pred keeps the key and comes back", func(t *testing.T, s token.Store) {
		k := createKey(t, s)
		n := auditCount(t, s)
		ev := event("key.delete", "key", k.ID)
		abort := &errAbort{k.ID}
		err := s.DeleteKey(bg, k.ID, func(*token.Key) error { return abort }, ev)
		var target *errAbort
		if !errors.Is(err, abort) || !errors.As(err, &target) {
			t.Fatalf("DeleteKey error = %v, want pred's error", err)
		}
		equal(t, "kept key", getKey(t, s, k.ID), k)
		wantNoAudit(t, s, n, ev)
	}},
	{"a missing key returns ErrNotFound without calling pred", func(t *testing.T, s token.Store) {
		createKey(t, s)
		n := auditCount(t, s)
		ev := event("key.delete", "key", "key_missing")
		err := s.DeleteKey(bg, newID("key"), func(*token.Key) error {
			t.Error("pred called for a missing key")
			return nil
		}, ev)
		wantErr(t, "DeleteKey", err, token.ErrNotFound)
		_, err = s.KeyByDigest(bg, apitoken.Hash("nothing"))
		wantErr(t, "KeyByDigest", err, token.ErrNotFound)
		wantNoAudit(t, s, n, ev)
	}},
}
