package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/api"
)

// TestE2E_CLILimits drives the rate-limit, allowlist and refill flags of
// the real binary against a real server: what is stored, what verify
// prints, and the exit codes of RATE_LIMITED and FORBIDDEN_IP.
func TestE2E_CLILimits(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped with -short")
	}
	root := newRootKey()
	p := startBinary(t, t.TempDir(), root)
	env := map[string]string{"LATCHKEY_URL": p.URL, "LATCHKEY_TOKEN": root}
	run := func(t *testing.T, want int, stdin string, args ...string) result {
		t.Helper()
		r := runBinary(t, env, stdin, args...)
		if r.code != want {
			t.Fatalf("latchkey %s: exit %d, want %d; stderr %s", strings.Join(args[:2], " "), r.code, want, r.stderr)
		}
		return r
	}

	run(t, exitOK, "", "users", "create", "bob", "--owner-ratelimit", "requests=3/1m")
	run(t, exitOK, "", "keyspaces", "create", "metered", "--ratelimit", "requests=60/1m")
	r := run(t, exitOK, "", "keys", "create", "--json", "--owner", "user:bob", "--ratelimit", "requests=2/10s",
		"--ip-allow", "203.0.113.0/24,::ffff:198.51.100.7", "--remaining", "100", "--refill", "daily:100")
	var k api.CreatedKey
	if err := json.Unmarshal([]byte(r.stdout), &k); err != nil {
		t.Fatal(err)
	}
	r = run(t, exitOK, "", "keys", "get", k.ID)
	for _, want := range []string{"Rate limits: requests=2/10s\n", "IP allow:    198.51.100.7/32, 203.0.113.0/24\n", "Refill:      daily:100 (last "} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("keys get lacks %q:\n%s", want, r.stdout)
		}
	}
	r = run(t, exitOK, k.Secret+"\n", "keys", "verify", "-", "--ip", "203.0.113.9", "--cost", "0")
	if !strings.Contains(r.stdout, "requests        2/10s  2          ") || !strings.Contains(r.stdout, "owner_requests  3/1m   3          ") {
		t.Errorf("verify --cost 0 output:\n%s", r.stdout)
	}
	run(t, exitOK, k.Secret+"\n", "keys", "verify", "-", "--ip", "203.0.113.9")
	run(t, exitOK, k.Secret+"\n", "keys", "verify", "-", "--ip", "::ffff:198.51.100.7")
	r = run(t, exitInvalid, k.Secret+"\n", "keys", "verify", "-", "--ip", "203.0.113.9")
	if !strings.HasPrefix(r.stdout, "invalid: RATE_LIMITED\n\nNAME") {
		t.Errorf("rate-limited verify output:\n%s", r.stdout)
	}
	r = run(t, exitInvalid, k.Secret+"\n", "keys", "verify", "-", "--ip", "192.0.2.1")
	if r.stdout != "invalid: FORBIDDEN_IP\n" {
		t.Errorf("forbidden-ip verify output: %q", r.stdout)
	}
	run(t, exitUsage, "", "keys", "verify", k.Secret, "--ip", "192.0.2.0/24")

	r = run(t, exitOK, "", "keys", "update", k.ID, "--no-ratelimits", "--no-ip-allow", "--no-refill", "--json")
	var got api.Key
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatal(err)
	}
	if got.RateLimits != nil || got.IPAllow != nil || got.Refill != nil || got.Remaining == nil {
		t.Errorf("after --no-ratelimits --no-ip-allow --no-refill: %+v", got)
	}
	run(t, exitOK, "", "users", "update", "bob", "--no-owner-ratelimits")
	run(t, exitOK, k.Secret+"\n", "keys", "verify", "-", "--ip", "192.0.2.1")
	r = run(t, exitOK, "", "keyspaces", "update", "metered", "--ratelimit", "requests=5/1s", "--ratelimit", "daily=1000/24h")
	if !strings.Contains(r.stdout, "Rate limits:    requests=5/1s, daily=1000/24h\n") {
		t.Errorf("keyspaces update output:\n%s", r.stdout)
	}
	r = run(t, exitRefused, "", "keys", "create", "--keyspace", "metered", "--ip-allow", "10.0.0.0/8", "--refill", "monthly:1000000000000000")
	if !strings.Contains(r.stderr, "refill") {
		t.Errorf("refused refill: %s", r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, k.Secret) {
		t.Error("the output shows a secret")
	}
}
