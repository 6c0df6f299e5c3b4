package proxy

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestRoutes_Parse(t *testing.T) {
	rs, err := Parse([]byte(`
routes:
  - path: /orders
    methods: [GET, POST]
    scope: orders:read AND (billing:read OR admin)
    keyspace: shop
    api_key_header: true
    rate_limits:
      - {name: burst, limit: 10, window: 1s}
      - {name: daily, limit: 10000, window: 24h}
    ip_allow: [10.0.0.0/8, "::ffff:192.0.2.1", 2001:db8::/32]
  - path: /
    anonymous: true
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Route{{
		Path: "/orders", Methods: []string{"GET", "POST"}, Scope: "orders:read AND (billing:read OR admin)",
		Keyspace: "shop", APIKeyHeader: true,
		RateLimits: []RateLimit{{"burst", 10, "1s"}, {"daily", 10000, "24h"}},
		IPAllow:    []string{"10.0.0.0/8", "::ffff:192.0.2.1", "2001:db8::/32"},
	}, {Path: "/", Anonymous: true}}
	if !reflect.DeepEqual(rs, want) {
		t.Fatalf("got %+v\nwant %+v", rs, want)
	}
	c, err := compile(&rs[0])
	if err != nil {
		t.Fatal(err)
	}
	if !allowedIP(c.ipAllow, "192.0.2.1") || !allowedIP(c.ipAllow, "::ffff:10.1.2.3") || allowedIP(c.ipAllow, "192.0.2.2") {
		t.Error("ip_allow does not normalize IPv4-mapped addresses")
	}

	dir := t.TempDir()
	p := filepath.Join(dir, "routes.yaml")
	if err := os.WriteFile(p, []byte("routes: [{path: /x, scopes: [a]}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if rs, err := Load(p); err != nil || len(rs) != 1 {
		t.Errorf("Load: %v, %v", rs, err)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("Load of a missing file succeeded")
	}
}

func TestRoutes_Invalid(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string // substrings of the error
	}{
		{"unknown field", "routes:\n  - path: /a\n    scope: a\n    scopse: [a]\n", []string{"line 4", "scopse"}},
		{"unknown top-level field", "routes: [{path: /a, scopes: [a]}]\nupstream: http://x\n", []string{"line 2", "upstream"}},
		{"empty file", "", []string{"empty"}},
		{"no routes", "routes: []\n", []string{"no routes"}},
		{"two documents", "routes: [{path: /a, scopes: [a]}]\n---\nroutes: []\n", []string{"more than one"}},
		{"not YAML", "routes: [\n", []string{"YAML"}},
		{"wrong type", "routes: {path: /a}\n", []string{"line 1"}},
		{"empty path", "routes:\n  - scopes: [a]\n", []string{"line 2", "route 1", "path is empty"}},
		{"path without leading slash", "routes:\n  - {path: /ok, scopes: [a]}\n  - {path: orders, scopes: [a]}\n", []string{"line 3", "route 2", `must start with "/"`}},
		{"path with trailing slash", "routes: [{path: /orders/, scopes: [a]}]", []string{`write "/orders"`}},
		{"path with dot-dot", "routes: [{path: /a/../b, scopes: [a]}]", []string{"not clean"}},
		{"path with query", "routes: [{path: '/a?x=1', scopes: [a]}]", []string{`"?"`}},
		{"path with space", "routes: [{path: '/a b', scopes: [a]}]", []string{"space"}},
		{"lower-case method", "routes: [{path: /a, methods: [get], scopes: [a]}]", []string{"methods[0]", "upper case"}},
		{"bad method", "routes: [{path: /a, methods: [GET, 'PO ST'], scopes: [a]}]", []string{"methods[1]", "not an HTTP method"}},
		{"empty method", "routes: [{path: /a, methods: [''], scopes: [a]}]", []string{"methods[0]"}},
		{"bad scope", "routes: [{path: /a, scopes: [Orders:read]}]", []string{"scopes[0]", "uppercase"}},
		{"bare wildcard scope", "routes: [{path: /a, scopes: ['*']}]", []string{"scopes[0]"}},
		{"bad expression", "routes: [{path: /a, scope: 'a AND (b OR'}]", []string{"scope expression"}},
		{"negative expression", "routes: [{path: /a, scope: 'a AND NOT b'}]", []string{"scope expression"}},
		{"scopes and scope both set", "routes: [{path: /a, scopes: [a], scope: b}]", []string{`"scopes" and "scope" are both set`}},
		{"anonymous with scopes", "routes: [{path: /a, anonymous: true, scopes: [a]}]", []string{"anonymous"}},
		{"bad keyspace", "routes: [{path: /a, scopes: [a], keyspace: Shop}]", []string{"keyspace"}},
		{"bad rate limit window", "routes: [{path: /a, scopes: [a], rate_limits: [{name: r, limit: 1, window: soon}]}]", []string{"rate_limits[0]", "window"}},
		{"rate limit window too short", "routes: [{path: /a, scopes: [a], rate_limits: [{name: r, limit: 1, window: 1ms}]}]", []string{"rate_limits[0]", "window"}},
		{"rate limit zero", "routes: [{path: /a, scopes: [a], rate_limits: [{name: r, limit: 0, window: 1m}]}]", []string{"rate_limits[0]"}},
		{"rate limit bad name", "routes: [{path: /a, scopes: [a], rate_limits: [{name: R!, limit: 1, window: 1m}]}]", []string{"rate_limits[0]", "name"}},
		{"rate limit duplicate name", "routes: [{path: /a, scopes: [a], rate_limits: [{name: r, limit: 1, window: 1m}, {name: r, limit: 2, window: 1h}]}]", []string{"rate_limits[1]", "twice"}},
		{"rate limit as a string", "routes: [{path: /a, scopes: [a], rate_limits: [100/1m]}]", []string{"line 1"}},
		{"bad ip_allow", "routes: [{path: /a, anonymous: true, ip_allow: [10.0.0.0/33]}]", []string{"ip_allow[0]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml))
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		p, prefix string
		want      bool
	}{
		{"/orders", "/orders", true},
		{"/orders/", "/orders", true},
		{"/orders/1", "/orders", true},
		{"/ordersX", "/orders", false},
		{"/order", "/orders", false},
		{"/", "/", true},
		{"/anything", "/", true},
		{"/a/b/c", "/a/b", true},
		{"/a/bc", "/a/b", false},
	} {
		if got := underPrefix(tc.p, tc.prefix); got != tc.want {
			t.Errorf("underPrefix(%q, %q) = %v", tc.p, tc.prefix, got)
		}
	}
	for p, want := range map[string]bool{
		"/a": true, "/a/b.c": true, "/a/...": false, "/a./b": false, "/a /b": false, "/a\u00a0": false, "/v1.2/x": true, "/a/": true, "/a%20b": true,
		"": false, "a": false, "/a/../b": false, "/a/./b": false, "/..": false, "/a/..;x/b": false,
		"/a//b": false, `/a\..\b`: false,
		// Path parameters, NUL and control characters (security review).
		"/admin;x": false, "/admin;": false, "/a;v=1/b": false, "/admin\x00": false, "/admin\n": false, "/a\x7f": false,
	} {
		if got := safePath(p, ""); got != want {
			t.Errorf("safePath(%q) = %v", p, got)
		}
	}
	for raw, want := range map[string]bool{"/admin%3bx": false, "/a%2Fb": false, "/a%5cb": false, "/a%20b": true} {
		if got := safePath("/decoded", raw); got != want {
			t.Errorf("safePath(raw %q) = %v", raw, got)
		}
	}
}

func FuzzParseRoutes(f *testing.F) {
	for _, s := range []string{
		`routes: [{path: /orders, methods: [GET], scopes: [orders:read]}, {path: /public, anonymous: true}]`,
		"routes:\n  - path: /a\n    scope: a AND (b OR c)\n    rate_limits: [{name: r, limit: 1, window: 1m}]\n    ip_allow: [10.0.0.0/8]\n",
		"routes: [{path: /a, unknown: 1}]",
		"routes: &a [*a]",
		"a: &a [*a, *a, *a]\nb: &b [*a, *a, *a]\nroutes: [*b, *b]",
		"routes: [{path: !!binary aGk=}]",
		"---\n---\n",
		"\t",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		rs, err := Parse(b)
		if err != nil {
			return
		}
		if len(rs) == 0 {
			t.Fatal("Parse returned no routes and no error")
		}
		for i := range rs {
			c, err := compile(&rs[i])
			if err != nil {
				t.Fatalf("route %d validated by Parse but not by compile: %v", i, err)
			}
			if !underPrefix(c.path, c.path) {
				t.Fatalf("route %q does not match its own path", c.path)
			}
		}
	})
}

// TestRoutes_ErrorsAsWritten: route file errors name the file, the line
// and the field as the user wrote them, once (found by a new user:
// "proxy: proxy: routes: … field method not found in type proxy.Route").
func TestRoutes_ErrorsAsWritten(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, yaml, want string }{
		{"typo", "routes:\n  - path: /orders\n    method: [GET]\n    scopes: [a]\n", `routes.yaml:3: unknown field "method" (did you mean "methods"?)`},
		{"typo in a rate limit", "routes:\n  - path: /orders\n    scopes: [a]\n    rate_limits: [{name: r, limit: 1, windw: 1m}]\n", `routes.yaml:4: unknown field "windw" (did you mean "window"?)`},
		{"unknown top-level field", "routes: [{path: /a, scopes: [a]}]\nupstream: http://x\n", `routes.yaml:2: unknown field "upstream" (known: routes)`},
		{"wrong type", "routes: {path: /a}\n", "routes.yaml:1: cannot read a mapping into a list of routes"},
		{"invalid route", "routes:\n  - {path: /ok, scopes: [a]}\n  - {path: orders, scopes: [a]}\n", `routes.yaml:3: route 2 ("orders"): path must start with "/"`},
		{"not YAML", "routes: [\n", "routes.yaml:"},
		{"empty", "", "routes.yaml: empty file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, "routes.yaml")
			if err := os.WriteFile(p, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(p)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			got := strings.TrimPrefix(err.Error(), dir+string(filepath.Separator))
			if !strings.HasPrefix(got, tc.want) {
				t.Errorf("error %q, want %q", got, tc.want)
			}
			if strings.Contains(got, "proxy") || strings.Contains(got, "not found in type") {
				t.Errorf("error %q names Go types or packages", got)
			}
		})
	}
}
