package proxy

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/verify"
)

func TestProxy_RouteFileExample(t *testing.T) {
	g := newGW(t, `routes: [{path: /orders, methods: [GET], scopes: [orders:read]}, {path: /public, anonymous: true}]`, nil)
	for _, tc := range []struct {
		name, method, path string
		headers            []string
		status             int
		code               string // of a refusal
	}{
		{"200/orders with orders:read", "GET", "/orders", bearerH(tokReader), 200, ""},
		{"200/below /orders", "GET", "/orders/17/items?x=1", bearerH(tokReader), 200, ""},
		{"200/wildcard scope", "GET", "/orders/1", bearerH(tokWildcard), 200, ""},
		{"401/orders without credential", "GET", "/orders", nil, 401, CodeInvalidToken},
		{"404/POST /orders has no route", "POST", "/orders", bearerH(tokWriter), 404, CodeNoRoute},
		{"404/not on a segment boundary", "GET", "/ordersX", bearerH(tokReader), 404, CodeNoRoute},
		{"200/public without credential", "GET", "/public", nil, 200, ""},
		{"200/public with any method", "DELETE", "/public/a/b", nil, 200, ""},
		{"404/root", "GET", "/", nil, 404, CodeNoRoute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := g.up.hits.Load()
			resp, body := do(t, g.URL, tc.method, tc.path, tc.headers...)
			if tc.code != "" {
				wantProblem(t, resp, body, tc.status, tc.code)
				if g.up.hits.Load() != before {
					t.Error("a refused request reached the upstream")
				}
				return
			}
			if resp.StatusCode != tc.status || body != "ok" {
				t.Fatalf("got %d %q, want %d ok", resp.StatusCode, body, tc.status)
			}
			if _, p := g.up.last(); p != strings.SplitN(tc.path, "?", 2)[0] {
				t.Errorf("upstream saw path %q", p)
			}
		})
	}
	if got := g.ver.asked; len(got) == 0 || strings.Join(got[0], ",") != "orders:read" {
		t.Errorf("verifier asked for scopes %v, want [orders:read]", got)
	}
}

func TestProxy_FirstMatchWinsAndNoRoute(t *testing.T) {
	g := newGW(t, `
routes:
  - path: /orders/export
    scopes: [admin]
  - path: /orders
    methods: [GET, HEAD]
    scopes: [orders:read]
  - path: /orders
    methods: [POST]
    scope: orders:write AND (billing:read OR admin)
  - path: /orders/export/public   # shadowed by the first route
    anonymous: true
`, nil)
	for _, tc := range []struct {
		name, method, path, tok string
		status                  int
	}{
		{"first route wins over a later, more specific one", "GET", "/orders/export/public", "", 401},
		{"first route: admin scope", "GET", "/orders/export", tokReader, 403},
		{"second route", "GET", "/orders/1", tokReader, 200},
		{"second route, HEAD listed", "HEAD", "/orders/1", tokReader, 200},
		{"third route: expression holds", "POST", "/orders", tokWriter, 200},
		{"third route: expression fails", "POST", "/orders", tokReader, 403},
		{"no route: method", "DELETE", "/orders/1", tokWriter, 404},
		{"no route: path", "GET", "/invoices", tokWriter, 404},
		{"no route: prefix without boundary", "GET", "/orders-old", tokWriter, 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := g.up.hits.Load()
			var h []string
			if tc.tok != "" {
				h = bearerH(tc.tok)
			}
			resp, _ := do(t, g.URL, tc.method, tc.path, h...)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if reached := g.up.hits.Load() != before; reached != (tc.status == 200) {
				t.Errorf("upstream reached: %v", reached)
			}
		})
	}
	// The expression route asks the verifier for no scopes.
	g.ver.mu.Lock()
	defer g.ver.mu.Unlock()
	for _, s := range g.ver.asked {
		if len(s) > 0 && s[0] != "admin" && s[0] != "orders:read" {
			t.Errorf("verifier asked for %v", s)
		}
	}
}

