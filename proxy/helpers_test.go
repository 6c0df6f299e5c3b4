package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/ratelimit"
	"github.com/latchkey/latchkey/scope"
	"github.com/latchkey/latchkey/verify"
)

// fakeVerifier answers from a table of tokens: an identity, or an error.
type fakeVerifier struct {
	ids  map[string]*verify.Identity
	errs map[string]error
	// asked records the scopes of each Check.
	mu    sync.Mutex
	asked [][]string
}

func (f *fakeVerifier) Check(_ context.Context, tok string, scopes []string) (*verify.Identity, error) {
	f.mu.Lock()
	f.asked = append(f.asked, scopes)
	f.mu.Unlock()
	if err, ok := f.errs[tok]; ok {
		return nil, err
	}
	id, ok := f.ids[tok]
	if !ok {
		return nil, &verify.Error{Kind: verify.ErrInvalidToken, Code: "NOT_FOUND"}
	}
	if !scope.Set(id.Scopes).HasAll(scopes) {
		return nil, &verify.Error{Kind: verify.ErrInsufficientScope, Code: "INSUFFICIENT_SCOPE", RateLimits: id.RateLimits}
	}
	return id, nil
}

// Tokens of the default fake verifier.
const (
	tokReader   = "lk_reader_Secret0123456789abcdefABCDEF"
	tokWriter   = "lk_writer_Secret0123456789abcdefABCDEF"
	tokOther    = "lk_other_Secret0123456789abcdefABCDEFG"
	tokLimited  = "lk_limited_Secret0123456789abcdefABCDE"
	tokDown     = "lk_down_Secret0123456789abcdefABCDEFGH"
	tokBadIP    = "lk_badip_Secret0123456789abcdefABCDEFG"
	tokUsage    = "lk_usage_Secret0123456789abcdefABCDEFG"
	tokWildcard = "lk_wild_Secret0123456789abcdefABCDEFGH"
	// JWTs (the fake does not parse them): one for keyspace default, one
	// for another audience.
	jwtDefault = "eyJhbGciOiJFZERTQSJ9.eyJhdWQiOiJkZWZhdWx0In0.c2ln"
	jwtOther   = "eyJhbGciOiJFZERTQSJ9.eyJhdWQiOiJvdGhlciJ9.c2ln"
)

var testNow = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func newFakeVerifier() *fakeVerifier {
	rl := []ratelimit.Status{{Name: "requests", Limit: 100, Remaining: 41, Window: time.Minute, Reset: testNow.Add(35 * time.Second)}}
	return &fakeVerifier{
		ids: map[string]*verify.Identity{
			tokReader:   {KeyID: "key_reader", Subject: "user:alice", Scopes: []string{"orders:read"}, Keyspace: "default", RateLimits: rl},
			tokWriter:   {KeyID: "key_writer", Subject: "user:bob", Scopes: []string{"orders:read", "orders:write", "billing:read"}, Keyspace: "default"},
			tokOther:    {KeyID: "key_other", Subject: "user:carol", Scopes: []string{"orders:read"}, Keyspace: "other"},
			tokWildcard: {KeyID: "key_wild", Subject: "app:robot", Scopes: []string{"orders:*"}, Keyspace: "default"},
			jwtDefault: {KeyID: "key_jwt", Subject: "user:dan", Scopes: []string{"orders:read"},
				Claims: &verify.Claims{Audience: []string{"default"}, Scopes: []string{"orders:read"}}},
			jwtOther: {KeyID: "key_jwt2", Subject: "user:erin", Scopes: []string{"orders:read"},
				Claims: &verify.Claims{Audience: []string{"other"}, Scopes: []string{"orders:read"}}},
		},
		errs: map[string]error{
			tokLimited: &verify.Error{Kind: verify.ErrRateLimited, Code: "RATE_LIMITED", RetryAfter: 2500 * time.Millisecond,
				RateLimits: []ratelimit.Status{{Name: "requests", Limit: 10, Remaining: 0, Window: time.Minute, Reset: testNow.Add(time.Minute)}}},
			tokDown:  &verify.Error{Kind: verify.ErrUnavailable, Err: io.ErrUnexpectedEOF},
			tokBadIP: &verify.Error{Kind: verify.ErrInvalidToken, Code: "FORBIDDEN_IP"},
			tokUsage: &verify.Error{Kind: verify.ErrInvalidToken, Code: "USAGE_EXCEEDED"},
		},
	}
}

// upstream is a loopback HTTP server that counts hits and remembers the
// last request's headers and path.
type upstream struct {
	*httptest.Server
	hits    atomic.Int64
	mu      sync.Mutex
	header  http.Header
	path    string
	query   string
	handler http.HandlerFunc // optional; default answers "ok"
}

func newUpstream(t testing.TB, h http.HandlerFunc) *upstream {
	t.Helper()
	u := &upstream{handler: h}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		u.mu.Lock()
		u.header, u.path, u.query = r.Header.Clone(), r.URL.Path, r.URL.RawQuery
		u.mu.Unlock()
		if u.handler != nil {
			u.handler(w, r)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) last() (http.Header, string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.header, u.path
}

// gw is a gateway served on loopback in front of an upstream.
type gw struct {
	*httptest.Server
	up  *upstream
	ver *fakeVerifier
}

// newGW starts a gateway with the routes of yamlText; edit, if not nil,
// adjusts the options first.
func newGW(t testing.TB, yamlText string, edit func(*Options)) *gw {
	t.Helper()
	routes, err := Parse([]byte(yamlText))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	g := &gw{up: newUpstream(t, nil), ver: newFakeVerifier()}
	opts := Options{
		Upstream: mustURL(t, g.up.URL),
		Routes:   routes,
		Keyspace: AnyKeyspace, // tests that check keyspaces set them
		Verifier: g.ver,
		Now:      func() time.Time { return testNow },
	}
	if edit != nil {
		edit(&opts)
	}
	h, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	g.Server = httptest.NewServer(h)
	t.Cleanup(g.Close)
	return g
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// do sends method path with headers given as name, value pairs (names
// used as written) and returns the response with its body read.
func do(t testing.TB, srvURL, method, path string, headers ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, srvURL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header[headers[i]] = append(req.Header[headers[i]], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func bearerH(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

// wantProblem checks that resp is a problem document with status and code.
func wantProblem(t testing.TB, resp *http.Response, body string, status int, code string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d; body %s", resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type %q, want application/problem+json", ct)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	var p struct {
		Type   string `json:"type"`
		Title  string `json:"title"`
		Status int    `json:"status"`
		Code   string `json:"code"`
		Detail string `json:"detail"`
	}
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatalf("body is not JSON: %v: %s", err, body)
	}
	if p.Status != status || p.Code != code || p.Title == "" || !strings.HasSuffix(p.Type, "/"+code) {
		t.Errorf("problem %+v, want status %d code %q", p, status, code)
	}
}

// logBuffer is a concurrency-safe log destination.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func jsonLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
