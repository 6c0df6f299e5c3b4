package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/apitoken"
)

// TestE2E_ScanAndReport: `latchkey scan --git` finds a real key in a
// working tree and a second one only in git history, names both by key ID
// (asking with digests), prints neither secret, exits 1; `--report`
// revokes them; with no credential it prints the prefix only.
func TestE2E_ScanAndReport(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped with -short")
	}
	root := newRootKey()
	p := startBinary(t, t.TempDir(), root)
	env := map[string]string{"LATCHKEY_URL": p.URL, "LATCHKEY_TOKEN": root}
	cl := p.client(t, root)
	ctx := context.Background()
	prefix := "acme_live"
	if _, err := cl.CreateKeyspace(ctx, api.KeyspaceRequest{Name: "acme-live", Prefix: &prefix}); err != nil {
		t.Fatal(err)
	}
	inTree, err := cl.CreateKey(ctx, api.CreateKeyRequest{Keyspace: "acme-live", Name: "tree"})
	if err != nil {
		t.Fatal(err)
	}
	inHistory, err := cl.CreateKey(ctx, api.CreateKeyRequest{Keyspace: "acme-live", Name: "history"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	writeFile := func(name, s string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	git("init", "-q", "-b", "main")
	writeFile("old.env", "TOKEN="+inHistory.Secret+"\n")
	git("add", ".")
	git("commit", "-q", "-m", "oops")
	git("rm", "-q", "old.env")
	git("commit", "-q", "-m", "remove")
	unknown, _ := apitoken.New("acme_live")
	writeFile("app.env", "# app\nKEY="+inTree.Secret+"\nOTHER="+unknown.Reveal()[:len(unknown.Reveal())-1]+"x\n")

	secrets := []string{inTree.Secret, inHistory.Secret}
	noSecret := func(t *testing.T, r result) {
		t.Helper()
		for _, s := range secrets {
			if strings.Contains(r.stdout+r.stderr, s[len(prefix)+5:]) {
				t.Fatal("scan printed a secret")
			}
		}
	}
	t.Run("json with names", func(t *testing.T) {
		r := runBinary(t, env, "", "scan", "--git", "--json", dir)
		noSecret(t, r)
		if r.code != exitInvalid {
			t.Fatalf("exit %d, want %d; stderr %s", r.code, exitInvalid, r.stderr)
		}
		var out []scanResult
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
			t.Fatalf("%v: %s", err, r.stdout)
		}
		if len(out) != 2 {
			t.Fatalf("%d findings, want 2: %+v", len(out), out)
		}
		byID := map[string]scanResult{}
		for _, x := range out {
			byID[x.ID] = x
		}
		if x := byID[inTree.ID]; x.Path != filepath.Join(dir, "app.env") || x.Line != 2 || x.Kind != "api_key" || x.Commit != "" {
			t.Errorf("working tree finding %+v", x)
		}
		if x := byID[inHistory.ID]; x.Path != "old.env" || x.Line != 1 || len(x.Commit) != 40 {
			t.Errorf("history finding %+v", x)
		}
	})
	t.Run("no credential: prefix only", func(t *testing.T) {
		r := runBinary(t, map[string]string{"LATCHKEY_URL": p.URL}, "", "scan", dir)
		noSecret(t, r)
		if r.code != exitInvalid || !strings.Contains(r.stdout, "acme_live_"+inTree.Secret[len(prefix)+1:len(prefix)+5]+"…") || strings.Contains(r.stdout, inTree.ID) {
			t.Errorf("exit %d, output:\n%s", r.code, r.stdout)
		}
	})
	t.Run("report revokes", func(t *testing.T) {
		r := runBinary(t, map[string]string{"LATCHKEY_URL": p.URL}, "", "scan", "--git", "--report", dir)
		noSecret(t, r)
		if r.code != exitInvalid {
			t.Fatalf("exit %d; stderr %s", r.code, r.stderr)
		}
		deadline := time.Now().Add(15 * time.Second)
		for _, id := range []string{inTree.ID, inHistory.ID} {
			for {
				k, err := cl.Key(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if k.State == "revoked" {
					if k.RevokeReason != "leaked" {
						t.Errorf("%s revoked with reason %q", id, k.RevokeReason)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s not revoked 15s after scan --report", id)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		l, err := cl.LeakReports(ctx, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		urls := map[string]bool{}
		for _, x := range l.Items {
			urls[x.URL] = true
		}
		if !urls["file://"+filepath.ToSlash(filepath.Join(dir, "app.env"))+"#L2"] {
			t.Errorf("report URLs %v", urls)
		}
	})
	t.Run("clean tree exits 0", func(t *testing.T) {
		if r := runBinary(t, env, "", "scan", t.TempDir()); r.code != exitOK {
			t.Errorf("exit %d; %s", r.code, r.stderr)
		}
	})
	t.Run("scanner rules", func(t *testing.T) {
		for format, want := range map[string]string{
			"gitleaks":   `regex = '''\bacme_live_[0-9A-Za-z]{49}\b'''`,
			"trufflehog": `token: '\bacme_live_[0-9A-Za-z]{49}\b'`,
			"github":     "latchkey_acme_live\t\\bacme_live_[0-9A-Za-z]{49}\\b",
		} {
			r := runBinary(t, env, "", "keyspaces", "scanner-rules", "--format", format)
			if r.code != exitOK || !strings.Contains(r.stdout, want) || !strings.Contains(r.stdout, "lkcs_") {
				t.Errorf("%s: exit %d, output:\n%s", format, r.code, r.stdout)
			}
		}
		if r := runBinary(t, env, "", "keyspaces", "scanner-rules", "--format", "yara"); r.code != exitUsage {
			t.Errorf("unknown format: exit %d", r.code)
		}
	})
}
