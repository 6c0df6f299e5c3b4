package leak

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// gitleaksModule is the gitleaks the rules are tested with, pinned.
const gitleaksModule = "github.com/zricethezav/gitleaks/v8@v8.30.1"

// buildGitleaks installs gitleaks into a temporary directory with the go
// command (from the module proxy or the module cache). Where it cannot —
// no go command, no network and no cache — the test fails in CI
// (CI or LATCHKEY_TEST_REQUIRE_SERVICES set) and is skipped elsewhere.
func buildGitleaks(t *testing.T) string {
	t.Helper()
	fail := t.Skipf
	if os.Getenv("CI") != "" || os.Getenv("LATCHKEY_TEST_REQUIRE_SERVICES") != "" {
		fail = t.Fatalf
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		fail("no go command to build gitleaks: %v", err)
	}
	bin := t.TempDir()
	cmd := exec.Command(goBin, "install", gitleaksModule)
	cmd.Env = append(os.Environ(), "GOBIN="+bin, "CGO_ENABLED=0", "GOFLAGS=-mod=mod")
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		fail("go install %s: %v\n%s", gitleaksModule, err, out)
	}
	t.Logf("built gitleaks in %v", time.Since(start).Round(time.Millisecond))
	return filepath.Join(bin, "gitleaks")
}

// TestLeak_GitleaksRules runs the real gitleaks with the rules of
// `latchkey keyspaces scanner-rules --format gitleaks` over a directory
// holding real tokens of two prefixes and look-alikes (a placeholder of the
// right shape, a string one character too long, a token of a prefix no
// keyspace has, a token glued into a longer word): gitleaks reports
// exactly the real ones.
func TestLeak_GitleaksRules(t *testing.T) {
	gl := buildGitleaks(t)
	rules, err := Rules(FormatGitleaks, append([]Prefix{{"acme_live", "latchkey API key (keyspace acme-live)"}}, BuiltinPrefixes...))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "latchkey.toml")
	if err := os.WriteFile(cfg, []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	real, secret := newToken(t, "acme_live"), newToken(t, "lkcs")
	write(t, filepath.Join(dir, "app.env"), strings.Join([]string{
		"ACME_TOKEN=" + real,
		"PLACEHOLDER=acme_live_" + strings.Repeat("x", bodyLen),
		"TOO_LONG=" + newToken(t, "acme_live") + "Q",
		"OTHER=" + newToken(t, "acme_test"),
		"GLUED=xacme_live" + newToken(t, "acme_live")[len("acme_live"):],
		"",
	}, "\n"))
	write(t, filepath.Join(dir, "oauth.yaml"), "client_secret: "+secret+"\n")
	report := filepath.Join(t.TempDir(), "report.json")
	cmd := exec.Command(gl, "dir", dir, "--config", cfg, "--no-banner", "--report-format", "json", "--report-path", report, "--exit-code", "0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gitleaks: %v\n%s", err, redactTokens(string(out)))
	}
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var found []struct {
		RuleID string `json:"RuleID"`
		Secret string `json:"Secret"`
		File   string `json:"File"`
	}
	if err := json.Unmarshal(b, &found); err != nil {
		t.Fatalf("gitleaks report: %v", err)
	}
	got := map[string]string{}
	for _, f := range found {
		got[f.Secret] = f.RuleID
	}
	want := map[string]string{real: "latchkey-acme-live", secret: "latchkey-lkcs"}
	if len(got) != len(want) {
		t.Errorf("gitleaks found %d secrets, want %d", len(got), len(want))
	}
	for s, rule := range want {
		if got[s] != rule {
			t.Errorf("gitleaks: %s… by rule %q, want %q", s[:len(s)-40], got[s], rule)
		}
	}
}

// redactTokens hides the secrets of tokens in s (gitleaks prints what it
// finds).
func redactTokens(s string) string {
	for _, tok := range FindTokens([]byte(s)) {
		s = strings.ReplaceAll(s, tok, tok[:len(tok)-40]+"…")
	}
	return s
}
