package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/store/sqlite"
	"github.com/latchkey/latchkey/token"
)

// newDataDir creates a SQLite installation with one key and returns the
// directory and the key's plaintext.
func newDataDir(t *testing.T) (string, string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "latchkey.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc := token.NewService(token.Config{Store: db})
	if _, err := svc.Bootstrap(ctx, ""); err != nil {
		t.Fatal(err)
	}
	ck, err := svc.CreateKey(ctx, token.SystemActor, token.CreateKeyParams{Name: "moved", Scopes: []string{"read"}})
	if err != nil {
		t.Fatal(err)
	}
	return dir, ck.Secret.Reveal()
}

func TestExportImport(t *testing.T) {
	src, secret := newDataDir(t)
	file := filepath.Join(t.TempDir(), "latchkey.jsonl")
	code, _, errOut := runLocal(t, nil, "export", "--data-dir", src, "-o", file)
	if code != exitOK {
		t.Fatalf("export: exit %d, stderr %q", code, errOut)
	}
	if !strings.Contains(errOut, "warning") || !strings.Contains(errOut, "wrote") {
		t.Errorf("export stderr lacks the warning or the final count:\n%s", errOut)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("export file: %v, %v; want mode 0600", fi, err)
	}
	b, _ := os.ReadFile(file)
	if strings.Contains(string(b), secret) {
		t.Fatal("the export contains a key's plaintext")
	}

	dst := filepath.Join(t.TempDir(), "new")
	code, _, errOut = runLocal(t, map[string]string{"LATCHKEY_DATA_DIR": dst}, "import", file)
	if code != exitOK || !strings.Contains(errOut, "stored") {
		t.Fatalf("import: exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = runLocal(t, nil, "import", "--data-dir", dst, file)
	if code != exitFailure || !strings.Contains(errOut, "not empty") {
		t.Errorf("second import: exit %d, stderr %q; want %d and \"not empty\"", code, errOut, exitFailure)
	}

	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(dst, "latchkey.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := token.NewService(token.Config{Store: db}).Verify(ctx, token.VerifyRequest{Key: secret, Scopes: []string{"read"}})
	if err != nil || !res.Valid {
		t.Fatalf("verify the imported key: %+v, %v", res, err)
	}
}

func TestExportImportErrors(t *testing.T) {
	src, _ := newDataDir(t)
	existing := filepath.Join(t.TempDir(), "exists.jsonl")
	if err := os.WriteFile(existing, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want int
		msg  string
	}{
		{"export over an existing file", []string{"export", "--data-dir", src, "-o", existing}, exitFailure, "not overwriting"},
		{"export of a missing data dir", []string{"export", "--data-dir", filepath.Join(src, "nope")}, exitFailure, "no latchkey database"},
		{"import without a file", []string{"import", "--data-dir", t.TempDir()}, exitUsage, "missing FILE|-"},
		{"import of a missing file", []string{"import", "--data-dir", t.TempDir(), filepath.Join(src, "nope")}, exitFailure, "no such file"},
		{"import of a non-export", []string{"import", "--data-dir", t.TempDir(), existing}, exitFailure, "not a latchkey export"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runLocal(t, nil, tc.args...)
			if code != tc.want || !strings.Contains(errOut, tc.msg) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut, tc.want, tc.msg)
			}
		})
	}
	if b, _ := os.ReadFile(existing); string(b) != "keep me" {
		t.Errorf("the existing file now holds %q", b)
	}
}
