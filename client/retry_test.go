package client_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/client"
)

// TestRetriesOutcomeUnknownWithTheSameIdempotencyKey: a rotate answered
// 503 outcome_unknown, a dropped connection, then 409
// idempotency_in_progress is retried with the key of the first try until
// the answer comes.
func TestRetriesOutcomeUnknownWithTheSameIdempotencyKey(t *testing.T) {
	var mu sync.Mutex
	var keys []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		n := len(keys)
		mu.Unlock()
		switch n {
		case 1:
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(503)
			w.Write([]byte(`{"status":503,"code":"outcome_unknown","detail":"retry with the same Idempotency-Key"}`))
		case 2:
			c, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				c.Close() // the answer is lost on the way
			}
		case 3:
			w.WriteHeader(409)
			w.Write([]byte(`{"status":409,"code":"idempotency_in_progress"}`))
		default:
			w.WriteHeader(201)
			w.Write([]byte(`{"id":"k2","key":"lk_new","previous":{"id":"k1"}}`))
		}
	}))
	defer srv.Close()
	c, err := client.New(srv.URL, testToken, client.WithRetries(5, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.RotateKey(context.Background(), "k1", 0)
	if err != nil {
		t.Fatalf("RotateKey: %v", err)
	}
	if got.Secret != "lk_new" {
		t.Errorf("secret = %q, want the server's answer", got.Secret)
	}
	if len(keys) != 4 {
		t.Fatalf("%d requests, want 4", len(keys))
	}
	for i, k := range keys {
		if k == "" || k != keys[0] {
			t.Errorf("try %d sent Idempotency-Key %q, want the first try's %q", i+1, k, keys[0])
		}
	}
}

// TestDoesNotRetryOtherErrorsOrPlainCalls: a 409 key_revoked is final, and
// a call that is not create-like (a PATCH) is sent once even after a 503.
func TestDoesNotRetryOtherErrorsOrPlainCalls(t *testing.T) {
	for _, tt := range []struct {
		name   string
		status int
		body   string
		call   func(c *client.Client) error
	}{
		{"409 key_revoked", 409, `{"code":"key_revoked"}`, func(c *client.Client) error {
			_, err := c.RotateKey(context.Background(), "k1", 0)
			return err
		}},
		{"503 on update", 503, `{"code":"unavailable"}`, func(c *client.Client) error {
			_, err := c.UpdateKey(context.Background(), "k1", api.UpdateKeyRequest{Name: new("x")})
			return err
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var n int
			var mu sync.Mutex
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				n++
				mu.Unlock()
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			c, _ := client.New(srv.URL, testToken, client.WithRetries(5, time.Millisecond))
			if err := tt.call(c); err == nil {
				t.Fatal("call succeeded, want the error")
			}
			if n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
		})
	}
}
