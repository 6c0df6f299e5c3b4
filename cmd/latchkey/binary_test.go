package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/latchkey/latchkey/client"
)

// The tests in this file's family run the real latchkey binary as a
// subprocess. It is built once per test run, on first use.
var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// latchkeyBinary returns the path of the binary built from this package
// with CGO_ENABLED=0.
func latchkeyBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "latchkey-bin-"); buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "latchkey")
		cmd := exec.Command("go", "build", "-o", binPath, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// baseEnv is the test process's environment without LATCHKEY_* variables,
// so a developer's settings cannot leak into the subprocesses.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LATCHKEY_") {
			env = append(env, kv)
		}
	}
	return env
}

// newRootKey returns a fresh operator-chosen root credential (32+ chars).
func newRootKey() string { return "test-root-" + rand.Text() }

// lockedBuffer collects a subprocess's output and reports the address of
// the "latchkey serving" log line.
type lockedBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	pending []byte
	addr    chan string
	gateway chan string // address of "latchkey gateway serving"
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	b.pending = append(b.pending, p...)
	for {
		i := bytes.IndexByte(b.pending, '\n')
		if i < 0 {
			break
		}
		var line struct{ Msg, Addr string }
		if json.Unmarshal(b.pending[:i], &line) == nil {
			for _, c := range []struct {
				msg string
				ch  chan string
			}{{"latchkey serving", b.addr}, {"latchkey gateway serving", b.gateway}} {
				if line.Msg == c.msg && c.ch != nil {
					select {
					case c.ch <- line.Addr:
					default:
					}
				}
			}
		}
		b.pending = b.pending[i+1:]
	}
	return len(p), nil
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// serverProc is a running `latchkey serve`.
type serverProc struct {
	URL    string
	cmd    *exec.Cmd
	stdout *lockedBuffer
	stderr *lockedBuffer
	done   chan struct{} // closed when the process has exited
	state  *os.ProcessState
}

// startBinary runs `latchkey serve` on 127.0.0.1 port 0 with data in dir
// and root credential rootKey, and returns once /healthz answers 200. The
// bound address is read from the server's "latchkey serving" log line, so
// no port has to be guessed. A cleanup kills the process if it still runs.
// env adds NAME=value settings to the process's environment.
func startBinary(t *testing.T, dir, rootKey string, env ...string) *serverProc {
	t.Helper()
	p := &serverProc{stdout: &lockedBuffer{}, stderr: &lockedBuffer{addr: make(chan string, 1)}, done: make(chan struct{})}
	p.cmd = exec.Command(latchkeyBinary(t), "serve", "--addr", "127.0.0.1:0", "--data-dir", dir, "--log-format", "json")
	p.cmd.Env = append(append(baseEnv(), "LATCHKEY_ROOT_KEY="+rootKey), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		p.state = p.cmd.ProcessState
		close(p.done)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	select {
	case addr := <-p.stderr.addr:
		p.URL = "http://" + addr
	case <-p.done:
		t.Fatalf("latchkey serve exited before serving (%v); stderr:\n%s", p.state, p.stderr)
	case <-time.After(20 * time.Second):
		t.Fatalf("latchkey serve did not start within 20s; stderr:\n%s", p.stderr)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(p.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz did not answer 200 within 10s: %v", err)
		}
		time.Sleep(10 * time.Millisecond) // polling for readiness, not for correctness
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *serverProc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatal(err)
	}
	<-p.done
}

// terminate sends SIGTERM and returns the exit code of a graceful exit.
func (p *serverProc) terminate(t *testing.T) int {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
		return p.state.ExitCode()
	case <-time.After(40 * time.Second):
		t.Fatalf("latchkey serve did not exit within 40s of SIGTERM")
		return -1
	}
}

// client returns a Go client of p with token tok.
func (p *serverProc) client(t *testing.T, tok string) *client.Client {
	t.Helper()
	c, err := client.New(p.URL, tok, client.WithHTTPClient(&http.Client{Timeout: 30 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// runBinary runs the latchkey binary with args, extra environment
// variables and stdin, and returns its exit code and output.
func runBinary(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, latchkeyBinary(t), args...)
	cmd.Env = baseEnv()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if _, ok := errors.AsType[*exec.ExitError](err); err != nil && !ok {
		t.Fatalf("run latchkey %s: %v", args[0], err)
	}
	return result{cmd.ProcessState.ExitCode(), out.String(), errb.String()}
}

// closedPort returns a loopback address nothing listens on (it was free a
// moment ago).
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
