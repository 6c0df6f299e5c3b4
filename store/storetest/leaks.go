package storetest

import (
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

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