func TestProxy_Refusals(t *testing.T) {
	const routes = `
routes:
  - path: /orders
    scopes: [orders:read]
  - path: /write
    scopes: [orders:write]
  - path: /ks
    scopes: [orders:read]
    keyspace: default
  - path: /internal
    ip_allow: [10.0.0.0/8]
    anonymous: true
  - path: /once
    scopes: [orders:read]
    rate_limits: [{name: once, limit: 1, window: 1h}]
`
	g := newGW(t, routes, nil)
	// The one request of /once's budget.
	if resp, _ := do(t, g.URL, "GET", "/once", bearerH(tokWriter)...); resp.StatusCode != 200 {
		t.Fatalf("first /once: %d", resp.StatusCode)
	}
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := closed.Addr().String()
	closed.Close()
	down := newGW(t, routes, func(o *Options) { o.Upstream = mustURL(t, "http://"+deadAddr+"/base") })

	for _, tc := range []struct {
		name       string
		g          *gw
		path       string
		headers    []string
		status     int
		code       string
		challenge  string // WWW-Authenticate
		retryAfter string
	}{
		{"401/missing credential", g, "/orders", nil, 401, CodeInvalidToken, `Bearer error="invalid_token"`, ""},
		{"401/two Authorization headers", g, "/orders", append(bearerH(tokReader), bearerH(tokReader)...), 401, CodeInvalidToken, `Bearer error="invalid_token"`, ""},
		{"401/Basic scheme", g, "/orders", []string{"Authorization", "Basic dXNlcjpwYXNz"}, 401, CodeInvalidToken, `Bearer error="invalid_token"`, ""},
		{"401/Bearer without token", g, "/orders", []string{"Authorization", "Bearer "}, 401, CodeInvalidToken, `Bearer error="invalid_token"`, ""},
		{"401/token with a space", g, "/orders", []string{"Authorization", "Bearer a b"}, 401, CodeInvalidToken, `Bearer error="invalid_token"`, ""},
		{"401/unknown token", g, "/orders", bearerH("lk_unknown_token"), 401, CodeInvalidToken, `Bearer error="invalid_token"`, ""},
		{"403/insufficient scope", g, "/write", bearerH(tokReader), 403, CodeInsufficientScope, `Bearer error="insufficient_scope"`, ""},
		{"401/keyspace mismatch: unknown here", g, "/ks", bearerH(tokOther), 401, CodeInvalidToken, `Bearer error="invalid_token"`, ""},
		{"401/JWT for another keyspace", g, "/ks", bearerH(jwtOther), 401, CodeInvalidToken, `Bearer error="invalid_token"`, ""},
		{"403/IP not allowed by the route", g, "/internal", nil, 403, CodeForbidden, "", ""},
		{"403/IP not allowed by the key", g, "/orders", bearerH(tokBadIP), 403, CodeForbidden, "", ""},
		{"429/rate limited by the key", g, "/orders", bearerH(tokLimited), 429, CodeRateLimited, "", "3"},
		{"429/rate limited by the route", g, "/once", bearerH(tokWriter), 429, CodeRateLimited, "", "3600"},
		{"429/usage exceeded", g, "/orders", bearerH(tokUsage), 429, CodeUsageExceeded, "", "1"},
		{"503/verifier unavailable", g, "/orders", bearerH(tokDown), 503, CodeTemporarilyUnavail, "", "1"},
		{"400/dot-dot segment", g, "/orders/../admin", bearerH(tokReader), 400, CodeInvalidPath, "", ""},
		{"400/dot-dot-semicolon segment", g, "/orders/..;/admin", bearerH(tokReader), 400, CodeInvalidPath, "", ""},
		{"400/double slash", g, "/orders//x", bearerH(tokReader), 400, CodeInvalidPath, "", ""},
		{"404/no route", g, "/nothing", bearerH(tokReader), 404, CodeNoRoute, "", ""},
		{"502/upstream down", down, "/orders", bearerH(tokReader), 502, CodeBadGateway, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.g.up.hits.Load()
			resp, body := do(t, tc.g.URL, "GET", tc.path, tc.headers...)
			wantProblem(t, resp, body, tc.status, tc.code)
			if got := resp.Header.Get("WWW-Authenticate"); got != tc.challenge {
				t.Errorf("WWW-Authenticate %q, want %q", got, tc.challenge)
			}
			if got := resp.Header.Get("Retry-After"); got != tc.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, tc.retryAfter)
			}
			if n := tc.g.up.hits.Load() - before; n != 0 {
				t.Errorf("upstream hit %d times", n)
			}
			for _, leak := range []string{deadAddr, "127.0.0.1", "connection refused", "lk_"} {
				if strings.Contains(body, leak) {
					t.Errorf("body leaks %q: %s", leak, body)
				}
			}
		})
	}
}

func TestProxy_UpstreamTimeout(t *testing.T) {
	release := make(chan struct{})
	g := newGW(t, `routes: [{path: /, anonymous: true}]`, func(o *Options) { o.ResponseHeaderTimeout = 50 * time.Millisecond })
	defer close(release)
	g.up.handler = func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}
	resp, body := do(t, g.URL, "GET", "/slow")
	wantProblem(t, resp, body, http.StatusGatewayTimeout, CodeGatewayTimeout)
}

