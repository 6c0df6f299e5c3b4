package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash/crc32"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/server"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines to write
// while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

func (s *syncBuffer) String() string { return string(s.Bytes()) }

// testServer is one server.Run in a goroutine of the test process.
type testServer struct {
	URL     string
	DataDir string
	Root    string      // the root credential (root.key or Config.RootKey)
	Out     *syncBuffer // Config.Out: the root key announcement
	Logs    *syncBuffer // JSON slog output at debug level

	stopOnce sync.Once
	cancel   context.CancelFunc
	done     chan error
	runErr   error
}

// startServer runs server.Run on 127.0.0.1:0 with cfg (DataDir defaults to
// a fresh t.TempDir()), waits until it accepts connections and registers a
// cleanup that shuts it down and waits for Run to return.
func startServer(t *testing.T, cfg server.Config) *testServer {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	s := &testServer{DataDir: cfg.DataDir, Out: &syncBuffer{}, Logs: &syncBuffer{}, done: make(chan error, 1)}
	cfg.Addr = "127.0.0.1:0"
	cfg.Out = s.Out
	cfg.Log = slog.New(slog.NewJSONHandler(s.Logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg.UsageFlushInterval = 50 * time.Millisecond
	started := make(chan string, 1)
	cfg.Started = func(addr string) { started <- addr }
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go func() { s.done <- server.Run(ctx, cfg) }()
	select {
	case addr := <-started:
		s.URL = "http://" + addr
	case err := <-s.done:
		cancel()
		t.Fatalf("server.Run returned before serving: %v", err)
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatal("server did not start within 20s")
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("server.Run: %v", err)
		}
	})
	s.Root = cfg.RootKey
	if s.Root == "" {
		b, err := os.ReadFile(filepath.Join(cfg.DataDir, server.RootKeyFile))
		if err != nil {
			t.Fatalf("read root key: %v", err)
		}
		s.Root = strings.TrimSpace(string(b))
	}
	return s
}

// Stop shuts the server down gracefully and returns Run's result. It may be
// called more than once.
func (s *testServer) Stop() error {
	s.stopOnce.Do(func() {
		s.cancel()
		select {
		case s.runErr = <-s.done:
		case <-time.After(40 * time.Second):
			s.runErr = errors.New("server.Run did not return within 40s of cancel")
		}
	})
	return s.runErr
}

// client returns a client of s authenticating with tok.
func (s *testServer) client(t *testing.T, tok string) *client.Client {
	t.Helper()
	c, err := client.New(s.URL, tok, client.WithHTTPClient(httpClient))
	if err != nil {
		t.Fatalf("client.New: %v", err)
	}
	return c
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

// response is a raw HTTP answer.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// do sends a raw request with the bearer tok (none if empty) and a body
// (none if empty) of content type ctype.
func (s *testServer) do(t *testing.T, method, path, tok, ctype string, body []byte) response {
	t.Helper()
	var lastErr error
	for range 3 { // a large refused body can reset the connection mid-write
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequest(method, s.URL+path, rd)
		if err != nil {
			t.Fatalf("new request %s %.60s: %v", method, path, err)
		}
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := httpClient.Do(req)
		if err != nil {
			lastErr = err
			continue
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			lastErr = err
			continue
		}
		return response{resp.StatusCode, resp.Header, b}
	}
	t.Fatalf("%s %.60s: %v", method, path, lastErr)
	return response{}
}

// doJSON is do with an application/json body.
func (s *testServer) doJSON(t *testing.T, method, path, tok, body string) response {
	t.Helper()
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	return s.do(t, method, path, tok, "application/json", b)
}

// wantProblem checks that r is an RFC 9457 problem with status want, a
// code and a detail, and returns it.
func wantProblem(t *testing.T, r response, want int) api.Problem {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d; body %.300s", r.Status, want, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json", ct)
	}
	var p api.Problem
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatalf("problem body is not JSON: %v; %.300s", err, r.Body)
	}
	if p.Code == "" || p.Detail == "" || p.Status != want {
		t.Fatalf("incomplete problem (code %q, detail %q, status %d): %.300s", p.Code, p.Detail, p.Status, r.Body)
	}
	return p
}

// countKeys counts every key visible to the root credential.
func (s *testServer) countKeys(t *testing.T) int {
	t.Helper()
	return len(s.allKeys(t, client.KeyListOptions{}))
}

// allKeys lists every page of keys matching opts.
func (s *testServer) allKeys(t *testing.T, opts client.KeyListOptions) []api.Key {
	t.Helper()
	c := s.client(t, s.Root)
	opts.Limit = 500
	var all []api.Key
	for range 10_000 {
		page, err := c.ListKeys(context.Background(), opts)
		if err != nil {
			t.Fatalf("list keys: %v", err)
		}
		all = append(all, page.Items...)
		if page.NextCursor == "" {
			return all
		}
		opts.Cursor = page.NextCursor
	}
	t.Fatal("key listing did not end")
	return nil
}

// fp is a fingerprint of a secret that is safe to print.
func fp(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return "sha256:" + hex.EncodeToString(h[:4])
}

// base62 is the token alphabet of package apitoken.
const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// withChecksum appends the 6-character base62 CRC32 that apitoken expects
// to body ("<prefix>_<43-char secret>"), so the result passes
// apitoken.Check and reaches the store.
func withChecksum(body string) string {
	c := crc32.ChecksumIEEE([]byte(body))
	var out [6]byte
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = base62[c%62]
		c /= 62
	}
	return body + string(out[:])
}

// secretPart returns the 43 base62 characters between the prefix and the
// checksum of a latchkey token.
func secretPart(t *testing.T, tok string) string {
	t.Helper()
	cut := strings.LastIndexByte(tok, '_')
	if cut < 0 || len(tok)-cut-1 != 43+6 {
		t.Fatalf("token %s is not in <prefix>_<secret><checksum> form", fp(tok))
	}
	return tok[cut+1 : cut+1+43]
}
