package server_test

import (
	"crypto/rand"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/internal/pgtest"
	"github.com/latchkey/latchkey/server"
	"github.com/latchkey/latchkey/signer"
)

// TestLeak_KeptReportHandledByAnotherNode: on PostgreSQL, a report kept by
// a node whose worker does not run (held here; a crashed node in life) is
// handled by another node's worker, found by its poll: the key is revoked
// with one report.
func TestLeak_KeptReportHandledByAnotherNode(t *testing.T) {
	pg := postgresURL(t)
	mk := signer.NewMasterKey()
	cfg := server.Config{DatabaseURL: pg, DatabaseSchema: pgtest.Schema(t, pg, "lk_leakq_"), RootKey: strings.Repeat("r", 8) + rand.Text(), MasterKey: &mk}
	held := cfg
	held.Leaks = server.LeaksConfig{WorkerDelay: time.Hour}
	b := startServer(t, held)
	k, err := b.client(t, b.Root).CreateKey(t.Context(), api.CreateKeyRequest{Name: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	if r := reportLeak(t, b, k.Secret, "https://example.com/pg"); r.Status != http.StatusAccepted {
		t.Fatalf("report to B: %d", r.Status)
	}
	if got, err := b.client(t, b.Root).Key(t.Context(), k.ID); err != nil || got.State != "active" {
		t.Fatalf("the key before another node runs: %+v, %v", got, err)
	}
	cfg.Leaks = server.LeaksConfig{Poll: 20 * time.Millisecond}
	a := startServer(t, cfg)
	rs := leakReports(t, a, 1)
	if len(rs) != 1 || rs[0].TargetID != k.ID || rs[0].Outcome != "revoked" {
		t.Fatalf("reports: %+v", rs)
	}
	if got, err := a.client(t, a.Root).Key(t.Context(), k.ID); err != nil || got.State != "revoked" || got.RevokeReason != "leaked" {
		t.Errorf("the key after node A's worker: %+v, %v", got, err)
	}
	if evs := leakAudit(t, a, "leak.report"); len(evs) != 1 {
		t.Errorf("%d leak.report records, want 1", len(evs))
	}
}
