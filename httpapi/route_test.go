package httpapi

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// TestLookupAgreesWithMux: the one-lookup fast path serves exactly the
// requests whose route the ServeMux would pick without path parameters,
// and picks the same route; everything else is left to the mux.
func TestLookupAgreesWithMux(t *testing.T) {
	h := New(Config{})
	var reqs []*http.Request
	for _, p := range h.Routes() {
		method, path, _ := strings.Cut(p, " ")
		concrete := strings.NewReplacer("{id}", "key_x", "{name}", "default").Replace(path)
		for _, m := range []string{method, "GET", "HEAD", "POST", "PATCH", "DELETE", "post", "CONNECT"} {
			for _, u := range []string{concrete, concrete + "/", "/" + concrete, strings.Replace(concrete, "/v1/", "/v1//", 1),
				strings.Replace(concrete, "/v1/", "/v1/./", 1), strings.Replace(concrete, "e", "%65", 1), concrete + "?x=1"} {
				reqs = append(reqs, httptest.NewRequest(m, "http://latchkey.test"+u, nil))
			}
		}
	}
	fast := 0
	for _, r := range reqs {
		got := h.Lookup(r)
		_, want := h.mux.Handler(r)
		wm, wp, _ := strings.Cut(want, " ")
		exact := want != "" && !strings.Contains(wp, "{") && wm == r.Method && wp == r.URL.Path && r.URL.RawPath == ""
		if got == nil {
			if exact {
				t.Errorf("%s %s: Lookup left to the mux a request for %q", r.Method, r.URL, want)
			}
			continue
		}
		fast++
		if !exact || r.Pattern != want {
			t.Errorf("%s %s: Lookup chose %q, the mux %q", r.Method, r.URL, r.Pattern, want)
		}
	}
	if fast == 0 {
		t.Fatal("Lookup served nothing")
	}
}

// TestMiddlewareIDsAndMetrics: every answer carries a request id (the
// client's when it is safe to echo), and requests are counted by route,
// method and status, however many statuses a route answers with.
func TestMiddlewareIDsAndMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := New(Config{Registerer: reg})
	do := func(method, path, id string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, nil)
		if id != "" {
			r.Header.Set("X-Request-Id", id)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	hexID := regexp.MustCompile(`^[0-9a-f]{16}$`)
	seen := map[string]bool{}
	for range 5 {
		w := do("GET", "/healthz", "")
		id := w.Header().Get("X-Request-Id")
		if w.Code != 200 || !hexID.MatchString(id) || seen[id] {
			t.Fatalf("healthz: status %d, request id %q (seen before: %v)", w.Code, id, seen[id])
		}
		seen[id] = true
	}
	if got := do("GET", "/healthz", "client-id.1").Header().Get("X-Request-Id"); got != "client-id.1" {
		t.Fatalf("client request id echoed as %q", got)
	}
	if got := do("GET", "/healthz", "bad id\x7f").Header().Get("X-Request-Id"); !hexID.MatchString(got) {
		t.Fatalf("unsafe client request id replaced by %q", got)
	}
	for range 3 {
		if w := do("POST", "/v1/keys", ""); w.Code != 401 {
			t.Fatalf("POST /v1/keys without credential: %d", w.Code)
		}
	}
	do("POST", "/v1/keys/verify", "")
	do("GET", "/no/such/route", "")
	do("BREW", "/healthz", "")
	count := func(route, method, code string) float64 {
		var m dto.Metric
		if err := h.metrics.requests.WithLabelValues(route, method, code).Write(&m); err != nil {
			t.Fatal(err)
		}
		return m.GetCounter().GetValue()
	}
	for _, c := range []struct {
		route, method, code string
		want                float64
	}{
		{"GET /healthz", "GET", "200", 7},
		{"POST /v1/keys", "POST", "401", 3},
		{"POST /v1/keys/verify", "POST", "401", 1},
		{"unmatched", "GET", "404", 1},
		{"unmatched", "OTHER", "405", 1},
		{"POST /v1/keys", "POST", "200", 0},
	} {
		if got := count(c.route, c.method, c.code); got != c.want {
			t.Errorf("requests{route=%q,method=%q,code=%s} = %v, want %v", c.route, c.method, c.code, got, c.want)
		}
	}
}
