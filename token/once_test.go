package token_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/seal"
	"github.com/latchkey/latchkey/store/sqlstore"
	"github.com/latchkey/latchkey/token"
)

// lostCommit is a store whose next RotateKey commits and then reports
// that the commit's outcome is unknown, as a connection lost after COMMIT
// was sent does.
type lostCommit struct {
	*sqlstore.DB
	lose atomic.Bool
}

func (s *lostCommit) RotateKey(ctx context.Context, id string, fn func(*token.Key) (*token.Key, error), ev *token.AuditEvent) (*token.Key, *token.Key, error) {
	old, next, err := s.DB.RotateKey(ctx, id, fn, ev)
	if err == nil && s.lose.Swap(false) {
		return nil, nil, fmt.Errorf("postgres: rotate key %s: %w: unexpected EOF", id, token.ErrOutcomeUnknown)
	}
	return old, next, err
}

type onceFixture struct {
	svc   *token.Service
	store *lostCommit
	clock *clock
	root  *token.Actor
}

func newOnceFixture(t *testing.T) *onceFixture {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.OpenSQLite(ctx, t.TempDir()+"/latchkey.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	box, err := seal.New([32]byte{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	st := &lostCommit{DB: db}
	c := &clock{now: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	svc := token.NewService(token.Config{Store: st, Now: c.Now, Secrets: box})
	root, err := svc.Bootstrap(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	actor, err := svc.Authenticate(ctx, root.Reveal(), "127.0.0.1", "test")
	if err != nil {
		t.Fatal(err)
	}
	return &onceFixture{svc: svc, store: st, clock: c, root: actor}
}

// rotateOnce rotates id as an idempotent call with Idempotency-Key key
// whose answer is the successor's secret.
func (f *onceFixture) rotateOnce(key, fingerprint, id string) ([]byte, error) {
	var got []byte
	o := &token.Once{Key: key, Operation: "key.rotate", Fingerprint: fingerprint,
		Render: func(v any) (int, []byte, error) { return 201, []byte(v.(token.Rotated).Created.Secret.Reveal()), nil }}
	err := f.svc.Idempotent(context.Background(), f.root, o, func(a *token.Actor) error {
		ck, _, err := f.svc.RotateKey(context.Background(), a, id, 0)
		if err == nil {
			got = []byte(ck.Secret.Reveal())
		}
		return err
	})
	var rp *token.Replayed
	if errors.As(err, &rp) {
		return rp.Body, nil
	}
	return got, err
}

// TestOutcomeUnknownRotationIsAnsweredOnRetry: a rotation that committed
// but whose commit answer was lost answers 503 outcome_unknown, and its
// retry with the same Idempotency-Key gets the new secret — which
// verifies — instead of 409 key_revoked.
func TestOutcomeUnknownRotationIsAnsweredOnRetry(t *testing.T) {
	f := newOnceFixture(t)
	ctx := context.Background()
	k, err := f.svc.CreateKey(ctx, f.root, token.CreateKeyParams{})
	if err != nil {
		t.Fatal(err)
	}
	f.store.lose.Store(true)
	_, err = f.rotateOnce("idem-1", "fp", k.Key.ID)
	var te *token.Error
	if !errors.As(err, &te) || te.Kind != token.Unavailable || te.Code != "outcome_unknown" {
		t.Fatalf("rotation with a lost commit answer: %v, want Unavailable outcome_unknown", err)
	}
	secret, err := f.rotateOnce("idem-1", "fp", k.Key.ID)
	if err != nil {
		t.Fatalf("retry with the same Idempotency-Key: %v (the holder is locked out)", err)
	}
	r, err := f.svc.Verify(ctx, token.VerifyRequest{Key: string(secret)})
	if err != nil || r.Code != token.CodeValid {
		t.Fatalf("the replayed secret verifies as %v, %v; want VALID", r, err)
	}
	if _, err := f.rotateOnce("idem-1", "another request", k.Key.ID); token.KindOf(err) != token.Invalid || !errors.As(err, &te) || te.Code != "idempotency_key_mismatch" {
		t.Errorf("same key, other request: %v, want idempotency_key_mismatch", err)
	}
	// After IdempotencyTTL the key is forgotten: the call runs again.
	f.clock.Advance(token.IdempotencyTTL + time.Second)
	if _, err := f.rotateOnce("idem-1", "fp", k.Key.ID); token.KindOf(err) != token.Conflict {
		t.Errorf("the same call after the answer expired: %v, want it run again (a Conflict: the key is revoked)", err)
	}
	// The run failed, so the expired answer is still there, to be pruned.
	if n, err := f.svc.PruneIdempotency(ctx); err != nil || n != 1 {
		t.Errorf("PruneIdempotency = %d, %v; want 1", n, err)
	}
}

// TestConcurrentDuplicateIsInProgress: while a call with an
// Idempotency-Key runs, the same call gets 409 idempotency_in_progress;
// once it is done, the same call gets its answer.
func TestConcurrentDuplicateIsInProgress(t *testing.T) {
	f := newOnceFixture(t)
	ctx := context.Background()
	k, err := f.svc.CreateKey(ctx, f.root, token.CreateKeyParams{})
	if err != nil {
		t.Fatal(err)
	}
	entered, release, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	o := &token.Once{Key: "idem-c", Operation: "key.rotate", Fingerprint: "fp",
		Render: func(v any) (int, []byte, error) { return 201, []byte(v.(token.Rotated).Created.Secret.Reveal()), nil }}
	go func() {
		done <- f.svc.Idempotent(ctx, f.root, o, func(a *token.Actor) error {
			close(entered)
			<-release
			_, _, err := f.svc.RotateKey(ctx, a, k.Key.ID, 0)
			return err
		})
	}()
	<-entered
	_, err = f.rotateOnce("idem-c", "fp", k.Key.ID)
	var te *token.Error
	if !errors.As(err, &te) || te.Code != "idempotency_in_progress" {
		t.Errorf("duplicate while the first runs: %v, want 409 idempotency_in_progress", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("first call: %v", err)
	}
	_, want, ok := o.Answer()
	if !ok {
		t.Fatal("the first call stored no answer")
	}
	got, err := f.rotateOnce("idem-c", "fp", k.Key.ID)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("duplicate after the first finished: %q, %v; want the first answer", got, err)
	}
}
