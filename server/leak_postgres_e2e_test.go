package server_test

import (
	"crypto/rand"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/internal/pgtest"
	"github.com/latchkey/latchkey/server"
	"github.com/latchkey/latchkey/signer"
)

// TestLeak_TwoNodesOnPostgres: on PostgreSQL, secrets made on node A and
// reported to node B are ended everywhere: A answers REVOKED for the key
// and refuses the client secret, and both nodes list the reports.
func TestLeak_TwoNodesOnPostgres(t *testing.T) {
	pg := postgresURL(t)
	mk := signer.NewMasterKey()
	cfg := server.Config{DatabaseURL: pg, DatabaseSchema: pgtest.Schema(t, pg, "lk_leak_"), RootKey: strings.Repeat("r", 8) + rand.Text(), MasterKey: &mk}
	f := newLeakFixture(t, cfg)
	a := f.c.s
	b := startServer(t, cfg)
	for _, tok := range []string{f.apiKey, f.clientSecret2, f.refresh} {
		if r := reportLeak(t, b, tok, "https://example.com/pg"); r.Status != http.StatusAccepted {
			t.Fatalf("report to B: %d", r.Status)
		}
	}
	rs := leakReports(t, b, 3)
	for _, tok := range []string{f.apiKey, f.clientSecret2, f.refresh} {
		if r := reportFor(t, rs, tok); r.Outcome != "revoked" {
			t.Errorf("report %+v", r)
		}
	}
	leakReports(t, a, 3)
	deadline := time.Now().Add(5 * time.Second)
	for {
		res, err := a.client(t, a.Root).Verify(t.Context(), api.VerifyRequest{Key: f.apiKey})
		if err != nil {
			t.Fatal(err)
		}
		if res.Code == "REVOKED" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node A answers %s for the reported key 5s later", res.Code)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(1100 * time.Millisecond) // the client cache age of node A
	if tk := postToken(t, a.URL, url.Values{"grant_type": {"client_credentials"}}, "cron", f.clientSecret2); tk.Status != http.StatusUnauthorized {
		t.Errorf("node A with the reported client secret: %d", tk.Status)
	}
	if tk := f.c.refresh(t, f.refresh); tk.Status != http.StatusBadRequest {
		t.Errorf("node A with the reported refresh token: %d", tk.Status)
	}
}
