package server_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/server"
)

// TestLeak_KeptAcrossRestart: a report answered 202 but not handled when
// the server stops (its worker held) is kept, as the token's digest and
// never the token, and the next start revokes the key with one report and
// one leak.report record. (The kill -9 variant, with the real binary, is
// cmd/latchkey's TestLeak_KillNineBeforeHandling.)
func TestLeak_KeptAcrossRestart(t *testing.T) {
	s := startServer(t, server.Config{Leaks: server.LeaksConfig{WorkerDelay: time.Hour}})
	cl := s.client(t, s.Root)
	ctx := context.Background()
	k, err := cl.CreateKey(ctx, api.CreateKeyRequest{Name: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	if r := reportLeak(t, s, k.Secret, "https://paste.example/9"); r.Status != http.StatusAccepted {
		t.Fatalf("report: %d %s", r.Status, r.Body)
	}
	if got, err := cl.Key(ctx, k.ID); err != nil || got.State != "active" {
		t.Fatalf("before the stop the key is %+v (%v); want it active, its report pending", got, err)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	idx := newSecretIndex(t, []string{k.Secret})
	scan := func(when string) {
		for name, b := range dataFiles(t, s.DataDir) {
			if hits := idx.find(b); len(hits) > 0 {
				t.Errorf("%s: %s holds the reported token", when, name)
			}
		}
	}
	scan("while pending")

	s2 := startServer(t, server.Config{DataDir: s.DataDir, Leaks: server.LeaksConfig{Poll: 20 * time.Millisecond}})
	rs := leakReports(t, s2, 1)
	if len(rs) != 1 || rs[0].TargetID != k.ID || rs[0].Outcome != "revoked" || rs[0].URL != "https://paste.example/9" {
		t.Fatalf("reports after the restart: %+v", rs)
	}
	got, err := s2.client(t, s2.Root).Key(ctx, k.ID)
	if err != nil || got.State != "revoked" || got.RevokeReason != "leaked" {
		t.Fatalf("key after the restart: %+v, %v", got, err)
	}
	if evs := leakAudit(t, s2, "leak.report"); len(evs) != 1 || evs[0].TargetID != k.ID {
		t.Errorf("leak.report records: %+v, want one", evs)
	}
	if err := s2.Stop(); err != nil {
		t.Fatal(err)
	}
	scan("after handling")
}
