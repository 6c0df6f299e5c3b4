package storetest

import (
	"sync"
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

var concurrentCreateTests = []test{
	{"concurrent creates each succeed or fail alone", func(t *testing.T, s token.Store) {
		keyspace(t, s, token.DefaultKeyspace)
		dupOf := createKey(t, s)
		before := auditCount(t, s)
		const n = 60
		keys := make([]*token.Key, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			keys[i] = newKey(t)
			if i%10 == 3 {
				keys[i].Digest = dupOf.Digest // must fail with ErrConflict, alone
			}
			wg.Go(func() { errs[i] = s.CreateKey(bg, keys[i], event("key.create", "key", keys[i].ID)) })
		}
		wg.Wait()
		created := 0
		for i, k := range keys {
			if i%10 == 3 {
				wantErr(t, "CreateKey with a taken digest", errs[i], token.ErrConflict)
				_, err := s.KeyByID(bg, k.ID)
				wantErr(t, "KeyByID of a refused create", err, token.ErrNotFound)
				continue
			}
			if errs[i] != nil {
				t.Fatalf("create %d: %v", i, errs[i])
			}
			equal(t, "concurrently created key", getKey(t, s, k.ID), k)
			created++
		}
		if got := auditCount(t, s) - before; got != created {
			t.Fatalf("%d audit events for %d creates", got, created)
		}
	}},
}
