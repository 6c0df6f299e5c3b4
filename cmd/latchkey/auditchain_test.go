package main

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/auditlog"
	"github.com/latchkey/latchkey/seal"
	"github.com/latchkey/latchkey/signer"
	"github.com/latchkey/latchkey/store/sqlstore"
	"github.com/latchkey/latchkey/token"
)

// "latchkey audit verify" on the store: passes on an intact log with the
// saved checkpoint, and after a row's detail is edited it names the record
// and exits 1.
func TestAuditChain_VerifyCommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqlstore.OpenSQLite(ctx, filepath.Join(dir, "latchkey.db"))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 5 {
		now := time.Now()
		ev := &token.AuditEvent{ID: token.NewID("aud", now), Time: now, Action: "key.create", TargetID: string(rune('a' + i))}
		if err := db.AppendAudit(ctx, ev); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ev.ID)
	}
	box, _ := seal.New([32]byte{1})
	l, err := auditlog.New(ctx, auditlog.Config{Store: db.AuditStore(), Box: box})
	if err != nil {
		t.Fatal(err)
	}
	cp, err := l.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	saved := filepath.Join(t.TempDir(), "checkpoint.txt")
	if err := os.WriteFile(saved, cp.Note, 0o600); err != nil {
		t.Fatal(err)
	}
	verify := func() (int, string, string) {
		var out, errb bytes.Buffer
		code := run([]string{"audit", "verify", "--data-dir", dir, "--checkpoint", saved, "--key", l.Verifier()}, &out, &errb, func(string) string { return "" })
		return code, out.String(), errb.String()
	}
	if code, out, errs := verify(); code != exitOK || !strings.Contains(out, "audit log verified: 5 records, 1 stored checkpoints, and the saved checkpoint") {
		t.Fatalf("verify: %d %q %q", code, out, errs)
	}
	// Someone edits record 2 with SQL.
	raw, err := sql.Open("sqlite", filepath.Join(dir, "latchkey.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.ExecContext(ctx, `UPDATE audit SET target_id = 'z' WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	code, _, errs := verify()
	if code != exitInvalid || !strings.Contains(errs, "record seq 2 (id "+ids[2]+")") {
		t.Fatalf("verify after an edit: %d %q", code, errs)
	}
}

// As a user would: save the checkpoint a running server serves, stop it,
// verify the store with the saved note; an edited row is named, exit 1.
func TestE2E_AuditCheckpointThenVerify(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped with -short")
	}
	dir, root := t.TempDir(), newRootKey()
	p := startBinary(t, dir, root)
	env := map[string]string{"LATCHKEY_URL": p.URL, "LATCHKEY_TOKEN": root}
	for range 3 {
		if r := runBinary(t, env, "", "keys", "create", "--name", "audited"); r.code != exitOK {
			t.Fatalf("keys create: %d %s", r.code, r.stderr)
		}
	}
	r := runBinary(t, env, "", "audit", "checkpoint")
	if r.code != exitOK || !strings.HasPrefix(r.stdout, auditlog.Origin+"\n") {
		t.Fatalf("audit checkpoint: %d %q %s", r.code, r.stdout, r.stderr)
	}
	saved := filepath.Join(t.TempDir(), "checkpoint.txt")
	if err := os.WriteFile(saved, []byte(r.stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	if code := p.terminate(t); code != 0 {
		t.Fatalf("serve exited %d: %s", code, p.stderr)
	}
	r = runBinary(t, nil, "", "audit", "verify", "--data-dir", dir, "--checkpoint", saved)
	if r.code != exitOK || !strings.Contains(r.stdout, "audit log verified") || !strings.Contains(r.stdout, "and the saved checkpoint") {
		t.Fatalf("audit verify: %d %q %s", r.code, r.stdout, r.stderr)
	}
	raw, err := sql.Open("sqlite", filepath.Join(dir, "latchkey.db"))
	if err != nil {
		t.Fatal(err)
	}
	var id string
	if err := raw.QueryRow(`SELECT id FROM audit WHERE seq = 1`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`UPDATE audit SET actor = 'someone else' WHERE seq = 1`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	r = runBinary(t, nil, "", "audit", "verify", "--data-dir", dir, "--checkpoint", saved)
	if r.code != exitInvalid || !strings.Contains(r.stderr, "FAILED: record seq 1 (id "+id+")") {
		t.Fatalf("audit verify after an edit: %d %q", r.code, r.stderr)
	}
}

// import checks that the master key opens the export's audit signing key
// before it writes anything.
func TestAuditChain_ImportChecksTheAuditKey(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	db, err := sqlstore.OpenSQLite(ctx, filepath.Join(src, "latchkey.db"))
	if err != nil {
		t.Fatal(err)
	}
	mk := signer.NewMasterKey()
	box, _ := seal.New(mk)
	if _, err := auditlog.New(ctx, auditlog.Config{Store: db.AuditStore(), Box: box}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := db.AppendAudit(ctx, &token.AuditEvent{ID: token.NewID("aud", now), Time: now, Action: "x"}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	file := filepath.Join(t.TempDir(), "latchkey.jsonl")
	if code, _, errOut := runLocal(t, nil, "export", "--data-dir", src, "-o", file); code != exitOK {
		t.Fatalf("export: exit %d, stderr %q", code, errOut)
	}
	keyFile := func(k [signer.MasterKeySize]byte) string {
		p := filepath.Join(t.TempDir(), "master.key")
		os.WriteFile(p, []byte(signer.EncodeMasterKey(k)+"\n"), 0o600)
		return p
	}
	dst := filepath.Join(t.TempDir(), "new")
	code, _, errOut := runLocal(t, map[string]string{"LATCHKEY_MASTER_KEY_FILE": keyFile(signer.NewMasterKey())}, "import", "--data-dir", dst, file)
	if code != exitUsage || !strings.Contains(errOut, "does not open the audit signing key") || !strings.Contains(errOut, "nothing was written") {
		t.Fatalf("import with another master key: exit %d, stderr %q", code, errOut)
	}
	if code, _, errOut := runLocal(t, map[string]string{"LATCHKEY_MASTER_KEY_FILE": keyFile(mk)}, "import", "--data-dir", dst, file); code != exitOK {
		t.Fatalf("import: exit %d, stderr %q", code, errOut)
	}
	if code, out, errOut := runLocal(t, nil, "audit", "verify", "--data-dir", dst); code != exitOK || !strings.Contains(out, "1 records") {
		t.Fatalf("verify the copy: exit %d, %q %q", code, out, errOut)
	}
}
