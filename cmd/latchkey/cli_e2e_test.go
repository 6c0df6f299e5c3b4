package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/api"
)

// TestE2E_CLI drives the real binary against a real server and checks the
// exit codes: 0 ok, 1 key invalid, 2 usage error, 3 refused, 4 failure.
func TestE2E_CLI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped with -short")
	}
	root := newRootKey()
	p := startBinary(t, t.TempDir(), root)
	env := map[string]string{"LATCHKEY_URL": p.URL, "LATCHKEY_TOKEN": root}

	r := runBinary(t, env, "", "keys", "create", "--json", "--name", "cli", "--scopes", "orders:read")
	if r.code != exitOK {
		t.Fatalf("keys create: exit %d; stderr %s", r.code, r.stderr)
	}
	var created api.CreatedKey
	if err := json.Unmarshal([]byte(r.stdout), &created); err != nil || created.Secret == "" || created.ID == "" {
		t.Fatalf("keys create --json: %v; %d bytes of output", err, len(r.stdout))
	}
	secret := created.Secret
	vk, err := p.client(t, root).CreateKey(context.Background(), api.CreateKeyRequest{Keyspace: "latchkey", Scopes: []string{"keys:verify"}})
	if err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		name       string
		env        map[string]string
		stdin      string
		args       []string
		want       int
		wantStdout string
	}{
		{"0/verify a valid key", env, "", []string{"keys", "verify", secret, "--scope", "orders:read"}, exitOK, "valid: VALID"},
		{"0/verify a key read from stdin", env, secret + "\n", []string{"keys", "verify", "-"}, exitOK, "valid: VALID"},
		{"1/verify with a missing scope", env, "", []string{"keys", "verify", secret, "--scope", "orders:write"}, exitInvalid, "invalid: INSUFFICIENT_SCOPE"},
		{"0/revoke", env, "", []string{"keys", "revoke", created.ID, "--reason", "cli test"}, exitOK, created.ID},
		{"1/verify a revoked key", env, "", []string{"keys", "verify", secret}, exitInvalid, "invalid: REVOKED"},
		{"1/verify a revoked key from stdin", env, secret + "\n", []string{"keys", "verify", "-"}, exitInvalid, "invalid: REVOKED"},
		{"2/no LATCHKEY_TOKEN", map[string]string{"LATCHKEY_URL": p.URL}, "", []string{"keys", "list"}, exitUsage, ""},
		{"2/empty key on stdin", env, "\n", []string{"keys", "verify", "-"}, exitUsage, ""},
		{"2/unknown command", env, "", []string{"keys", "frobnicate"}, exitUsage, ""},
		{"3/get a key that does not exist", env, "", []string{"keys", "get", "key_doesnotexist"}, exitRefused, ""},
		{"3/create without keys:write", map[string]string{"LATCHKEY_URL": p.URL, "LATCHKEY_TOKEN": vk.Secret}, "", []string{"keys", "create"}, exitRefused, ""},
		{"3/unknown credential", map[string]string{"LATCHKEY_URL": p.URL, "LATCHKEY_TOKEN": "not-a-key"}, "", []string{"keys", "list"}, exitRefused, ""},
		{"4/unreachable server", map[string]string{"LATCHKEY_URL": "http://" + closedPort(t), "LATCHKEY_TOKEN": root}, "", []string{"keys", "list"}, exitFailure, ""},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			r := runBinary(t, st.env, st.stdin, st.args...)
			if r.code != st.want {
				t.Errorf("exit %d, want %d; stdout %q; stderr %q", r.code, st.want, redact(r.stdout, secret), redact(r.stderr, secret))
			}
			if !strings.Contains(r.stdout, st.wantStdout) {
				t.Errorf("stdout %q lacks %q", redact(r.stdout, secret), st.wantStdout)
			}
			if strings.Contains(r.stdout+r.stderr, secret) || strings.Contains(r.stdout+r.stderr, root) {
				t.Error("the output shows a secret")
			}
		})
	}
}

// redact removes secret from s, for failure messages.
func redact(s, secret string) string { return strings.ReplaceAll(s, secret, "<secret>") }

// TestE2E_GracefulShutdownFlushesUsage: verifications are recorded
// asynchronously; SIGTERM must flush them, so after a restart the key shows
// last_used_at.
func TestE2E_GracefulShutdownFlushesUsage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped with -short")
	}
	ctx := context.Background()
	dir, root := t.TempDir(), newRootKey()
	p := startBinary(t, dir, root)
	c := p.client(t, root)
	var id string
	// The server also flushes every second. Retry until the SIGTERM is sent
	// with the usage still unflushed, so the test proves the shutdown flush.
	for attempt := 0; id == "" && attempt < 5; attempt++ {
		ck, err := c.CreateKey(ctx, api.CreateKeyRequest{Name: "used"})
		if err != nil {
			t.Fatal(err)
		}
		for range 5 {
			if res, err := c.Verify(ctx, api.VerifyRequest{Key: ck.Secret}); err != nil || !res.Valid {
				t.Fatalf("verify: %+v %v", res, err)
			}
		}
		k, err := c.Key(ctx, ck.ID)
		if err != nil {
			t.Fatal(err)
		}
		if k.LastUsedAt == nil {
			id = ck.ID
		}
	}
	if id == "" {
		t.Fatal("usage was flushed before every SIGTERM attempt; cannot test the shutdown flush")
	}
	if code := p.terminate(t); code != 0 {
		t.Fatalf("latchkey serve exited %d after SIGTERM; stderr:\n%s", code, p.stderr)
	}

	p = startBinary(t, dir, root)
	r := runBinary(t, map[string]string{"LATCHKEY_URL": p.URL, "LATCHKEY_TOKEN": root}, "", "keys", "get", id, "--json")
	if r.code != exitOK {
		t.Fatalf("keys get: exit %d; stderr %s", r.code, r.stderr)
	}
	var k api.Key
	if err := json.Unmarshal([]byte(r.stdout), &k); err != nil {
		t.Fatalf("keys get --json: %v", err)
	}
	if k.LastUsedAt == nil || k.LastUsedIP != "127.0.0.1" {
		t.Errorf("after SIGTERM and restart: last_used_at %v, last_used_ip %q; want set (usage flushed on shutdown)", k.LastUsedAt, k.LastUsedIP)
	}
	if n := k.Verifications["VALID"]; n != 5 {
		t.Errorf("after SIGTERM and restart: %d VALID verifications counted, want 5 (counts flushed on shutdown)", n)
	}
}
