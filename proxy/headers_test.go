package proxy

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func TestProxy_HeaderContract(t *testing.T) {
	g := newGW(t, `
routes:
  - path: /orders
    scopes: [orders:read]
    rate_limits: [{name: orders, limit: 3, window: 1m}]
  - path: /write
    scopes: [orders:write]
`, nil)
	g.up.handler = func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-RateLimit-Limit", "999999") // replaced by the gateway's
		w.Header().Set("X-Upstream", "yes")
		_, _ = w.Write([]byte("ok"))
	}

	t.Run("success: identity headers to the upstream", func(t *testing.T) {
		resp, body := do(t, g.URL, "GET", "/orders/1", bearerH(tokReader)...)
		if resp.StatusCode != 200 || body != "ok" {
			t.Fatalf("%d %q", resp.StatusCode, body)
		}
		h, _ := g.up.last()
		for k, want := range map[string]string{
			"X-Latchkey-Key-Id":    "key_reader",
			"X-Latchkey-Principal": "user:alice",
			"X-Latchkey-Scopes":    "orders:read",
		} {
			if got := h.Values(k); len(got) != 1 || got[0] != want {
				t.Errorf("upstream %s = %q, want %q", k, got, want)
			}
		}
		if resp.Header.Get("X-Upstream") != "yes" {
			t.Error("upstream header lost")
		}
	})

	t.Run("success: rate-limit headers of the key and the route", func(t *testing.T) {
		remaining := int64(1 << 62)
		for i := range 3 {
			resp, _ := do(t, g.URL, "GET", "/orders", bearerH(tokWriter)...)
			if resp.StatusCode != 200 {
				t.Fatalf("request %d: %d", i, resp.StatusCode)
			}
			if v := resp.Header.Values("X-Ratelimit-Limit"); len(v) != 1 || v[0] != "3" {
				t.Errorf("X-RateLimit-Limit %q, want [3] (the upstream's must be replaced)", v)
			}
			r, err := strconv.ParseInt(resp.Header.Get("X-Ratelimit-Remaining"), 10, 64)
			if err != nil || r > remaining {
				t.Errorf("X-RateLimit-Remaining %d after %d: not non-increasing (%v)", r, remaining, err)
			}
			remaining = r
			if resp.Header.Get("X-Ratelimit-Reset") == "" || resp.Header.Get("RateLimit") == "" {
				t.Errorf("missing X-RateLimit-Reset or RateLimit: %v", resp.Header)
			}
			if got := resp.Header.Get("RateLimit-Policy"); got != `"orders";q=3;w=60` {
				t.Errorf("RateLimit-Policy %q", got)
			}
		}
		if remaining != 0 {
			t.Errorf("remaining %d after 3 of 3", remaining)
		}
		resp, body := do(t, g.URL, "GET", "/orders", bearerH(tokWriter)...)
		wantProblem(t, resp, body, 429, CodeRateLimited)
		if resp.Header.Get("Retry-After") != "20" || resp.Header.Get("X-Ratelimit-Remaining") != "0" || resp.Header.Get("RateLimit-Policy") == "" {
			t.Errorf("refusal headers: %v", resp.Header)
		}
	})

	t.Run("success: the key's limits and the route's together", func(t *testing.T) {
		resp, _ := do(t, g.URL, "GET", "/orders", bearerH(tokReader)...)
		if got := resp.Header.Get("RateLimit-Policy"); got != `"requests";q=100;w=60, "orders";q=3;w=60` {
			t.Errorf("RateLimit-Policy %q", got)
		}
		if got := resp.Header.Get("RateLimit"); got != `"orders";r=1;t=40` {
			t.Errorf("RateLimit %q, want the most restrictive budget (the second use of 3 by this key)", got)
		}
	})

	t.Run("refusal: rate-limit headers the verifier reported", func(t *testing.T) {
		resp, body := do(t, g.URL, "GET", "/write", bearerH(tokReader)...)
		wantProblem(t, resp, body, 403, CodeInsufficientScope)
		if resp.Header.Get("X-Ratelimit-Remaining") != "41" || resp.Header.Get("RateLimit-Policy") != `"requests";q=100;w=60` {
			t.Errorf("refusal headers: %v", resp.Header)
		}
		resp, body = do(t, g.URL, "GET", "/orders", bearerH(tokLimited)...)
		wantProblem(t, resp, body, 429, CodeRateLimited)
		if resp.Header.Get("X-Ratelimit-Limit") != "10" || resp.Header.Get("Retry-After") != "3" {
			t.Errorf("refusal headers: %v", resp.Header)
		}
	})
}

