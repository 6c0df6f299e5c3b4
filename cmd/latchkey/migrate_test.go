package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/pgtest"
)

// runLocal runs latchkey with args and the environment env, and returns
// the exit code and both outputs.
func runLocal(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr, func(k string) string { return env[k] })
	return code, stdout.String(), stderr.String()
}

func TestMigrateSQLite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	code, out, errOut := runLocal(t, nil, "migrate", "status", "--data-dir", dir)
	if code != exitOK {
		t.Fatalf("migrate status: exit %d, stderr %q", code, errOut)
	}
	pending := false // the STATE column, not a migration's name (00028_leak_pending.sql)
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[2] == "pending" {
			pending = true
		}
	}
	if !strings.Contains(out, "00001_init.sql") || !strings.Contains(out, "applied") || pending {
		t.Errorf("migrate status printed:\n%s", out)
	}
	if fi, err := os.Stat(filepath.Join(dir, "latchkey.db")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("database file: %v, %v; want mode 0600", fi, err)
	}
	code, out, errOut = runLocal(t, map[string]string{"LATCHKEY_DATA_DIR": dir}, "migrate", "up")
	files, _ := filepath.Glob("../../store/sqlstore/migrations/sqlite/*.sql")
	latest := 0 // the highest version: numbers need not be contiguous
	for _, f := range files {
		var v int
		if _, err := fmt.Sscanf(filepath.Base(f), "%05d_", &v); err == nil && v > latest {
			latest = v
		}
	}
	if code != exitOK || len(files) == 0 || !strings.Contains(out, fmt.Sprintf("schema at version %d\n", latest)) {
		t.Errorf("migrate up: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, _ = runLocal(t, nil, "migrate", "status", "--json", "--data-dir", dir)
	if code != exitOK || !strings.Contains(out, `"applied": true`) {
		t.Errorf("migrate status --json: exit %d:\n%s", code, out)
	}
}

func TestMigrateUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want int
	}{
		{"no subcommand", []string{"migrate"}, exitUsage},
		{"unknown subcommand", []string{"migrate", "down"}, exitUsage},
		{"unknown flag", []string{"migrate", "status", "--bogus"}, exitUsage},
		{"extra argument", []string{"migrate", "up", "now"}, exitUsage},
		{"not a postgres URL", []string{"migrate", "up", "--database-url", "mysql://x"}, exitUsage},
		{"help", []string{"migrate", "status", "-h"}, exitOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, _, errOut := runLocal(t, nil, tc.args...); code != tc.want {
				t.Errorf("exit %d, want %d; stderr %q", code, tc.want, errOut)
			}
		})
	}
}

func TestMigratePostgres(t *testing.T) {
	url := pgtest.URL(t)
	schema := pgtest.Schema(t, url, "lktest_")
	env := map[string]string{"LATCHKEY_DATABASE_URL": url, "LATCHKEY_DATABASE_SCHEMA": schema}
	code, out, errOut := runLocal(t, env, "migrate", "up")
	if code != exitOK || !strings.Contains(out, "PostgreSQL: schema at version ") {
		t.Fatalf("migrate up: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = runLocal(t, env, "migrate", "status")
	if code != exitOK || !strings.Contains(out, "00001_init.sql") || !strings.Contains(out, "applied") {
		t.Errorf("migrate status: exit %d, stderr %q:\n%s", code, errOut, out)
	}
}
