package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/client"
)

// TestLeak_KillNineBeforeHandling: a live key reported to POST /v1/leaks
// (answered 202) whose report the server has not handled yet when it is
// killed with SIGKILL is revoked after the restart, with one report and
// one leak.report audit record; the kept report holds the token's digest,
// never the token (no data file holds it, before or after the restart).
// The first server's leak worker is held (LATCHKEY_TEST_LEAK_WORKER_DELAY):
// the report is certainly pending at the kill, no timing involved.
func TestLeak_KillNineBeforeHandling(t *testing.T) {
	dir, root := t.TempDir(), newRootKey()
	p := startBinary(t, dir, root, "LATCHKEY_TEST_LEAK_WORKER_DELAY=1h")
	c := p.client(t, root)
	k, err := c.CreateKey(t.Context(), api.CreateKeyRequest{Name: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	anon := p.client(t, "")
	if err := anon.ReportLeak(t.Context(), k.Secret, "https://github.com/acme/app/blob/main/.env#L3"); err != nil {
		t.Fatalf("report: %v", err)
	}
	if got, err := c.Key(t.Context(), k.ID); err != nil || got.State != "active" {
		t.Fatalf("before the kill the key is %+v (%v); want it active, its report pending", got, err)
	}
	p.kill(t)
	noTokenInFiles(t, dir, k.Secret)

	p = startBinary(t, dir, root, "LATCHKEY_LEAK_POLL=50ms")
	c = p.client(t, root)
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, err := c.Key(t.Context(), k.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State == "revoked" {
			if got.RevokeReason != "leaked" {
				t.Errorf("revoked with reason %q, want leaked", got.RevokeReason)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the reported key is still %s 20s after the restart", got.State)
		}
		time.Sleep(20 * time.Millisecond) // polling for the worker, not racing it
	}
	// The report and its audit record are written with the revocation's
	// aftermath in one transaction after it: wait for the report.
	var rs *api.LeakReportList
	for {
		if rs, err = c.LeakReports(t.Context(), "", 100); err != nil {
			t.Fatal(err)
		}
		if len(rs.Items) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(rs.Items) != 1 || rs.Items[0].TargetID != k.ID || rs.Items[0].Outcome != "revoked" ||
		rs.Items[0].URL != "https://github.com/acme/app/blob/main/.env#L3" {
		t.Fatalf("reports after the restart: %+v, want one of %s, revoked", rs.Items, k.ID)
	}
	evs, err := c.Audit(t.Context(), client.AuditListOptions{Action: "leak.report"})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs.Items) != 1 || evs.Items[0].TargetID != k.ID {
		t.Errorf("leak.report records: %+v, want one", evs.Items)
	}
	revokes := 0
	evs, err = c.Audit(t.Context(), client.AuditListOptions{Action: "key.revoke"})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs.Items {
		if ev.TargetID == k.ID {
			revokes++
		}
	}
	if revokes != 1 {
		t.Errorf("%d key.revoke records of the key, want 1", revokes)
	}
	if code := p.terminate(t); code != 0 {
		t.Errorf("exit code %d", code)
	}
	noTokenInFiles(t, dir, k.Secret)
}

// noTokenInFiles fails if any file under dir holds tok.
func noTokenInFiles(t *testing.T, dir, tok string) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		n++
		if bytes.Contains(b, []byte(tok)) {
			t.Errorf("%s holds the reported token", d.Name())
		}
		return nil
	})
	if err != nil || n == 0 {
		t.Fatalf("scan %s: %d files, %v", dir, n, err)
	}
}
