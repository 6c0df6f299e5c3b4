package server

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/latchkey/latchkey/httpapi"
)

// TestFrontRoutesLikeTheMux: the server's front handler serves the API's
// parameterless routes directly and everything else through its mux, as
// the mux alone did: /metrics, redirects of unclean paths, the API's other
// routes and its 404s; every answer carries the security headers.
func TestFrontRoutesLikeTheMux(t *testing.T) {
	api := httpapi.New(httpapi.Config{})
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(299) }))
	mux.Handle("/", api)
	for _, tls := range []bool{false, true} {
		h := securityHeaders(front(api, mux), tls)
		old := securityHeaders(mux, tls) // the chain before front
		for _, c := range []struct {
			method, path string
			status       int
		}{
			{"GET", "/healthz", 200},
			{"GET", "/metrics", 299},
			{"HEAD", "/metrics", 299},
			{"GET", "//metrics", http.StatusTemporaryRedirect},
			{"GET", "/v1//keys", http.StatusTemporaryRedirect},
			{"POST", "/v1/keys/verify", 401},
			{"GET", "/v1/keys/key_x", 401},
			{"GET", "/v1/nothing", 404},
			{"PUT", "/v1/keys/verify", 405},
		} {
			w, o := httptest.NewRecorder(), httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(c.method, c.path, nil))
			old.ServeHTTP(o, httptest.NewRequest(c.method, c.path, nil))
			if w.Code != c.status || o.Code != c.status || w.Header().Get("Location") != o.Header().Get("Location") {
				t.Errorf("%s %s: status %d (Location %q), the mux alone %d (%q), want %d", c.method, c.path,
					w.Code, w.Header().Get("Location"), o.Code, o.Header().Get("Location"), c.status)
			}
			if got := w.Header().Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("%s %s: X-Content-Type-Options %q", c.method, c.path, got)
			}
			if got := w.Header().Get("Strict-Transport-Security"); (got != "") != tls {
				t.Errorf("%s %s (tls %v): Strict-Transport-Security %q", c.method, c.path, tls, got)
			}
		}
	}
}
