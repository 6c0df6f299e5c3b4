package storetest

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/token"
)

// idem returns the IdempotencyStore of s; every backend must be one.
func idem(t *testing.T, s token.Store) token.IdempotencyStore {
	t.Helper()
	is, ok := s.(token.IdempotencyStore)
	if !ok {
		t.Fatalf("%T is not a token.IdempotencyStore", s)
	}
	return is
}

// storedAnswer returns an answer for scope, created at t0 and living a day,
// whose body Render sets to body.
func storedAnswer(scope, body string) *token.StoredAnswer {
	r := &token.StoredAnswer{Scope: scope, Operation: "key.rotate", Fingerprint: "fp-" + scope,
		CreatedAt: t0, ExpiresAt: t0.Add(24 * time.Hour)}
	r.OnRender(func() error { r.Status, r.Body = 201, []byte(body); return nil })
	return r
}

// withAnswer returns an audit event carrying r.
func withAnswer(action, id string, r *token.StoredAnswer) *token.AuditEvent {
	ev := event(action, "key", id)
	ev.Answer = r
	return ev
}

// wantAnswer fails unless the answer stored for (scope, key.rotate) is r
// with body.
func wantAnswer(t *testing.T, s token.Store, r *token.StoredAnswer, body string) {
	t.Helper()
	got, err := idem(t, s).IdempotentAnswer(bg, r.Scope, r.Operation)
	if err != nil {
		t.Fatalf("IdempotentAnswer(%s): %v", r.Scope, err)
	}
	if got.Scope != r.Scope || got.Operation != r.Operation || got.Fingerprint != r.Fingerprint || got.Status != 201 ||
		string(got.Body) != body || !got.CreatedAt.Equal(r.CreatedAt) || !got.ExpiresAt.Equal(r.ExpiresAt) {
		t.Errorf("stored answer = %s %s %q %d %q %s %s\nwant           %s %s %q %d %q %s %s",
			got.Scope, got.Operation, got.Fingerprint, got.Status, got.Body, got.CreatedAt, got.ExpiresAt,
			r.Scope, r.Operation, r.Fingerprint, 201, body, r.CreatedAt, r.ExpiresAt)
	}
}

// wantNoAnswer fails unless nothing is stored for scope.
func wantNoAnswer(t *testing.T, s token.Store, scope string) {
	t.Helper()
	if _, err := idem(t, s).IdempotentAnswer(bg, scope, "key.rotate"); !errors.Is(err, token.ErrNotFound) {
		t.Fatalf("IdempotentAnswer(%s) = %v, want ErrNotFound", scope, err)
	}
}

