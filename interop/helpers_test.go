package interop_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/server"
)

// requireServices is CI's LATCHKEY_TEST_REQUIRE_SERVICES=1: a missing
// node or npm fails the suite instead of skipping it.
var requireServices = os.Getenv("LATCHKEY_TEST_REQUIRE_SERVICES") == "1"

// stampFile, in node_modules, holds the digest of the package-lock.json
// (and node's version) that the last npm ci installed.
const stampFile = ".latchkey-interop-stamp"

var (
	npmOnce sync.Once
	npmErr  error
	nodeBin string
)

// needNode returns the node binary once node_modules matches
// package-lock.json, running npm ci at most once per test binary (and
// only when the stamp is missing or stale). Without node or npm it skips
// loudly, or fails with LATCHKEY_TEST_REQUIRE_SERVICES=1.
func needNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = exec.LookPath("npm")
	}
	if err != nil {
		if requireServices {
			t.Fatalf("node/npm not found (%v) and LATCHKEY_TEST_REQUIRE_SERVICES=1; run scripts/test-deps.sh", err)
		}
		t.Skipf("SKIPPED: node/npm not found (%v): the independent-client interop tests did not run; run scripts/test-deps.sh", err)
	}
	npmOnce.Do(func() { nodeBin, npmErr = node, npmCI(node) })
	if npmErr != nil {
		t.Fatalf("npm ci in interop/: %v", npmErr)
	}
	return nodeBin
}

// npmCI installs the locked packages into node_modules unless the stamp
// says they are already there, under an flock shared by every process.
func npmCI(node string) error {
	lock, err := os.ReadFile("package-lock.json")
	if err != nil {
		return err
	}
	ver, err := exec.Command(node, "--version").Output()
	if err != nil {
		return err
	}
	sum := sha256.Sum256(append(lock, ver...))
	want := hex.EncodeToString(sum[:])
	stamp := filepath.Join("node_modules", stampFile)
	if b, err := os.ReadFile(stamp); err == nil && string(b) == want {
		return nil
	}
	f, err := os.OpenFile(".npm-ci.lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := lockFile(f); err != nil {
		return err
	}
	defer unlockFile(f)
	if b, err := os.ReadFile(stamp); err == nil && string(b) == want {
		return nil // another process installed it while we waited
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return errors.New(err.Error() + ": " + strings.TrimSpace(out.String()))
	}
	return os.WriteFile(stamp, []byte(want), 0o644)
}

// nodeResult is what an interop script printed and how it ended.
type nodeResult struct {
	OK     bool            // exit status 0
	Out    json.RawMessage // its one JSON document
	Stderr string
}

// failure is the {"failed": {...}} document of lib.mjs's fail.
type failure struct {
	Failed *struct {
		Name             string `json:"name"`
		Code             string `json:"code"`
		Message          string `json:"message"`
		Cause            string `json:"cause"` // the wrapped error's message
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
		Status           int    `json:"status"`
		// Challenges are oauth4webapi's parsed WWW-Authenticate.
		Challenges []struct {
			Scheme     string            `json:"scheme"`
			Parameters map[string]string `json:"parameters"`
		} `json:"challenges"`
	} `json:"failed"`
}

// runNode runs script with only env (plus PATH and HOME) in its
// environment, so that secrets travel by environment, not argv. A script
// that prints no JSON document fails the test; its output is redacted of
// every value in env before it is shown.
func runNode(t *testing.T, script string, env map[string]string) nodeResult {
	t.Helper()
	node := needNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("node %s: %v", script, err)
	}
	r := nodeResult{OK: err == nil, Out: bytes.TrimSpace(stdout.Bytes()), Stderr: redact(stderr.String(), env)}
	if !json.Valid(r.Out) || len(r.Out) == 0 {
		t.Fatalf("node %s (%v) printed no JSON: %s; stderr: %s", script, err, redact(stdout.String(), env), r.Stderr)
	}
	return r
}

// redact replaces every secret-looking value of env in s.
func redact(s string, env map[string]string) string {
	for k, v := range env {
		if k == "LATCHKEY_URL" || len(v) < 8 {
			continue
		}
		s = strings.ReplaceAll(s, v, "["+k+"]")
	}
	return s
}

// latchkey is one server.Run in a goroutine of the test process.
type latchkey struct {
	URL  string
	Root string
	Logs *syncBuffer
}

// syncBuffer collects the server's log lines from its goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// startLatchkey runs latchkey on 127.0.0.1:0 with a fresh data directory
// (SQLite) and stops it, waiting for Run to return, when the test ends.
func startLatchkey(t *testing.T) *latchkey {
	t.Helper()
	return startLatchkeyConfig(t, nil)
}

// startLatchkeyWith is startLatchkey with the OAuth settings oc.
func startLatchkeyWith(t *testing.T, oc server.OAuthConfig) *latchkey {
	t.Helper()
	return startLatchkeyConfig(t, func(c *server.Config) { c.OAuth = oc })
}

// startLatchkeyConfig is startLatchkey with the configuration changed by
// set (if not nil).
func startLatchkeyConfig(t *testing.T, set func(*server.Config)) *latchkey {
	t.Helper()
	dir := t.TempDir()
	l := &latchkey{Logs: &syncBuffer{}}
	started := make(chan string, 1)
	cfg := server.Config{
		Addr:    "127.0.0.1:0",
		DataDir: dir,
		Out:     io.Discard,
		Log:     slog.New(slog.NewJSONHandler(l.Logs, nil)),
		Started: func(addr string) { started <- addr },
	}
	if set != nil {
		set(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- server.Run(ctx, cfg) }()
	select {
	case addr := <-started:
		l.URL = "http://" + addr
	case err := <-done:
		cancel()
		t.Fatalf("server.Run returned before serving: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("latchkey did not start within 30s")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("server.Run: %v", err)
			}
		case <-time.After(40 * time.Second):
			t.Error("server.Run did not return within 40s of cancel")
		}
	})
	b, err := os.ReadFile(filepath.Join(dir, server.RootKeyFile))
	if err != nil {
		t.Fatalf("read root key: %v", err)
	}
	l.Root = strings.TrimSpace(string(b))
	return l
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

// createClient registers an OAuth app over the HTTP API (POST /v1/apps)
// and returns it with its client secret.
func (l *latchkey) createClient(t *testing.T, body string) api.Principal {
	t.Helper()
	p := l.createApp(t, body)
	if p.ClientSecret == "" {
		t.Fatal("POST /v1/apps answered no client_secret")
	}
	return p
}

// createApp registers an OAuth app over the HTTP API (POST /v1/apps) and
// returns it (with a client secret only if its method has one).
func (l *latchkey) createApp(t *testing.T, body string) api.Principal {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, l.URL+"/v1/apps", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+l.Root)
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /v1/apps: %d %s", resp.StatusCode, b)
	}
	var p api.Principal
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// metadata fetches the RFC 8414 document.
func (l *latchkey) metadata(t *testing.T) api.AuthorizationServerMetadata {
	t.Helper()
	resp, err := httpClient.Get(l.URL + "/.well-known/oauth-authorization-server")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m api.AuthorizationServerMetadata
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("metadata: HTTP %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}
