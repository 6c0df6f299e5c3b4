package verify

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/client"
)

// fakeLatchkey answers POST /v1/keys/verify from a table of keys.
type fakeLatchkey struct {
	*httptest.Server
	calls atomic.Int64
	mu    sync.Mutex
	keys  map[string]api.VerifyResponse
	fail  bool
	last  api.VerifyRequest
}

func newFakeLatchkey(t *testing.T) *fakeLatchkey {
	t.Helper()
	f := &fakeLatchkey{keys: map[string]api.VerifyResponse{}}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		if r.Method != http.MethodPost || r.URL.Path != "/v1/keys/verify" {
			http.NotFound(w, r)
			return
		}
		var req api.VerifyRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, "bad json", http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		f.last = req
		if f.fail {
			http.Error(w, `{"error":{"code":"internal","message":"boom"}}`, http.StatusInternalServerError)
			return
		}
		resp, ok := f.keys[req.Key]
		if !ok {
			resp = api.VerifyResponse{Code: "NOT_FOUND"}
		}
		if resp.Valid {
			if _, missing := missingScope(resp.Scopes, req.Scopes); missing {
				resp = api.VerifyResponse{Code: "INSUFFICIENT_SCOPE", KeyID: resp.KeyID}
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(resp)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeLatchkey) set(key string, r api.VerifyResponse) {
	f.mu.Lock()
	f.keys[key] = r
	f.mu.Unlock()
}

func (f *fakeLatchkey) setFail(b bool) {
	f.mu.Lock()
	f.fail = b
	f.mu.Unlock()
}

func newOpaque(t *testing.T, f *fakeLatchkey, c *clock, opts OpaqueOptions) *Opaque {
	t.Helper()
	cl, err := client.New(f.URL, "lk_root_verifier")
	if err != nil {
		t.Fatal(err)
	}
	o := NewOpaque(cl, opts)
	o.now = c.Now
	return o
}

func valid(id string, scopes ...string) api.VerifyResponse {
	return api.VerifyResponse{Valid: true, Code: "VALID", KeyID: id, Keyspace: "payments",
		Owner: &api.Owner{Type: "user", ID: "alice"}, Scopes: scopes}
}

func TestOpaqueCachesValidAnswers(t *testing.T) {
	f := newFakeLatchkey(t)
	f.set("sk_good", valid("key_1", "orders:read"))
	c := &clock{t: t0}
	o := newOpaque(t, f, c, OpaqueOptions{Keyspace: "payments"})
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		r, err := o.Verify(ctx, "sk_good", "orders:read")
		if err != nil || !r.Valid || r.KeyID != "key_1" {
			t.Fatalf("Verify = %+v, %v", r, err)
		}
	}
	if n := f.calls.Load(); n != 1 {
		t.Fatalf("%d calls, want 1 (cached)", n)
	}
	if f.last.Keyspace != "payments" || len(f.last.Scopes) != 1 {
		t.Fatalf("request = %+v", f.last)
	}
	// Different scopes are a different question.
	if _, err := o.Verify(ctx, "sk_good"); err != nil {
		t.Fatal(err)
	}
	if n := f.calls.Load(); n != 2 {
		t.Fatalf("%d calls, want 2", n)
	}
	// After CacheTTL the server is asked again.
	c.Add(DefaultCacheTTL)
	if _, err := o.Verify(ctx, "sk_good", "orders:read"); err != nil {
		t.Fatal(err)
	}
	if n := f.calls.Load(); n != 3 {
		t.Fatalf("%d calls after TTL, want 3", n)
	}
	// The cache never holds the plaintext key.
	o.mu.Lock()
	for k := range o.cache {
		if strings.Contains(string(k.hash[:]), "sk_good") || strings.Contains(k.scopes, "sk_good") {
			t.Error("plaintext key in cache")
		}
	}
	o.mu.Unlock()
}

func TestOpaqueNeverCachesNegativesOrErrors(t *testing.T) {
	f := newFakeLatchkey(t)
	c := &clock{t: t0}
	o := newOpaque(t, f, c, OpaqueOptions{})
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		r, err := o.Verify(ctx, "sk_unknown")
		if err != nil || r.Valid || r.Code != "NOT_FOUND" {
			t.Fatalf("Verify = %+v, %v", r, err)
		}
	}
	if n := f.calls.Load(); n != 3 {
		t.Fatalf("%d calls, want 3", n)
	}
	f.setFail(true)
	if _, err := o.Verify(ctx, "sk_x"); err == nil {
		t.Fatal("server error is not an error")
	}
	if _, err := o.Check(ctx, "sk_x", nil); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Check = %v, want ErrUnavailable", err)
	}
	f.setFail(false)
	f.set("sk_x", valid("key_x"))
	if r, err := o.Verify(ctx, "sk_x"); err != nil || !r.Valid {
		t.Fatalf("after recovery: %+v %v", r, err)
	}
}