var idempotencyTests = []test{
	{"UpdateKey writes the answer, rendered after the change, in its transaction", func(t *testing.T, s token.Store) {
		k := createKey(t, s)
		var seen int64
		var changed *token.Key
		r := storedAnswer("s1", "")
		r.OnRender(func() error {
			seen = changed.Version // the store's final Version, as it will be returned
			r.Status, r.Body = 201, fmt.Appendf(nil, `{"version":%d}`, seen)
			return nil
		})
		got, err := s.UpdateKey(bg, k.ID, func(k *token.Key) error { changed = k; k.Name = "renamed"; return nil }, withAnswer("key.update", k.ID, r))
		if err != nil {
			t.Fatalf("UpdateKey: %v", err)
		}
		if seen != got.Version {
			t.Errorf("the answer was rendered with Version %d; the change stored %d", seen, got.Version)
		}
		wantAnswer(t, s, r, fmt.Sprintf(`{"version":%d}`, got.Version))
	}},
	{"RotateKey, CreateKey and ImportKeys write the answer", func(t *testing.T, s token.Store) {
		old := createKey(t, s)
		next := newKey(t, func(k *token.Key) { k.RotatedFrom = old.ID })
		r := storedAnswer("rot", `{"secret":"sealed elsewhere"}`)
		if _, _, err := s.RotateKey(bg, old.ID, rotation(next), withAnswer("key.rotate", old.ID, r)); err != nil {
			t.Fatalf("RotateKey: %v", err)
		}
		wantAnswer(t, s, r, `{"secret":"sealed elsewhere"}`)
		c := newKey(t)
		rc := storedAnswer("create", "created")
		if err := s.CreateKey(bg, c, withAnswer("key.create", c.ID, rc)); err != nil {
			t.Fatalf("CreateKey: %v", err)
		}
		wantAnswer(t, s, rc, "created")
		a, b := newKey(t), newKey(t)
		ri := storedAnswer("import", "imported")
		if err := s.ImportKeys(bg, []*token.Key{a, b}, []*token.AuditEvent{event("key.import", "key", a.ID), withAnswer("key.import", b.ID, ri)}); err != nil {
			t.Fatalf("ImportKeys: %v", err)
		}
		wantAnswer(t, s, ri, "imported")
	}},
	{"an aborted change stores no answer", func(t *testing.T, s token.Store) {
		k := createKey(t, s)
		abort := &errAbort{k.ID}
		if _, err := s.UpdateKey(bg, k.ID, func(*token.Key) error { return abort }, withAnswer("key.update", k.ID, storedAnswer("s1", "x"))); !errors.Is(err, abort) {
			t.Fatalf("UpdateKey = %v, want the abort", err)
		}
		wantNoAnswer(t, s, "s1")
		r := storedAnswer("s2", "x")
		r.OnRender(func() error { return errors.New("render failed") })
		if _, err := s.UpdateKey(bg, k.ID, func(k *token.Key) error { k.Name = "changed"; return nil }, withAnswer("key.update", k.ID, r)); err == nil {
			t.Fatal("UpdateKey with a failing render = nil, want its error")
		}
		wantNoAnswer(t, s, "s2")
		if got := getKey(t, s, k.ID); got.Name != k.Name || got.Version != k.Version {
			t.Errorf("after a failed render the key is %q v%d, want it unchanged (%q v%d)", got.Name, got.Version, k.Name, k.Version)
		}
	}},
	{"a live answer for the same scope aborts the whole change with ErrConflict", func(t *testing.T, s token.Store) {
		k := createKey(t, s)
		first := storedAnswer("dup", "first")
		if _, err := s.UpdateKey(bg, k.ID, func(k *token.Key) error { k.Name = "first"; return nil }, withAnswer("key.update", k.ID, first)); err != nil {
			t.Fatalf("UpdateKey: %v", err)
		}
		n := auditCount(t, s)
		_, err := s.UpdateKey(bg, k.ID, func(k *token.Key) error { k.Name = "second"; return nil }, withAnswer("key.update", k.ID, storedAnswer("dup", "second")))
		if !errors.Is(err, token.ErrConflict) {
			t.Fatalf("second UpdateKey with the same answer scope = %v, want ErrConflict", err)
		}
		if got := getKey(t, s, k.ID); got.Name != "first" {
			t.Errorf("key name = %q after the refused duplicate, want %q: the change must roll back with the answer", got.Name, "first")
		}
		if auditCount(t, s) != n {
			t.Error("the refused duplicate wrote an audit event")
		}
		wantAnswer(t, s, first, "first")
		// Same scope, other operation: a different answer.
		other := storedAnswer("dup", "other op")
		other.Operation = "key.renew"
		if _, err := s.UpdateKey(bg, k.ID, func(*token.Key) error { return nil }, withAnswer("key.renew", k.ID, other)); err != nil {
			t.Fatalf("UpdateKey, same scope, other operation: %v", err)
		}
	}},
	{"an expired answer is replaced, and PruneIdempotency deletes only expired ones", func(t *testing.T, s token.Store) {
		k := createKey(t, s)
		old := storedAnswer("old", "old")
		old.ExpiresAt = t0.Add(time.Hour)
		live := storedAnswer("live", "live")
		for _, r := range []*token.StoredAnswer{old, live} {
			if _, err := s.UpdateKey(bg, k.ID, func(*token.Key) error { return nil }, withAnswer("key.update", k.ID, r)); err != nil {
				t.Fatalf("UpdateKey: %v", err)
			}
		}
		renewed := storedAnswer("old", "new")
		renewed.CreatedAt, renewed.ExpiresAt = t0.Add(2*time.Hour), t0.Add(26*time.Hour)
		if _, err := s.UpdateKey(bg, k.ID, func(*token.Key) error { return nil }, withAnswer("key.update", k.ID, renewed)); err != nil {
			t.Fatalf("UpdateKey over an expired answer: %v", err)
		}
		wantAnswer(t, s, renewed, "new")
		expired := storedAnswer("gone", "gone")
		expired.ExpiresAt = t0.Add(time.Minute)
		if _, err := s.UpdateKey(bg, k.ID, func(*token.Key) error { return nil }, withAnswer("key.update", k.ID, expired)); err != nil {
			t.Fatalf("UpdateKey: %v", err)
		}
		n, err := idem(t, s).PruneIdempotency(bg, t0.Add(25*time.Hour))
		if err != nil || n != 2 {
			t.Fatalf("PruneIdempotency = %d, %v; want 2 deleted (gone, live)", n, err)
		}
		wantNoAnswer(t, s, "gone")
		wantNoAnswer(t, s, "live")
		wantAnswer(t, s, renewed, "new")
	}},
	{"of concurrent changes with the same answer scope exactly one commits", func(t *testing.T, s token.Store) {
		const n = 8
		keys := make([]*token.Key, n)
		for i := range keys {
			keys[i] = createKey(t, s)
		}
		var won atomic.Int64
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				_, err := s.UpdateKey(bg, keys[i].ID, func(k *token.Key) error { k.Name = "won"; return nil },
					withAnswer("key.update", keys[i].ID, storedAnswer("race", "x")))
				switch {
				case err == nil:
					won.Add(1)
				case !errors.Is(err, token.ErrConflict):
					t.Errorf("UpdateKey: %v, want nil or ErrConflict", err)
				}
			})
		}
		close(start)
		wg.Wait()
		if won.Load() != 1 {
			t.Fatalf("%d of %d concurrent changes with one answer scope committed, want exactly 1", won.Load(), n)
		}
		changed := 0
		for _, k := range keys {
			if getKey(t, s, k.ID).Name == "won" {
				changed++
			}
		}
		if changed != 1 {
			t.Errorf("%d keys changed, want 1: a losing change must roll back", changed)
		}
	}},
}