func TestNew_Invalid(t *testing.T) {
	ok := []Route{{Path: "/", Scopes: []string{"a"}}}
	u := mustURL(t, "http://127.0.0.1:1")
	for name, o := range map[string]Options{
		"no upstream":        {Routes: ok, Verifier: newFakeVerifier()},
		"upstream scheme":    {Upstream: mustURL(t, "ftp://x"), Routes: ok, Verifier: newFakeVerifier()},
		"upstream query":     {Upstream: mustURL(t, "http://x/?a=1"), Routes: ok, Verifier: newFakeVerifier()},
		"no routes":          {Upstream: u, Verifier: newFakeVerifier()},
		"invalid route":      {Upstream: u, Routes: []Route{{Path: "x"}}, Verifier: newFakeVerifier()},
		"no verifier needed": {Upstream: u, Routes: ok},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
	var v verify.Verifier // nil is fine when every route is anonymous
	if _, err := New(Options{Upstream: u, Routes: []Route{{Path: "/", Anonymous: true}}, Verifier: v}); err != nil {
		t.Errorf("anonymous only: %v", err)
	}
}

// TestProxy_PathConfusionRefused: paths that an upstream could read as a
// protected route's while the gateway matched them to another route — path
// parameters, NUL, encoded separators, case changes — are refused without
// reaching the upstream (found by review: "/admin;x" fell through to an
// anonymous "/" route and Tomcat-style servers serve it as /admin).
func TestProxy_PathConfusionRefused(t *testing.T) {
	g := newGW(t, `routes: [{path: /admin, scopes: [admin]}, {path: /, anonymous: true}]`, nil)
	for _, p := range []string{"/admin;x", "/admin;", "/admin%3bx", "/admin%00", "/ADMIN", "/Admin/users", "/admin%2fusers/../x", "/x%2Fadmin"} {
		before := g.up.hits.Load()
		resp, body := do(t, g.URL, "GET", p)
		if resp.StatusCode == 200 || g.up.hits.Load() != before {
			t.Errorf("GET %s without credential: %d %.80q, upstream reached: %v", p, resp.StatusCode, body, g.up.hits.Load() != before)
		}
	}
	if resp, _ := do(t, g.URL, "GET", "/about"); resp.StatusCode != 200 {
		t.Errorf("anonymous route: %d", resp.StatusCode)
	}
}

// TestProxy_KeyspaceRouteJWT: a keyspace route admits a JWT only if its
// audience is that keyspace (found by review: JWTs of any keyspace passed).
func TestProxy_KeyspaceRouteJWT(t *testing.T) {
	g := newGW(t, `routes: [{path: /ks, scopes: [orders:read], keyspace: default}]`, nil)
	if resp, _ := do(t, g.URL, "GET", "/ks", bearerH(jwtDefault)...); resp.StatusCode != 200 {
		t.Errorf("JWT for the keyspace: %d", resp.StatusCode)
	}
	if resp, _ := do(t, g.URL, "GET", "/ks", bearerH(jwtOther)...); resp.StatusCode != 401 {
		t.Errorf("JWT for another keyspace: %d, want 401", resp.StatusCode)
	}
}

// TestProxy_MethodSpellingAndHEAD: a method in another case never skips
// the route its upper-case form names for a weaker catch-all (found by a
// penetration test: "delete /orders/7" fell through to an anonymous route
// and Flask ran it as DELETE), and HEAD is matched as GET, the handler
// upstreams answer it with.
func TestProxy_MethodSpellingAndHEAD(t *testing.T) {
	g := newGW(t, `
routes:
  - {path: /orders, methods: [DELETE], scopes: [orders:delete]}
  - {path: /orders, methods: [GET], scopes: [orders:read]}
  - {path: /, anonymous: true}
`, nil)
	for _, tc := range []struct {
		name, method, path, tok string
		status                  int
		code                    string
	}{
		{"lower-case delete", "delete", "/orders/7", "", 400, CodeInvalidMethod},
		{"mixed-case Delete", "Delete", "/orders/7", "", 400, CodeInvalidMethod},
		{"lower-case get", "get", "/orders/7", "", 400, CodeInvalidMethod},
		{"lower-case on the catch-all too", "post", "/about", "", 400, CodeInvalidMethod},
		{"DELETE needs its scope", "DELETE", "/orders/7", tokReader, 403, CodeInsufficientScope},
		{"HEAD is matched as GET: credential needed", "HEAD", "/orders/7", "", 401, CodeInvalidToken},
		{"HEAD with the GET route's scope", "HEAD", "/orders/7", tokReader, 200, ""},
		{"GET", "GET", "/orders/7", tokReader, 200, ""},
		{"catch-all", "POST", "/about", "", 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := g.up.hits.Load()
			var h []string
			if tc.tok != "" {
				h = bearerH(tc.tok)
			}
			resp, body := do(t, g.URL, tc.method, tc.path, h...)
			if tc.code == "" {
				if resp.StatusCode != tc.status || g.up.hits.Load() != before+1 {
					t.Fatalf("status %d, want %d (upstream hits %d)", resp.StatusCode, tc.status, g.up.hits.Load()-before)
				}
				return
			}
			if tc.method == "HEAD" {
				if resp.StatusCode != tc.status {
					t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
				}
			} else {
				wantProblem(t, resp, body, tc.status, tc.code)
			}
			if g.up.hits.Load() != before {
				t.Error("a refused request reached the upstream")
			}
		})
	}
	if _, err := Parse([]byte(`routes: [{path: /a, methods: [HEAD], scopes: [a]}]`)); err == nil || !strings.Contains(err.Error(), "list GET") {
		t.Errorf("HEAD without GET: %v", err)
	}
}

