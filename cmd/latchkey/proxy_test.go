package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runProxyArgs runs proxyMain with args and env (name=value) and returns
// its exit code and stderr; it must not reach a server.
func runProxyArgs(t *testing.T, env map[string]string, args ...string) (int, string) {
	t.Helper()
	var stderr bytes.Buffer
	code := proxyMain(t.Context(), args, &stderr, func(k string) string { return env[k] })
	return code, stderr.String()
}

// TestProxyCommand_RouteFileErrors: a route file error names the file, the
// line and the field as the user wrote it, with one prefix (found by a new
// user: "proxy: proxy: routes: … field method not found in type
// proxy.Route").
func TestProxyCommand_RouteFileErrors(t *testing.T) {
	p := filepath.Join(t.TempDir(), "routes.yaml")
	os.WriteFile(p, []byte("routes:\n  - path: /orders\n    method: [GET]\n    scopes: [orders:read]\n"), 0o600)
	code, out := runProxyArgs(t, map[string]string{"LATCHKEY_TOKEN": "x"}, "--upstream", "http://127.0.0.1:1", "--routes", p)
	want := "proxy: " + p + `:3: unknown field "method" (did you mean "methods"?)`
	if code != exitUsage || strings.TrimSpace(out) != want {
		t.Errorf("exit %d, stderr %q, want %d %q", code, out, exitUsage, want)
	}
}

// TestProxyCommand_KeyspaceRequired: a route file whose routes accept keys
// without a keyspace, and no --keyspace, is refused at start with what to
// do; --keyspace '*' accepts every keyspace explicitly.
func TestProxyCommand_KeyspaceRequired(t *testing.T) {
	p := filepath.Join(t.TempDir(), "routes.yaml")
	os.WriteFile(p, []byte("routes: [{path: /orders, scopes: [orders:read]}, {path: /public, anonymous: true}]\n"), 0o600)
	code, out := runProxyArgs(t, map[string]string{}, "--upstream", "http://127.0.0.1:1", "--routes", p)
	if code != exitUsage || !strings.Contains(out, "names no keyspace") || !strings.Contains(out, "--keyspace NAME") || strings.Contains(out, "proxy: proxy:") {
		t.Errorf("exit %d, stderr %q", code, out)
	}
	// With a keyspace the next check (the credential) is reached.
	for _, ks := range []string{"acme_live", "*"} {
		code, out := runProxyArgs(t, map[string]string{}, "--upstream", "http://127.0.0.1:1", "--routes", p, "--keyspace", ks)
		if code != exitUsage || !strings.Contains(out, "no credential") {
			t.Errorf("--keyspace %s: exit %d, stderr %q", ks, code, out)
		}
	}
}

// TestServeProxyKeyspaceRequired: the in-process gateway needs a keyspace
// too (--proxy-keyspace or the route's); serve refuses to start without.
func TestServeProxyKeyspaceRequired(t *testing.T) {
	p := filepath.Join(t.TempDir(), "routes.yaml")
	os.WriteFile(p, []byte("routes: [{path: /orders, scopes: [orders:read]}]\n"), 0o600)
	var out, errb strings.Builder
	args := []string{"--data-dir", t.TempDir() + "/never-created", "--addr", "127.0.0.1:0",
		"--proxy-routes", p, "--proxy-upstream", "http://127.0.0.1:1"}
	if code := serve(t.Context(), args, &out, &errb, func(string) string { return "" }); code != 2 ||
		!strings.Contains(errb.String(), "--proxy-keyspace NAME") || strings.Contains(errb.String(), "proxy: proxy") {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
}
