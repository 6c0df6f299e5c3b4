package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/api"
)

// TestE2E_RecoverableKeysCLI: keyspaces create --recoverable (shown by
// keyspaces get), keys reveal prints the secret again (and --json), a key
// of default is refused (exit 3, not_recoverable), and update
// --recoverable=false makes the kept secret go.
func TestE2E_RecoverableKeysCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped with -short")
	}
	root := newRootKey()
	p := startBinary(t, t.TempDir(), root)
	env := map[string]string{"LATCHKEY_URL": p.URL, "LATCHKEY_TOKEN": root}
	run := func(want int, args ...string) result {
		t.Helper()
		r := runBinary(t, env, "", args...)
		if r.code != want {
			t.Fatalf("latchkey %s: exit %d, want %d; stderr %s", strings.Join(args, " "), r.code, want, r.stderr)
		}
		return r
	}
	run(exitOK, "keyspaces", "create", "customers", "--recoverable")
	if out := run(exitOK, "keyspaces", "get", "customers").stdout; !strings.Contains(out, "Recoverable:") || !strings.Contains(out, "yes") {
		t.Errorf("keyspaces get: %q", out)
	}
	var k api.CreatedKey
	if err := json.Unmarshal([]byte(run(exitOK, "keys", "create", "--keyspace", "customers", "--json").stdout), &k); err != nil {
		t.Fatal(err)
	}
	if out := run(exitOK, "keys", "reveal", k.ID).stdout; out != k.Secret+"\n" {
		t.Errorf("keys reveal printed %d bytes, want the secret and a newline", len(out))
	}
	var ks api.KeySecret
	if err := json.Unmarshal([]byte(run(exitOK, "keys", "reveal", k.ID, "--json").stdout), &ks); err != nil || ks.Secret != k.Secret || ks.KeyID != k.ID {
		t.Errorf("keys reveal --json: %v", err)
	}
	var plain api.CreatedKey
	if err := json.Unmarshal([]byte(run(exitOK, "keys", "create", "--json").stdout), &plain); err != nil {
		t.Fatal(err)
	}
	if r := run(exitRefused, "keys", "reveal", plain.ID); !strings.Contains(r.stderr, "not_recoverable") {
		t.Errorf("reveal of a key of default: stderr %q", r.stderr)
	}
	run(exitOK, "keyspaces", "update", "customers", "--recoverable=false")
	if r := run(exitRefused, "keys", "reveal", k.ID); !strings.Contains(r.stderr, "not_recoverable") || strings.Contains(r.stderr, k.Secret) {
		t.Errorf("reveal after recoverable was turned off: stderr %q", r.stderr)
	}
}
