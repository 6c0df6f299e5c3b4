package verify

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/latchkey/latchkey/api"
)

// echoIdentity is a handler that reports the identity it was given.
var echoIdentity = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	id := FromContext(r.Context())
	if id == nil {
		http.Error(w, "no identity", http.StatusInternalServerError)
		return
	}
	_, _ = io.WriteString(w, id.KeyID+" "+id.Subject)
})

func serve(h http.Handler, target string, headers ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Add(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestMiddlewareOpaque(t *testing.T) {
	f := newFakeLatchkey(t)
	good := valid("key_1", "orders:read")
	good.RateLimits = []api.RateLimitState{{Name: "requests", Limit: 100, Remaining: 42, Reset: t0.Add(18 * time.Second).UnixMilli(), Window: "1m0s"}}
	f.set("sk_good", good)
	f.set("sk_noscope", valid("key_2", "billing:read"))
	f.set("sk_revoked", api.VerifyResponse{Code: "REVOKED"})
	f.set("sk_limited", api.VerifyResponse{Code: "RATE_LIMITED", RateLimits: []api.RateLimitState{
		{Name: "requests", Limit: 10, Remaining: 0, Reset: t0.Add(time.Minute).UnixMilli(), Window: "1m0s"}}})
	c := &clock{t: t0}
	o := newOpaque(t, f, c, OpaqueOptions{})

	var logs bytes.Buffer
	log.SetOutput(&logs)
	defer log.SetOutput(os.Stderr)

	h := Middleware(o, MiddlewareOptions{Scopes: []string{"orders:read"}, Now: c.Now})(echoIdentity)
	for _, tc := range []struct {
		name    string
		target  string
		headers []string
		status  int
		check   func(t *testing.T, w *httptest.ResponseRecorder)
	}{
		{"200/valid", "/", []string{"Authorization", "Bearer sk_good"}, 200, func(t *testing.T, w *httptest.ResponseRecorder) {
			if w.Body.String() != "key_1 user:alice" {
				t.Errorf("body %q", w.Body)
			}
			if w.Header().Get("X-RateLimit-Remaining") != "42" || w.Header().Get("RateLimit") != `"requests";r=42;t=18` {
				t.Errorf("rate-limit headers %v", w.Header())
			}
		}},
		{"200/lower-case scheme", "/", []string{"Authorization", "bearer sk_good"}, 200, nil},
		{"401/missing", "/", nil, 401, nil},
		{"401/query string ignored", "/?access_token=sk_good", nil, 401, nil},
		{"401/basic", "/", []string{"Authorization", "Basic c2tfZ29vZDo="}, 401, nil},
		{"401/two headers", "/", []string{"Authorization", "Bearer sk_good", "Authorization", "Bearer sk_good"}, 401, nil},
		{"401/revoked", "/", []string{"Authorization", "Bearer sk_revoked"}, 401, nil},
		{"401/oversized", "/", []string{"Authorization", "Bearer " + strings.Repeat(".", 1<<20)}, 401, nil},
		{"403/insufficient scope", "/", []string{"Authorization", "Bearer sk_noscope"}, 403, func(t *testing.T, w *httptest.ResponseRecorder) {
			if !strings.Contains(w.Body.String(), "insufficient_scope") {
				t.Errorf("body %q", w.Body)
			}
		}},
		{"429/rate limited", "/", []string{"Authorization", "Bearer sk_limited"}, 429, func(t *testing.T, w *httptest.ResponseRecorder) {
			if w.Header().Get("Retry-After") != "6" || w.Header().Get("X-RateLimit-Remaining") != "0" {
				t.Errorf("headers %v", w.Header())
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := serve(h, tc.target, tc.headers...)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if tc.status == 401 && w.Header().Get("WWW-Authenticate") != `Bearer error="invalid_token"` {
				t.Errorf("WWW-Authenticate %q", w.Header().Get("WWW-Authenticate"))
			}
			if tc.check != nil {
				tc.check(t, w)
			}
			if strings.Contains(w.Body.String(), "sk_") && tc.status != 200 {
				t.Errorf("response echoes the key: %q", w.Body)
			}
		})
	}
	if strings.Contains(logs.String(), "sk_") {
		t.Errorf("key logged: %q", logs.String())
	}

	f.setFail(true)
	if w := serve(h, "/", "Authorization", "Bearer sk_other"); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("server down: status %d", w.Code)
	}
}

func TestMiddlewareJWT(t *testing.T) {
	k := newTestKey(t, "k1", jose.EdDSA)
	s := newJWKSServer(t, k)
	c := &clock{t: t0}
	v := newVerifier(t, s.URL, c)
	var called bool
	custom := func(w http.ResponseWriter, r *http.Request, status int, code string) {
		called = true
		w.WriteHeader(status)
		_, _ = io.WriteString(w, "custom "+code)
	}
	h := Middleware(v, MiddlewareOptions{Scopes: []string{"billing:refund"}, OnError: custom})(echoIdentity)

	w := serve(h, "/", "Authorization", "Bearer "+mint(t, k, claims(t0), nil))
	if w.Code != 200 || w.Body.String() != "key_1 user:alice" {
		t.Fatalf("valid JWT: %d %q", w.Code, w.Body)
	}
	cl := claims(t0)
	cl["scope"] = "orders:read"
	if w := serve(h, "/", "Authorization", "Bearer "+mint(t, k, cl, nil)); w.Code != 403 || w.Body.String() != "custom insufficient_scope" {
		t.Fatalf("no scope: %d %q", w.Code, w.Body)
	}
	cl = claims(t0)
	cl["aud"] = "other"
	w = serve(h, "/", "Authorization", "Bearer "+mint(t, k, cl, nil))
	if w.Code != 401 || !called || w.Header().Get("WWW-Authenticate") != `Bearer error="invalid_token"` {
		t.Fatalf("wrong aud: %d %v", w.Code, w.Header())
	}
}

func TestFromContextEmpty(t *testing.T) {
	if FromContext(context.Background()) != nil {
		t.Fatal("identity in empty context")
	}
}

// countingVerifier counts the credentials that reach it.
type countingVerifier struct{ n int }

func (c *countingVerifier) Check(context.Context, string, []string) (*Identity, error) {
	c.n++
	return nil, invalid("test")
}

// TestSEC_JWT09_OversizedBearerRefusedAtHTTPLayer: 1 MiB of '.' or of
// base64 in Authorization is refused by the middleware with 401 before any
// verifier sees (and could split or decode) it, with bounded allocation.
func TestSEC_JWT09_OversizedBearerRefusedAtHTTPLayer(t *testing.T) {
	cv := &countingVerifier{}
	h := Middleware(cv, MiddlewareOptions{})(echoIdentity)
	for name, tok := range map[string]string{
		"dots":   strings.Repeat(".", 1<<20),
		"base64": strings.Repeat("eyJh", 1<<18),
		"8KiB+1": strings.Repeat("a", MaxTokenSize+1),
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		allocs := testing.AllocsPerRun(5, func() {
			w = httptest.NewRecorder()
			h.ServeHTTP(w, r)
		})
		if w.Code != http.StatusUnauthorized || cv.n != 0 {
			t.Errorf("%s: status %d, verifier called %d times; want 401 before the verifier", name, w.Code, cv.n)
		}
		if allocs > 40 {
			t.Errorf("%s: %v allocations per refusal: the token is being processed", name, allocs)
		}
	}
}
