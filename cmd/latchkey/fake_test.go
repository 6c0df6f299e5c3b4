package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/api"
)

const (
	testToken = "lk_root_TESTTOKENTESTTOKEN"
	goodKey   = "default_GOODKEYGOODKEY"
	newSecret = "default_NEWSECRETNEWSECRET"
	// limitedKey verifies as RATE_LIMITED with one rate-limit state.
	limitedKey = "default_LIMITEDLIMITED"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// recorded is the last request the fake server saw.
type recorded struct {
	method, path, query string
	header              http.Header
	body                map[string]any
}

// fakeServer implements a few /v1 endpoints well enough to test the CLI.
type fakeServer struct {
	*httptest.Server
	mu   sync.Mutex
	last recorded
}

func (s *fakeServer) lastRequest() recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

func testKey(id string) api.Key {
	exp := t0.Add(720 * time.Hour)
	return api.Key{ID: id, Keyspace: "default", Name: "ci " + id, Start: "default_ab", Scopes: []string{"orders:read", "orders:write"},
		State: "active", Enabled: true, CreatedAt: t0, UpdatedAt: t0, ExpiresAt: &exp, Owner: &api.Owner{Type: "app", ID: "ci"}}
}

func problem(w http.ResponseWriter, status int, code, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(api.Problem{Title: http.StatusText(status), Status: status, Code: code, Detail: detail, RequestID: "req-1"})
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func newFakeServer(t *testing.T) *fakeServer {
	t.Helper()
	s := &fakeServer{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/keys", func(w http.ResponseWriter, r *http.Request) {
		k := testKey("key_new")
		reply(w, 201, api.CreatedKey{Key: k, Secret: newSecret})
	})
	mux.HandleFunc("GET /v1/keys", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("cursor") {
		case "":
			reply(w, 200, api.KeyList{Items: []api.Key{testKey("key_1"), testKey("key_2")}, NextCursor: "c2"})
		case "c2":
			k := testKey("key_3")
			k.ExpiresAt, k.Scopes, k.Name = nil, nil, ""
			reply(w, 200, api.KeyList{Items: []api.Key{k}})
		default:
			problem(w, 400, "invalid_request", "bad cursor")
		}
	})
	mux.HandleFunc("GET /v1/keys/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "key_503" {
			problem(w, 503, "unavailable", "storage unavailable")
			return
		}
		if r.PathValue("id") == "key_inert" {
			k := testKey("key_inert")
			eff, inert := []string{"orders:read"}, []string{"orders:write"}
			k.EffectiveScopes, k.InertScopes = &eff, &inert
			reply(w, 200, k)
			return
		}
		if r.PathValue("id") == "key_limits" {
			k := testKey("key_limits")
			n := int64(7)
			k.Remaining, k.Refill, k.RefilledAt = &n, &api.Refill{Interval: "daily", Amount: 1000}, &t0
			k.RateLimits = []api.RateLimit{{Name: "requests", Limit: 100, Window: "1m"}, {Name: "burst", Limit: 10, Window: "1s"}}
			k.IPAllow = []string{"203.0.113.0/24", "2001:db8::/32"}
			reply(w, 200, k)
			return
		}
		if id := r.PathValue("id"); id != "key_1" {
			problem(w, 404, "key_not_found", "key \""+id+"\" not found")
			return
		}
		reply(w, 200, testKey("key_1"))
	})
	mux.HandleFunc("PATCH /v1/keys/{id}", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, testKey(r.PathValue("id")))
	})
	mux.HandleFunc("POST /v1/keys/{id}/revoke", func(w http.ResponseWriter, r *http.Request) {
		k := testKey(r.PathValue("id"))
		k.State, k.RevokedAt, k.RevokeReason = "revoked", &t0, "leaked"
		reply(w, 200, k)
	})
	mux.HandleFunc("POST /v1/keys/{id}/rotate", func(w http.ResponseWriter, r *http.Request) {
		prev := testKey(r.PathValue("id"))
		exp := t0.Add(time.Hour)
		prev.ExpiresAt = &exp
		reply(w, 201, api.RotatedKey{CreatedKey: api.CreatedKey{Key: testKey("key_next"), Secret: newSecret}, Previous: prev})
	})
	mux.HandleFunc("DELETE /v1/keys/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != "key_revoked" {
			problem(w, 409, "key_not_revoked", "only revoked keys can be deleted")
			return
		}
		w.WriteHeader(204)
	})
	mux.HandleFunc("POST /v1/keys/verify", func(w http.ResponseWriter, r *http.Request) {
		var req api.VerifyRequest
		json.NewDecoder(r.Body).Decode(&req)
		if req.Key == limitedKey {
			reply(w, 200, api.VerifyResponse{Valid: false, Code: "RATE_LIMITED", KeyID: "key_1", Keyspace: "default",
				RateLimits: []api.RateLimitState{{Name: "requests", Limit: 5, Remaining: 0, Reset: t0.UnixMilli(), Window: "10s"}}})
			return
		}
		if req.Key != goodKey {
			reply(w, 200, api.VerifyResponse{Valid: false, Code: "NOT_FOUND"})
			return
		}
		reply(w, 200, api.VerifyResponse{Valid: true, Code: "VALID", KeyID: "key_1", Keyspace: "default", Scopes: []string{"orders:read"}})
	})
	mux.HandleFunc("GET /v1/keyspaces", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, api.KeyspaceList{Items: []api.Keyspace{{Name: "default", Prefix: "default", DefaultTTL: "720h", AllowPermanent: true}}})
	})
	mux.HandleFunc("POST /v1/keyspaces", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 201, api.Keyspace{Name: "acme", Prefix: "acme_live"})
	})
	mux.HandleFunc("PATCH /v1/keyspaces/{name}", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, api.Keyspace{Name: r.PathValue("name"), Prefix: "acme_live", RateLimits: []api.RateLimit{{Name: "requests", Limit: 60, Window: "1m"}}})
	})
	mux.HandleFunc("POST /v1/users", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 201, api.Principal{Type: "user", ID: "alice", OwnerRateLimits: []api.RateLimit{{Name: "requests", Limit: 1000, Window: "1m"}}})
	})
	mux.HandleFunc("PATCH /v1/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, api.Principal{Type: "user", ID: r.PathValue("id")})
	})
	mux.HandleFunc("GET /v1/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, api.Principal{Type: "user", ID: r.PathValue("id"), Name: "Alice", Email: "alice@example.com",
			EmailVerified: true, PreferredUsername: "alice", CreatedAt: t0})
	})
	mux.HandleFunc("GET /v1/users", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, api.PrincipalList{Items: []api.Principal{{Type: "user", ID: "alice", Name: "Alice", Permissions: []string{"admin"}, CreatedAt: t0}}})
	})
	mux.HandleFunc("PATCH /v1/apps/{id}", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, api.Principal{Type: "app", ID: r.PathValue("id"), Disabled: true})
	})
	mux.HandleFunc("GET /v1/audit", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, api.AuditList{Items: []api.AuditEvent{{Time: t0, Actor: "key:root", Action: "key.revoke", TargetType: "key", TargetID: "key_1", Outcome: "success"}}})
	})
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var body map[string]any
		json.Unmarshal(b, &body)
		s.mu.Lock()
		s.last = recorded{method: r.Method, path: r.URL.EscapedPath(), query: r.URL.RawQuery, header: r.Header.Clone(), body: body}
		s.mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer "+testToken {
			problem(w, 401, "unauthenticated", "missing or invalid credential")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// result is the outcome of one CLI run.
type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs the CLI against srv with the given environment overrides.
func runCLI(t *testing.T, srv *fakeServer, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	vars := map[string]string{"LATCHKEY_URL": srv.URL, "LATCHKEY_TOKEN": testToken}
	for k, v := range env {
		vars[k] = v
	}
	var out, errb strings.Builder
	c := &cli{ctx: context.Background(), stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb,
		getenv: func(k string) string { return vars[k] }}
	code := c.main(args)
	return result{code, out.String(), errb.String()}
}