func TestOpaqueDoesNotCacheMeteredKeys(t *testing.T) {
	f := newFakeLatchkey(t)
	limited := valid("key_l")
	limited.RateLimits = []api.RateLimitState{{Name: "requests", Limit: 10, Remaining: 9, Reset: t0.UnixMilli(), Window: "1m0s"}}
	f.set("sk_limited", limited)
	credits := valid("key_c")
	n := int64(5)
	credits.Remaining = &n
	f.set("sk_credits", credits)
	o := newOpaque(t, f, &clock{t: t0}, OpaqueOptions{})
	for i := 0; i < 2; i++ {
		for _, k := range []string{"sk_limited", "sk_credits"} {
			if _, err := o.Verify(context.Background(), k); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := f.calls.Load(); got != 4 {
		t.Fatalf("%d calls, want 4", got)
	}
}

func TestOpaqueCacheBoundsAndExpiry(t *testing.T) {
	f := newFakeLatchkey(t)
	c := &clock{t: t0}
	soon := valid("key_soon")
	exp := t0.Add(time.Second)
	soon.ExpiresAt = &exp
	f.set("sk_soon", soon)
	for _, k := range []string{"a", "b", "c", "d"} {
		f.set(k, valid(k))
	}
	o := newOpaque(t, f, c, OpaqueOptions{MaxEntries: 2, CacheTTL: time.Minute})
	ctx := context.Background()
	for _, k := range []string{"a", "b", "c", "d"} {
		if _, err := o.Verify(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	o.mu.Lock()
	size := len(o.cache)
	o.mu.Unlock()
	if size > 2 {
		t.Fatalf("cache has %d entries, max 2", size)
	}
	// A cached answer never outlives the key.
	_, _ = o.Verify(ctx, "sk_soon")
	c.Add(time.Second)
	before := f.calls.Load()
	_, _ = o.Verify(ctx, "sk_soon")
	if f.calls.Load() != before+1 {
		t.Fatal("answer cached past the key's expiry")
	}
}

func TestOpaqueCheck(t *testing.T) {
	f := newFakeLatchkey(t)
	f.set("sk_good", valid("key_1", "orders:*"))
	f.set("sk_revoked", api.VerifyResponse{Code: "REVOKED"})
	limited := api.VerifyResponse{Code: "RATE_LIMITED", KeyID: "key_2",
		RateLimits: []api.RateLimitState{{Name: "requests", Limit: 10, Remaining: 0, Reset: t0.Add(time.Minute).UnixMilli(), Window: "1m0s"}}}
	f.set("sk_limited", limited)
	o := newOpaque(t, f, &clock{t: t0}, OpaqueOptions{})
	ctx := context.Background()

	id, err := o.Check(ctx, "sk_good", []string{"orders:read"})
	if err != nil || id.KeyID != "key_1" || id.Subject != "user:alice" || id.Keyspace != "payments" || id.Owner.ID != "alice" {
		t.Fatalf("Check = %+v, %v", id, err)
	}
	if _, err := o.Check(ctx, "sk_good", []string{"billing:read"}); !errors.Is(err, ErrInsufficientScope) {
		t.Fatalf("missing scope: %v", err)
	}
	if _, err := o.Check(ctx, "sk_revoked", nil); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("revoked: %v", err)
	}
	_, err = o.Check(ctx, "sk_limited", nil)
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrRateLimited) || len(e.RateLimits) != 1 {
		t.Fatalf("rate limited: %v", err)
	}
	// GCRA: one unit fits at Reset + Window/Limit - Window = t0 + 6s.
	if e.RetryAfter != 6*time.Second {
		t.Fatalf("RetryAfter = %v, want 6s", e.RetryAfter)
	}
	if strings.Contains(err.Error(), "sk_limited") {
		t.Fatal("error echoes the key")
	}
	if _, err := o.Check(ctx, "", nil); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("empty: %v", err)
	}
}
