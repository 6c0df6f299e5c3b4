package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/signer"
	"github.com/latchkey/latchkey/store/sqlstore"
	"github.com/latchkey/latchkey/token"
)

// newDataDir creates a SQLite installation with one key and returns the
// directory and the key's plaintext.
func newDataDir(t *testing.T) (string, string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqlstore.OpenSQLite(ctx, filepath.Join(dir, "latchkey.db"))
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
	db, err := sqlstore.OpenSQLite(ctx, filepath.Join(dst, "latchkey.db"))
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

// TestImportChecksMasterKey: import checks, before it writes anything,
// that the master key the destination will be served with opens the
// export's sealed signing keys; with none, or the wrong one, it stops with
// exit 2 and a message naming LATCHKEY_MASTER_KEY_FILE, and the
// destination is not created. With the right one (env, or master.key in
// the SQLite data directory, or through stdin) it imports.
func TestImportChecksMasterKey(t *testing.T) {
	ctx := context.Background()
	src, _ := newDataDir(t)
	db, err := sqlstore.OpenSQLite(ctx, filepath.Join(src, "latchkey.db"))
	if err != nil {
		t.Fatal(err)
	}
	mk := signer.NewMasterKey()
	m, err := signer.NewManager(signer.ManagerConfig{Store: db, MasterKey: mk})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Ensure(ctx); err != nil {
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
	right, wrong := keyFile(mk), keyFile(signer.NewMasterKey())

	for _, tc := range []struct {
		name string
		env  map[string]string
		msg  string
	}{
		{"no master key", nil, "LATCHKEY_MASTER_KEY_FILE"},
		{"a fresh master key", map[string]string{"LATCHKEY_MASTER_KEY_FILE": wrong}, "does not open signing key"},
		{"a malformed master key", map[string]string{"LATCHKEY_MASTER_KEY": "nope"}, "LATCHKEY_MASTER_KEY"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "new")
			code, _, errOut := runLocal(t, tc.env, "import", "--data-dir", dst, file)
			if code != exitUsage || !strings.Contains(errOut, tc.msg) || !strings.Contains(errOut, "nothing was written") {
				t.Errorf("exit %d, stderr %q; want %d, %q and \"nothing was written\"", code, errOut, exitUsage, tc.msg)
			}
			if _, err := os.Stat(dst); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the destination was created although the import was refused (stat: %v)", err)
			}
		})
	}

	t.Run("right key from the environment", func(t *testing.T) {
		dst := filepath.Join(t.TempDir(), "new")
		if code, _, errOut := runLocal(t, map[string]string{"LATCHKEY_MASTER_KEY_FILE": right}, "import", "--data-dir", dst, file); code != exitOK {
			t.Fatalf("import: exit %d, stderr %q", code, errOut)
		}
	})
	t.Run("right key as master.key in the data directory", func(t *testing.T) {
		dst := t.TempDir()
		b, _ := os.ReadFile(right)
		os.WriteFile(filepath.Join(dst, "master.key"), b, 0o600)
		if code, _, errOut := runLocal(t, nil, "import", "--data-dir", dst, file); code != exitOK {
			t.Fatalf("import: exit %d, stderr %q", code, errOut)
		}
	})
	t.Run("through stdin", func(t *testing.T) {
		b, _ := os.ReadFile(file)
		dst := filepath.Join(t.TempDir(), "new")
		r := runBinary(t, map[string]string{"LATCHKEY_MASTER_KEY_FILE": right}, string(b), "import", "--data-dir", dst, "-")
		if r.code != exitOK {
			t.Fatalf("import -: exit %d, stderr %q", r.code, r.stderr)
		}
		r = runBinary(t, map[string]string{"LATCHKEY_MASTER_KEY_FILE": wrong}, string(b), "import", "--data-dir", filepath.Join(t.TempDir(), "new"), "-")
		if r.code != exitUsage {
			t.Fatalf("import - with the wrong key: exit %d, stderr %q", r.code, r.stderr)
		}
	})
}
