package storetest

import (
	"context"
	"crypto/sha256"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/apitoken"
	"github.com/latchkey/latchkey/leak"
	"github.com/latchkey/latchkey/oauth"
	"github.com/latchkey/latchkey/token"
)

// LeaksStore is what the leak conformance suite runs against: a
// leak.Store that also keeps OAuth clients and the audit log.
type LeaksStore interface {
	leak.Store
	oauth.Store
	ListAudit(ctx context.Context, f token.AuditFilter) ([]*token.AuditEvent, string, error)
	Close() error
}

// RunLeaks runs the conformance suite of leak.Store. open must return a
// new, empty store each time it is called; RunLeaks closes every store.
func RunLeaks(t *testing.T, open func(t *testing.T) LeaksStore) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, s LeaksStore)
	}{
		{"ReportsWithTheirAuditEvent", leakReportsAudited},
		{"ReportsNewestFirstInPages", leakReportsPaged},
		{"ClientBySecretDigest", leakClientBySecret},
		{"PendingKeptClaimedAndHandled", leakPendingLifecycle},
		{"PendingBounded", leakPendingBounded},
		{"PendingClaimedOnce", leakPendingClaimedOnce},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			defer func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			}()
			tc.run(t, s)
		})
	}
}

func leakReport(i int, now time.Time) *leak.Report {
	at := now.Add(time.Duration(i) * time.Second)
	return &leak.Report{ID: token.NewID("leak", at), Time: at, Source: leak.SourceAPI, URL: "https://example.com/" + string(rune('a'+i)),
		Address: "203.0.113.7", Start: "acme_live_AbCd", Kind: leak.KindAPIKey, TargetID: "key_1", Outcome: leak.OutcomeRevoked}
}

func leakReportsAudited(t *testing.T, s LeaksStore) {
	ctx := context.Background()
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	r := leakReport(0, now)
	ev := &token.AuditEvent{ID: token.NewID("aud", now), Time: now, ActorKeyID: "leak-report", Action: "leak.report",
		TargetType: "key", TargetID: "key_1", Outcome: token.OutcomeSuccess, Detail: map[string]string{"url": r.URL}}
	if err := s.AddLeakReport(ctx, r, ev); err != nil {
		t.Fatal(err)
	}
	got, next, err := s.LeakReports(ctx, leak.Filter{})
	if err != nil || next != "" || len(got) != 1 {
		t.Fatalf("LeakReports: %d, %q, %v", len(got), next, err)
	}
	if g := got[0]; *g != *r {
		t.Errorf("read back %+v, want %+v", g, r)
	}
	evs, _, err := s.ListAudit(ctx, token.AuditFilter{Action: "leak.report"})
	if err != nil || len(evs) != 1 || evs[0].Detail["url"] != r.URL {
		t.Fatalf("audit: %+v, %v", evs, err)
	}
	if err := s.AddLeakReport(ctx, r, nil); !errors.Is(err, token.ErrConflict) {
		t.Errorf("the same report again: %v, want ErrConflict", err)
	}
}

