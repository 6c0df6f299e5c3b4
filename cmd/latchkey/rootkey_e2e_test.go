package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/server"
)

// TestGeneratedRootKeyNotOnNonTerminalStdout: a real `latchkey serve`
// whose stdout is a pipe (as under a container runtime that keeps logs)
// does not print the generated root key; it names the root.key file.
func TestGeneratedRootKeyNotOnNonTerminalStdout(t *testing.T) {
	dir := t.TempDir()
	stdout, stderr := &lockedBuffer{}, &lockedBuffer{addr: make(chan string, 1)}
	cmd := exec.Command(latchkeyBinary(t), "serve", "--addr", "127.0.0.1:0", "--data-dir", dir, "--log-format", "json")
	cmd.Env = baseEnv()
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-done })
	select {
	case <-stderr.addr:
	case <-done:
		t.Fatalf("latchkey serve exited before serving; stderr:\n%s", stderr)
	case <-time.After(20 * time.Second):
		t.Fatalf("latchkey serve did not start within 20s; stderr:\n%s", stderr)
	}
	b, err := os.ReadFile(filepath.Join(dir, server.RootKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	root := strings.TrimSpace(string(b))
	if root == "" {
		t.Fatal("root.key is empty")
	}
	// The notice is written before the listener starts, but stdout and
	// stderr reach us through separate pipes: the address on stderr can
	// arrive before the notice on stdout. Wait for the notice.
	want := filepath.Join(dir, server.RootKeyFile)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stdout.String(), want) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	out := stdout.String()
	if strings.Contains(out, root) || strings.Contains(stderr.String(), root) {
		t.Error("the generated root key was printed although stdout is not a terminal")
	}
	if !strings.Contains(out, want) {
		t.Errorf("stdout does not say where root.key is: %q", out)
	}
}