// TestProxy_TrailingDotOrSpaceRefused: a segment ending in "." or white
// space, which Windows, IIS and ASP.NET drop, never misses a protected
// route for a weaker one (found by a penetration test: "/admin." and
// "/admin%20" reached the upstream by the anonymous catch-all).
func TestProxy_TrailingDotOrSpaceRefused(t *testing.T) {
	g := newGW(t, `routes: [{path: /admin, scopes: [admin]}, {path: /, anonymous: true}]`, nil)
	for _, p := range []string{"/admin.", "/admin%2e", "/admin%2E", "/admin..", "/admin%20", "/admin%09", "/admin%c2%a0",
		"/admin./users", "/admin%20/users", "/x/admin.", "/admin. .", "/admin%2e%2e/"} {
		t.Run(p, func(t *testing.T) {
			before := g.up.hits.Load()
			resp, body := do(t, g.URL, "GET", p)
			wantProblem(t, resp, body, 400, CodeInvalidPath)
			if g.up.hits.Load() != before {
				t.Error("the request reached the upstream")
			}
		})
	}
	for _, p := range []string{"/about", "/files/report.pdf", "/v1.2/x"} {
		if resp, _ := do(t, g.URL, "GET", p); resp.StatusCode != 200 {
			t.Errorf("GET %s: %d, want 200", p, resp.StatusCode)
		}
	}
}

// TestNew_KeyspaceIsAnExplicitChoice: a route that accepts keys needs a
// keyspace, its own or the gateway's; "*" for every keyspace must be
// written (found by a penetration test: an acme_test_ key passed a "live"
// gateway set up like the README example).
func TestNew_KeyspaceIsAnExplicitChoice(t *testing.T) {
	u := mustURL(t, "http://127.0.0.1:1")
	keyed := Route{Path: "/orders", Scopes: []string{"orders:read"}}
	anon := Route{Path: "/public", Anonymous: true}
	for _, tc := range []struct {
		name     string
		routes   []Route
		keyspace string
		ok       bool
	}{
		{"neither", []Route{keyed, anon}, "", false},
		{"the gateway's", []Route{keyed, anon}, "acme_live", true},
		{"every keyspace, explicitly", []Route{keyed}, AnyKeyspace, true},
		{"the route's", []Route{{Path: "/orders", Scopes: []string{"orders:read"}, Keyspace: "acme_live"}}, "", true},
		{"the route's *", []Route{{Path: "/orders", Scopes: []string{"orders:read"}, Keyspace: "*"}}, "", true},
		{"anonymous routes need none", []Route{anon}, "", true},
		{"bad gateway keyspace", []Route{keyed}, "Acme", false},
	} {
		_, err := New(Options{Upstream: u, Routes: tc.routes, Keyspace: tc.keyspace, Verifier: newFakeVerifier()})
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
		if err != nil && !tc.ok && tc.keyspace == "" && !strings.Contains(err.Error(), `"*" accepts keys of every keyspace`) {
			t.Errorf("%s: error %q does not say how to accept every keyspace", tc.name, err)
		}
	}
	// The gateway's keyspace applies to routes without one of their own.
	rs, _ := Parse([]byte(`routes: [{path: /live, scopes: [orders:read]}, {path: /any, scopes: [orders:read], keyspace: "*"}]`))
	g := newGW(t, `routes: [{path: /x, anonymous: true}]`, nil)
	h, err := New(Options{Upstream: mustURL(t, g.up.URL), Routes: rs, Keyspace: "default", Verifier: g.ver})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	for _, tc := range []struct {
		path, tok string
		status    int
	}{{"/live", tokReader, 200}, {"/live", tokOther, 401}, {"/any", tokOther, 200}} {
		if resp, _ := do(t, srv.URL, "GET", tc.path, bearerH(tc.tok)...); resp.StatusCode != tc.status {
			t.Errorf("GET %s with a key of keyspace %s: %d, want %d", tc.path, g.ver.ids[tc.tok].Keyspace, resp.StatusCode, tc.status)
		}
	}
}