func leakReportsPaged(t *testing.T, s LeaksStore) {
	ctx := context.Background()
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	var ids []string
	for i := range 5 {
		r := leakReport(i, now)
		if err := s.AddLeakReport(ctx, r, nil); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	var seen []string
	cursor := ""
	for {
		page, next, err := s.LeakReports(ctx, leak.Filter{Before: cursor, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page {
			seen = append(seen, r.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if len(seen) != 5 {
		t.Fatalf("%d reports over the pages, want 5", len(seen))
	}
	for i, id := range seen {
		if id != ids[4-i] {
			t.Errorf("page order: %v, want newest first %v", seen, ids)
			break
		}
	}
}

func leakClientBySecret(t *testing.T, s LeaksStore) {
	ctx := context.Background()
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	cur, prev := sha256.Sum256([]byte("current")), sha256.Sum256([]byte("previous"))
	p := &token.Principal{Type: token.App, ID: "app_1", Name: "App", CreatedAt: now, UpdatedAt: now}
	c := &oauth.Client{AppID: "app_1", Settings: oauth.Settings{GrantTypes: []string{"client_credentials"}, TokenEndpointAuthMethod: oauth.AuthSecretBasic},
		SecretDigest: cur[:], PrevSecretDigest: prev[:], PrevSecretUntil: now.Add(time.Hour), CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := s.CreateClient(ctx, p, c, nil); err != nil {
		t.Fatal(err)
	}
	for name, d := range map[string][32]byte{"current": cur, "previous": prev} {
		if id, err := s.ClientBySecretDigest(ctx, d[:]); err != nil || id != "app_1" {
			t.Errorf("%s secret: %q, %v", name, id, err)
		}
	}
	other := sha256.Sum256([]byte("other"))
	if _, err := s.ClientBySecretDigest(ctx, other[:]); !errors.Is(err, token.ErrNotFound) {
		t.Errorf("unknown digest: %v, want ErrNotFound", err)
	}
}

func pendingLeak(i int, now time.Time) *leak.Pending {
	at := now.Add(time.Duration(i) * time.Millisecond)
	return &leak.Pending{ID: token.NewID("leak", at), Time: at, Digest: apitoken.Hash("token " + strconv.Itoa(i)), Prefix: "acme_live",
		Start: "acme_live_AbC" + strconv.Itoa(i%10), Origin: leak.Origin{Source: leak.SourceAPI, URL: "https://example.com/" + strconv.Itoa(i),
			Address: "203.0.113.7", RequestID: "req_" + strconv.Itoa(i)}}
}

// leakPendingLifecycle: a pending report is kept with its digest and
// origin, leased to one claimer at a time (an attempt each claim), free
// again when its lease ends or a retry is due, and gone once its report
// is written, which happens once.
func leakPendingLifecycle(t *testing.T, s LeaksStore) {
	ctx := context.Background()
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	var ps []*leak.Pending
	for i := range 3 {
		p := pendingLeak(i, now)
		if err := s.AddPendingLeak(ctx, p, leak.MaxPending); err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	if n, last, err := s.PendingLeaks(ctx, ""); err != nil || n != 3 || last != ps[2].ID {
		t.Fatalf("PendingLeaks: %d, %q, %v; want 3, %q", n, last, err, ps[2].ID)
	}
	if n, last, err := s.PendingLeaks(ctx, ps[1].ID); err != nil || n != 2 || last != ps[1].ID {
		t.Fatalf("PendingLeaks up to the second: %d, %q, %v", n, last, err)
	}
	lease := now.Add(time.Minute)
	got, err := s.ClaimPendingLeaks(ctx, now, lease, 2)
	if err != nil || len(got) != 2 {
		t.Fatalf("first claim: %d, %v; want the 2 oldest", len(got), err)
	}
	for i, g := range got {
		want := *ps[i]
		want.ClaimedUntil, want.Attempts = lease, 1
		if g.ClaimedUntil.Equal(want.ClaimedUntil) {
			g.ClaimedUntil = want.ClaimedUntil
		}
		if g.Time.Equal(want.Time) {
			g.Time = want.Time
		}
		if *g != want {
			t.Errorf("claimed %+v, want %+v", g, want)
		}
	}
	if again, err := s.ClaimPendingLeaks(ctx, now, lease, 10); err != nil || len(again) != 1 || again[0].ID != ps[2].ID {
		t.Fatalf("second claim: %v, %v; want only the third", again, err)
	}
	if none, err := s.ClaimPendingLeaks(ctx, lease.Add(-time.Second), lease, 10); err != nil || len(none) != 0 {
		t.Fatalf("claim while leased: %d, %v", len(none), err)
	}
	// A retry moves the lease only for its holder.
	later := now.Add(time.Hour)
	if err := s.RetryPendingLeak(ctx, ps[0].ID, now, now); err != nil {
		t.Fatal(err)
	}
	if err := s.RetryPendingLeak(ctx, ps[1].ID, lease, later); err != nil {
		t.Fatal(err)
	}
	// At the end of the lease: the first and third are free again, the
	// second waits for its retry.
	re, err := s.ClaimPendingLeaks(ctx, lease, later.Add(time.Hour), 10)
	if err != nil || len(re) != 2 || re[0].ID != ps[0].ID || re[1].ID != ps[2].ID || re[0].Attempts != 2 {
		t.Fatalf("claim after the lease: %+v, %v", re, err)
	}
	if re, err := s.ClaimPendingLeaks(ctx, later, later.Add(time.Minute), 10); err != nil || len(re) != 1 || re[0].ID != ps[1].ID {
		t.Fatalf("claim at the retry: %+v, %v", re, err)
	}
	// The report removes its pending row; a second one of the same ID is
	// a conflict and writes nothing.
	r := leakReport(0, now)
	r.ID = ps[0].ID
	ev := &token.AuditEvent{ID: token.NewID("aud", now), Time: now, ActorKeyID: "leak-report", Action: "leak.report",
		TargetType: "key", Outcome: token.OutcomeSuccess}
	if err := s.AddLeakReport(ctx, r, ev); err != nil {
		t.Fatal(err)
	}
	if n, _, err := s.PendingLeaks(ctx, ""); err != nil || n != 2 {
		t.Fatalf("pending after one report: %d, %v; want 2", n, err)
	}
	ev2 := *ev
	ev2.ID = token.NewID("aud", now)
	if err := s.AddLeakReport(ctx, r, &ev2); !errors.Is(err, token.ErrConflict) {
		t.Errorf("the report again: %v, want ErrConflict", err)
	}
	if evs, _, err := s.ListAudit(ctx, token.AuditFilter{Action: "leak.report"}); err != nil || len(evs) != 1 {
		t.Errorf("leak.report records after a replay: %d, %v; want 1", len(evs), err)
	}
	if rs, _, err := s.LeakReports(ctx, leak.Filter{}); err != nil || len(rs) != 1 {
		t.Errorf("reports after a replay: %d, %v; want 1", len(rs), err)
	}
}

// leakPendingBounded: AddPendingLeak refuses with ErrBusy once max reports
// are pending, and takes reports again when one is handled.
func leakPendingBounded(t *testing.T, s LeaksStore) {
	ctx := context.Background()
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	for i := range 3 {
		if err := s.AddPendingLeak(ctx, pendingLeak(i, now), 3); err != nil {
			t.Fatal(err)
		}
	}
	p := pendingLeak(3, now)
	if err := s.AddPendingLeak(ctx, p, 3); !errors.Is(err, leak.ErrBusy) {
		t.Fatalf("a fourth report with a bound of 3: %v, want ErrBusy", err)
	}
	if n, _, err := s.PendingLeaks(ctx, ""); err != nil || n != 3 {
		t.Fatalf("pending: %d, %v", n, err)
	}
	ps, err := s.ClaimPendingLeaks(ctx, now, now.Add(time.Minute), 1)
	if err != nil || len(ps) != 1 {
		t.Fatal(len(ps), err)
	}
	r := leakReport(0, now)
	r.ID = ps[0].ID
	if err := s.AddLeakReport(ctx, r, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.AddPendingLeak(ctx, p, 3); err != nil {
		t.Fatalf("after one was handled: %v", err)
	}
}

// leakPendingClaimedOnce: concurrent claimers (nodes) never lease the
// same report twice.
func leakPendingClaimedOnce(t *testing.T, s LeaksStore) {
	ctx := context.Background()
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	const n = 60
	for i := range n {
		if err := s.AddPendingLeak(ctx, pendingLeak(i, now), leak.MaxPending); err != nil {
			t.Fatal(err)
		}
	}
	var (
		mu   sync.Mutex
		seen = map[string]int{}
		wg   sync.WaitGroup
	)
	for range 6 {
		wg.Go(func() {
			for {
				ps, err := s.ClaimPendingLeaks(ctx, now, now.Add(time.Minute), 4)
				if err != nil {
					t.Error(err)
					return
				}
				if len(ps) == 0 {
					return
				}
				mu.Lock()
				for _, p := range ps {
					seen[p.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != n {
		t.Errorf("%d reports claimed, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("report %s claimed %d times", id, c)
		}
	}
}
