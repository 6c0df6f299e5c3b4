package leak_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/apitoken"
	"github.com/latchkey/latchkey/leak"
	"github.com/latchkey/latchkey/store/sqlstore"
	"github.com/latchkey/latchkey/token"
)

// fixture is an SQLite store with one live key.
type fixture struct {
	path   string
	db     *sqlstore.DB
	tokens *token.Service
	key    *token.CreatedKey
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{path: filepath.Join(t.TempDir(), "latchkey.db")}
	f.open(t)
	if _, err := f.tokens.Bootstrap(ctx, ""); err != nil {
		t.Fatal(err)
	}
	root := token.SystemActor
	k, err := f.tokens.CreateKey(ctx, root, token.CreateKeyParams{Name: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	f.key = k
	return f
}

// open opens (or reopens, as a restart) the store.
func (f *fixture) open(t *testing.T) {
	t.Helper()
	db, err := sqlstore.OpenSQLite(context.Background(), f.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f.db, f.tokens = db, token.NewService(token.Config{Store: db})
}

func (f *fixture) service(t *testing.T, st leak.Store, c leak.Config) *leak.Service {
	t.Helper()
	if st == nil {
		st = f.db
	}
	c.Store, c.Tokens = st, f.tokens
	if c.Poll == 0 {
		c.Poll = 10 * time.Millisecond
	}
	s := leak.New(c)
	t.Cleanup(s.Close)
	return s
}

func (f *fixture) pending(t *testing.T) int {
	t.Helper()
	n, _, err := f.db.PendingLeaks(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (f *fixture) reports(t *testing.T) []*leak.Report {
	t.Helper()
	rs, _, err := f.db.LeakReports(context.Background(), leak.Filter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func (f *fixture) audited(t *testing.T, action string) int {
	t.Helper()
	evs, _, err := f.db.ListAudit(context.Background(), token.AuditFilter{Action: action, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}

func (f *fixture) revoked(t *testing.T) bool {
	t.Helper()
	k, err := f.tokens.Key(context.Background(), token.SystemActor, f.key.Key.ID)
	if err != nil {
		t.Fatal(err)
	}
	return !k.RevokedAt.IsZero() && k.RevokeReason == leak.Reason
}

func flush(t *testing.T, s *leak.Service) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

// TestLeak_KeptUntilHandled: a report is kept (its digest, never the
// token) before Submit returns, stays kept while no worker handles it and
// across a restart of the store, and the next worker revokes the key and
// writes one report, with the pending report's ID, and one audit record.
// A string not in latchkey's format is not kept.
func TestLeak_KeptUntilHandled(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	held := f.service(t, nil, leak.Config{WorkerDelay: time.Hour})
	secret := f.key.Secret
	if err := held.Submit(ctx, secret, leak.Origin{URL: "https://paste.example/1", Address: "203.0.113.9", RequestID: "req_1"}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"not a token", secret.Reveal()[:len(secret.Reveal())-1] + "x"} {
		if err := held.Submit(ctx, apitoken.FromString(s), leak.Origin{}); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.pending(t); n != 1 {
		t.Fatalf("%d reports pending, want 1 (only the well-formed one)", n)
	}
	_, id, _ := f.db.PendingLeaks(ctx, "")
	held.Close() // the held worker handles nothing
	if n := f.pending(t); n != 1 || f.revoked(t) {
		t.Fatalf("after Close of a held worker: %d pending, revoked %v; want 1, false", n, f.revoked(t))
	}
	b, err := os.ReadFile(f.path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte(secret.Reveal())) {
		t.Error("the database file holds the reported token")
	}

	f.db.Close()
	f.open(t) // a restart
	s := f.service(t, nil, leak.Config{})
	flush(t, s)
	if !f.revoked(t) {
		t.Error("the reported key is not revoked after the restart")
	}
	rs := f.reports(t)
	if len(rs) != 1 || rs[0].ID != id || rs[0].Outcome != leak.OutcomeRevoked || rs[0].TargetID != f.key.Key.ID ||
		rs[0].URL != "https://paste.example/1" || rs[0].Address != "203.0.113.9" || rs[0].Start != secret.Start() {
		t.Errorf("reports %+v, want one of %s, revoked", rs, id)
	}
	if n := f.audited(t, "leak.report"); n != 1 {
		t.Errorf("%d leak.report records, want 1", n)
	}
	if n := f.pending(t); n != 0 {
		t.Errorf("%d reports still pending", n)
	}
}

// failingStore fails AddLeakReport the first n times.
type failingStore struct {
	*sqlstore.DB
	mu    sync.Mutex
	fails int
}

var errStorage = errors.New("storage down")

func (s *failingStore) AddLeakReport(ctx context.Context, r *leak.Report, ev *token.AuditEvent) error {
	s.mu.Lock()
	fail := s.fails > 0
	s.fails--
	s.mu.Unlock()
	if fail {
		return errStorage
	}
	return s.DB.AddLeakReport(ctx, r, ev)
}

// TestLeak_RetriedAfterStorageError: a report whose handling fails is
// kept and handled again after a backoff, once.
func TestLeak_RetriedAfterStorageError(t *testing.T) {
	f := newFixture(t)
	st := &failingStore{DB: f.db, fails: 2}
	s := f.service(t, st, leak.Config{RetryBase: time.Millisecond})
	if err := s.Submit(context.Background(), f.key.Secret, leak.Origin{}); err != nil {
		t.Fatal(err)
	}
	flush(t, s)
	if !f.revoked(t) {
		t.Error("the key is not revoked")
	}
	if rs := f.reports(t); len(rs) != 1 || rs[0].Outcome != leak.OutcomeRevoked {
		t.Errorf("reports %+v, want one, revoked (the first failed attempt revoked it; the retry reports)", rs)
	}
	if n := f.audited(t, "leak.report"); n != 1 {
		t.Errorf("%d leak.report records, want 1", n)
	}
}

// replayStore hands out each claimed report twice, as two nodes whose
// leases overlapped would.
type replayStore struct {
	*sqlstore.DB
	mu    sync.Mutex
	again []*leak.Pending
}

func (s *replayStore) ClaimPendingLeaks(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*leak.Pending, error) {
	ps, err := s.DB.ClaimPendingLeaks(ctx, now, leaseUntil, limit)
	s.mu.Lock()
	defer s.mu.Unlock()
	out := append(ps, s.again...)
	s.again = nil
	for _, p := range ps {
		c := *p
		s.again = append(s.again, &c)
	}
	return out, err
}

// TestLeak_HandledTwiceWrittenOnce: a report handled a second time writes
// no second report and no second audit record.
func TestLeak_HandledTwiceWrittenOnce(t *testing.T) {
	f := newFixture(t)
	st := &replayStore{DB: f.db}
	s := f.service(t, st, leak.Config{})
	if err := s.Submit(context.Background(), f.key.Secret, leak.Origin{}); err != nil {
		t.Fatal(err)
	}
	flush(t, s)
	// The replay is handed out at the next claim: the one after a
	// second report.
	other, err := f.tokens.CreateKey(context.Background(), token.SystemActor, token.CreateKeyParams{Name: "other"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Submit(context.Background(), other.Secret, leak.Origin{}); err != nil {
		t.Fatal(err)
	}
	flush(t, s)
	s.Close()
	if rs := f.reports(t); len(rs) != 2 {
		t.Errorf("%d reports of 2 tokens, one handled twice; want 2", len(rs))
	}
	if n := f.audited(t, "leak.report"); n != 2 {
		t.Errorf("%d leak.report records, want 2", n)
	}
	if n := f.audited(t, "key.revoke"); n != 2 {
		t.Errorf("%d key.revoke records, want 2", n)
	}
}

// busyStore answers every AddPendingLeak with ErrBusy.
type busyStore struct{ *sqlstore.DB }

func (busyStore) AddPendingLeak(context.Context, *leak.Pending, int) error { return leak.ErrBusy }

// TestLeak_BusyWhenFull: Submit says ErrBusy while the store holds
// MaxPending reports, and fails (no 202) when the store cannot keep it.
func TestLeak_BusyWhenFull(t *testing.T) {
	f := newFixture(t)
	s := f.service(t, busyStore{f.db}, leak.Config{})
	if err := s.Submit(context.Background(), f.key.Secret, leak.Origin{}); !errors.Is(err, leak.ErrBusy) {
		t.Errorf("Submit to a full store: %v, want ErrBusy", err)
	}
	f.db.Close()
	s2 := f.service(t, nil, leak.Config{})
	if err := s2.Submit(context.Background(), f.key.Secret, leak.Origin{}); err == nil {
		t.Error("Submit to a closed store succeeded: a report would be answered 202 and lost")
	}
}

// TestLeak_CloseDrains: Close handles what is pending before it returns.
func TestLeak_CloseDrains(t *testing.T) {
	f := newFixture(t)
	s := f.service(t, nil, leak.Config{Poll: time.Hour})
	if err := s.Submit(context.Background(), f.key.Secret, leak.Origin{}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if !f.revoked(t) || len(f.reports(t)) != 1 || f.pending(t) != 0 {
		t.Errorf("after Close: revoked %v, %d reports, %d pending; want true, 1, 0", f.revoked(t), len(f.reports(t)), f.pending(t))
	}
}

// TestLeak_SubmitAfterClose: a closed service refuses reports (the server
// is shutting down) instead of panicking or blocking.
func TestLeak_SubmitAfterClose(t *testing.T) {
	f := newFixture(t)
	s := f.service(t, nil, leak.Config{})
	ctx := context.Background()
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s.Close()
	if err := s.Submit(ctx, f.key.Secret, leak.Origin{}); !errors.Is(err, leak.ErrClosed) {
		t.Errorf("Submit after Close: %v", err)
	}
	if err := s.Flush(ctx); !errors.Is(err, leak.ErrClosed) {
		t.Errorf("Flush after Close: %v", err)
	}
}
