package storetest

import (
	"testing"

	"github.com/latchkey/latchkey/token"
)

var importTests = []test{
	{"an idempotency key is unique and selects its key", func(t *testing.T, s token.Store) {
		first := createKey(t, s, func(k *token.Key) { k.IdempotencyKey = "req-1" })
		createKey(t, s)
		dup := newKey(t, func(k *token.Key) { k.IdempotencyKey = "req-1" })
		wantErr(t, "CreateKey with a used idempotency key", s.CreateKey(bg, dup, event("key.create", "key", dup.ID)), token.ErrConflict)
		keys, _, err := s.ListKeys(bg, token.KeyFilter{IdempotencyKey: "req-1"})
		if err != nil {
			t.Fatalf("ListKeys: %v", err)
		}
		equalKeys(t, "keys of idempotency key req-1", keys, []*token.Key{first})
	}},
	{"stores every key and one audit event each", func(t *testing.T, s token.Store) {
		keyspace(t, s, token.DefaultKeyspace)
		before := auditCount(t, s)
		var keys []*token.Key
		var evs []*token.AuditEvent
		for range 25 {
			k := newKey(t, func(k *token.Key) { k.Foreign = true })
			keys = append(keys, k)
			evs = append(evs, event("key.import", "key", k.ID))
		}
		if err := s.ImportKeys(bg, keys, evs); err != nil {
			t.Fatalf("ImportKeys: %v", err)
		}
		for _, k := range keys {
			equal(t, "imported key by ID", getKey(t, s, k.ID), k)
			got, err := s.KeyByDigest(bg, k.Digest)
			if err != nil {
				t.Fatalf("KeyByDigest(%s): %v", k.ID, err)
			}
			equal(t, "imported key by digest", got, k)
		}
		if n := auditCount(t, s) - before; n != len(keys) {
			t.Fatalf("import wrote %d audit events, want %d", n, len(keys))
		}
	}},
	{"a duplicate digest rolls the whole batch back", func(t *testing.T, s token.Store) {
		existing := createKey(t, s)
		before := auditCount(t, s)
		fresh := newKey(t)
		dup := newKey(t, func(k *token.Key) { k.Digest = existing.Digest })
		err := s.ImportKeys(bg, []*token.Key{fresh, dup}, []*token.AuditEvent{
			event("key.import", "key", fresh.ID), event("key.import", "key", dup.ID),
		})
		wantErr(t, "ImportKeys with a duplicate digest", err, token.ErrConflict)
		_, err = s.KeyByID(bg, fresh.ID)
		wantErr(t, "KeyByID of a key from a failed batch", err, token.ErrNotFound)
		if n := auditCount(t, s) - before; n != 0 {
			t.Fatalf("a failed import left %d audit events", n)
		}
	}},
}