func TestProxy_StripsCredentialAndSpoofedIdentity(t *testing.T) {
	g := newGW(t, `routes: [{path: /orders, scopes: [orders:read]}, {path: /public, anonymous: true}]`, nil)
	spoof := []string{
		"X-Latchkey-Key-Id", "key_admin",
		"X-LATCHKEY-PRINCIPAL", "user:root",
		"x-latchkey-scopes", "admin",
		"X-Latchkey-Anything", "x",
		"X-Forwarded-For", "203.0.113.9",
		"X-Forwarded-Host", "evil.example",
		"X-Forwarded-Proto", "https",
		"X-Forwarded-Prefix", "/admin",
		"Forwarded", "for=203.0.113.9",
		"X-Real-Ip", "203.0.113.9",
		"X-Original-Url", "/admin",
		"X-Http-Method-Override", "DELETE",
		"X-Api-Key", tokWriter,
		"Connection", "keep-alive",
	}
	for _, tc := range []struct{ name, path, tok string }{
		{"verified route", "/orders", tokReader},
		{"anonymous route", "/public", tokWriter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, _ := do(t, g.URL, "GET", tc.path, append(bearerH(tc.tok), spoof...)...)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			h, _ := g.up.last()
			for k := range h {
				if stripped(k) && k != "X-Forwarded-For" && k != "X-Forwarded-Host" && k != "X-Forwarded-Proto" &&
					k != HeaderKeyID && k != HeaderPrincipal && k != HeaderScopes {
					t.Errorf("upstream got %s: %q", k, h[k])
				}
			}
			if h.Get("Authorization") != "" || h.Get("X-Api-Key") != "" {
				t.Error("a credential reached the upstream")
			}
			if got := h.Values("X-Forwarded-For"); len(got) != 1 || got[0] != "127.0.0.1" {
				t.Errorf("X-Forwarded-For %q, want [127.0.0.1]", got)
			}
			if got := h.Get("X-Forwarded-Proto"); got != "http" {
				t.Errorf("X-Forwarded-Proto %q", got)
			}
			if got := h.Get("X-Forwarded-Host"); got != g.Listener.Addr().String() {
				t.Errorf("X-Forwarded-Host %q", got)
			}
			wantID := map[string]string{HeaderKeyID: "", HeaderPrincipal: "", HeaderScopes: ""}
			if tc.tok == tokReader {
				wantID = map[string]string{HeaderKeyID: "key_reader", HeaderPrincipal: "user:alice", HeaderScopes: "orders:read"}
			}
			for k, want := range wantID {
				if got := h.Values(k); want == "" && len(got) != 0 || want != "" && (len(got) != 1 || got[0] != want) {
					t.Errorf("upstream %s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

func TestProxy_APIKeyHeaderOnlyWhereAllowed(t *testing.T) {
	g := newGW(t, `
routes:
  - {path: /keyed, scopes: [orders:read], api_key_header: true}
  - {path: /bearer, scopes: [orders:read]}
`, nil)
	for _, tc := range []struct {
		name, path string
		headers    []string
		status     int
	}{
		{"X-API-Key where allowed", "/keyed", []string{"X-API-Key", tokReader}, 200},
		{"lower-case x-api-key where allowed", "/keyed", []string{"x-api-key", tokReader}, 200},
		{"Bearer where X-API-Key is allowed", "/keyed", bearerH(tokReader), 200},
		{"X-API-Key where not allowed", "/bearer", []string{"X-API-Key", tokReader}, 401},
		{"both credentials", "/keyed", append(bearerH(tokReader), "X-API-Key", tokReader), 401},
		{"two X-API-Key headers", "/keyed", []string{"X-API-Key", tokReader, "X-API-Key", tokReader}, 401},
		{"empty X-API-Key", "/keyed", []string{"X-API-Key", ""}, 401},
		{"invalid X-API-Key", "/keyed", []string{"X-API-Key", "nope"}, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := g.up.hits.Load()
			resp, body := do(t, g.URL, "GET", tc.path, tc.headers...)
			if tc.status != 200 {
				wantProblem(t, resp, body, tc.status, CodeInvalidToken)
				if g.up.hits.Load() != before {
					t.Error("upstream reached")
				}
				return
			}
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if h, _ := g.up.last(); h.Get("X-Api-Key") != "" || h.Get(HeaderKeyID) != "key_reader" {
				t.Errorf("upstream headers %v", h)
			}
		})
	}
}

func TestProxy_RouteRateLimitPerKey(t *testing.T) {
	g := newGW(t, `
routes:
  - path: /orders
    scopes: [orders:read]
    rate_limits: [{name: burst, limit: 2, window: 1m}, {name: hourly, limit: 100, window: 1h}]
  - path: /public
    anonymous: true
    rate_limits: [{name: anon, limit: 1, window: 1m}]
`, func(o *Options) {
		// The test decides the client address (a caller would trust
		// X-Forwarded-For only from its proxies).
		o.ClientIP = func(r *http.Request) string { return r.Header.Get("X-Test-Client") }
	})
	get := func(path, tok, ip string) int {
		t.Helper()
		h := []string{"X-Test-Client", ip}
		if tok != "" {
			h = append(h, bearerH(tok)...)
		}
		resp, _ := do(t, g.URL, "GET", path, h...)
		return resp.StatusCode
	}
	// Two keys from one address: separate budgets.
	for i, want := range []int{200, 200, 429} {
		if got := get("/orders", tokReader, "198.51.100.1"); got != want {
			t.Fatalf("reader request %d: %d, want %d", i, got, want)
		}
	}
	for i, want := range []int{200, 200, 429} {
		if got := get("/orders", tokWriter, "198.51.100.1"); got != want {
			t.Fatalf("writer request %d: %d, want %d", i, got, want)
		}
	}
	// One key from another address: still its own, spent budget.
	if got := get("/orders", tokReader, "198.51.100.2"); got != 429 {
		t.Errorf("reader from another address: %d, want 429", got)
	}
	// Anonymous routes: per client address.
	for _, tc := range []struct {
		ip   string
		want int
	}{{"192.0.2.1", 200}, {"192.0.2.1", 429}, {"192.0.2.2", 200}} {
		if got := get("/public", "", tc.ip); got != tc.want {
			t.Errorf("anonymous from %s: %d, want %d", tc.ip, got, tc.want)
		}
	}
}

// TestProxy_APIKeyHeaderNeedsKeyspaceConsent: on a route that accepts
// X-API-Key, the key's keyspace must allow it too (SPEC §2), and JWTs are
// bearer tokens only.
func TestProxy_APIKeyHeaderNeedsKeyspaceConsent(t *testing.T) {
	var asked []string
	g := newGW(t, `routes: [{path: /keyed, scopes: [orders:read], api_key_header: true}]`, func(o *Options) {
		o.APIKeyHeaderAllowed = func(_ context.Context, ks string) (bool, error) {
			asked = append(asked, ks)
			return ks == "default", nil
		}
	})
	for _, tc := range []struct {
		name, tok string
		status    int
	}{
		{"keyspace allows it", tokReader, 200},
		{"keyspace does not", tokOther, 401},
		{"a JWT as X-API-Key", jwtDefault, 401},
	} {
		before := g.up.hits.Load()
		resp, body := do(t, g.URL, "GET", "/keyed", "X-API-Key", tc.tok)
		if resp.StatusCode != tc.status || (g.up.hits.Load() != before) != (tc.status == 200) {
			t.Errorf("%s: %d, want %d", tc.name, resp.StatusCode, tc.status)
		}
		if tc.tok == tokOther {
			// Say why (found by a new user: a plain "the credential is
			// not valid" for a key that works as a bearer token).
			wantProblem(t, resp, body, 401, CodeAPIKeyHeader)
			if !strings.Contains(body, "Authorization: Bearer") || !strings.Contains(body, "--allow-api-key-header") {
				t.Errorf("the refusal does not say what to do: %s", body)
			}
		}
	}
	if resp, _ := do(t, g.URL, "GET", "/keyed", bearerH(tokOther)...); resp.StatusCode != 200 {
		t.Errorf("the same key as a bearer token: %d, want 200", resp.StatusCode)
	}
	if len(asked) != 2 || asked[0] != "default" || asked[1] != "other" {
		t.Errorf("keyspaces asked: %v", asked)
	}
}

// TestProxy_StripsIdentityHeadersByAnotherSpelling: headers that a
// CGI/WSGI-style upstream reads as an identity, credential or forwarding
// header — "_" for "-", any case — are stripped too (found by a
// penetration test: an anonymous request reached a Python upstream as
// user:admin with scope admin through X_Latchkey_Principal).
func TestProxy_StripsIdentityHeadersByAnotherSpelling(t *testing.T) {
	g := newGW(t, `routes: [{path: /orders, scopes: [orders:read]}, {path: /public, anonymous: true}]`, nil)
	// The upstream reads headers as WSGI does: upper case, "-" and "_"
	// alike (environ["HTTP_X_LATCHKEY_PRINCIPAL"]); a later header of the
	// same meaning overwrites an earlier one, as in a CGI environment.
	var mu sync.Mutex
	var environ map[string][]string
	g.up.handler = func(w http.ResponseWriter, r *http.Request) {
		env := map[string][]string{}
		for k, v := range r.Header {
			n := "HTTP_" + strings.ToUpper(strings.ReplaceAll(k, "-", "_"))
			env[n] = append(env[n], v...)
		}
		mu.Lock()
		environ = env
		mu.Unlock()
		_, _ = w.Write([]byte("ok"))
	}
	forged := []string{
		"X_Latchkey_Principal", "user:admin",
		"x_latchkey_scopes", "admin",
		"X_LATCHKEY_KEY_ID", "key_admin",
		"X-Latchkey_Principal", "user:admin",
		"X_Forwarded_For", "203.0.113.9",
		"x_forwarded_host", "evil.example",
		"X_Forwarded-Proto", "https",
		"X_Real_Ip", "203.0.113.9",
		"X_Original_Url", "/admin",
		"X_Http_Method_Override", "DELETE",
		"X_Api_Key", tokWriter,
		"authorization_", "x", // not a match: a different name
	}
	for _, tc := range []struct{ name, path, tok string }{
		{"anonymous route", "/public", ""},
		{"verified route", "/orders", tokReader},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := forged
			if tc.tok != "" {
				h = append(bearerH(tc.tok), forged...)
			}
			resp, body := do(t, g.URL, "GET", tc.path, h...)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			mu.Lock()
			env := environ
			mu.Unlock()
			for _, bad := range []string{"user:admin", "admin", "key_admin", "203.0.113.9", "evil.example", "https", "/admin", "DELETE", tokWriter} {
				for k, vs := range env {
					for _, v := range vs {
						if strings.Contains(v, bad) && !(bad == "admin" && k == "HTTP_AUTHORIZATION_") {
							t.Errorf("upstream environ %s = %q: a forged value arrived", k, v)
						}
					}
				}
			}
			if got := env["HTTP_X_FORWARDED_FOR"]; len(got) != 1 || got[0] != "127.0.0.1" {
				t.Errorf("HTTP_X_FORWARDED_FOR = %q, want [127.0.0.1]", got)
			}
			want := []string(nil)
			if tc.tok != "" {
				want = []string{"user:alice"}
			}
			if got := env["HTTP_X_LATCHKEY_PRINCIPAL"]; strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("HTTP_X_LATCHKEY_PRINCIPAL = %q, want %q", got, want)
			}
		})
	}
}
