package leak

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestLeak_GitHubKeysRefetchAtMostOnceAMinute: an unknown identifier
// fetches the list again only when the last fetch is a minute old; a key
// added to the list meanwhile is found after that minute.
func TestLeak_GitHubKeysRefetchAtMostOnceAMinute(t *testing.T) {
	k1, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	entry := func(id string, k *ecdsa.PrivateKey) map[string]any {
		der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
		return map[string]any{"key_identifier": id, "key": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), "is_current": true}
	}
	var fetches atomic.Int32
	var second atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		keys := []map[string]any{entry("one", k1)}
		if second.Load() {
			keys = append(keys, entry("two", k2))
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"public_keys": keys})
	}))
	defer srv.Close()
	now := time.Unix(1_800_000_000, 0)
	g := NewGitHubKeys(srv.URL, true)
	g.now = func() time.Time { return now }
	body := []byte(`[]`)
	sig := func(k *ecdsa.PrivateKey) string {
		sum := sha256.Sum256(body)
		s, _ := ecdsa.SignASN1(rand.Reader, k, sum[:])
		return b64(s)
	}
	ctx := context.Background()
	if err := g.Verify(ctx, "one", sig(k1), body); err != nil {
		t.Fatalf("key one: %v", err)
	}
	second.Store(true) // GitHub publishes key two
	for range 5 {
		if err := g.Verify(ctx, "two", sig(k2), body); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("key two within the minute: %v", err)
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Fatalf("%d fetches within a minute, want 1", n)
	}
	now = now.Add(GitHubRefetchInterval)
	if err := g.Verify(ctx, "two", sig(k2), body); err != nil {
		t.Fatalf("key two a minute later: %v", err)
	}
	if err := g.Verify(ctx, "one", sig(k2), body); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("key one with key two's signature: %v", err)
	}
	if n := fetches.Load(); n != 2 {
		t.Errorf("%d fetches, want 2", n)
	}
}

// TestLeak_GitHubKeysThroughOutboundGuard: without allowing private
// addresses, the key list on loopback is refused by the address guard.
func TestLeak_GitHubKeysThroughOutboundGuard(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("the guard let a loopback fetch through")
	}))
	defer srv.Close()
	g := NewGitHubKeys(srv.URL, false)
	err := g.Verify(context.Background(), "one", b64([]byte("x")), []byte(`[]`))
	if err == nil || errors.Is(err, ErrBadSignature) {
		t.Fatalf("fetch from loopback: %v", err)
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// TestLeak_GitHubKeysFetchSurvivesCaller: a caller that hangs up (its
// context cancelled) does not cancel the key list's fetch, and a failed
// fetch may be retried after seconds, not a minute, so one bad alert
// cannot keep genuine ones failing.
func TestLeak_GitHubKeysFetchSurvivesCaller(t *testing.T) {
	k1, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&k1.PublicKey)
	var fail atomic.Bool
	fail.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail.Load() {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"public_keys": []map[string]any{{"key_identifier": "one",
			"key": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), "is_current": true}}})
	}))
	defer srv.Close()
	now := time.Unix(1_800_000_000, 0)
	g := NewGitHubKeys(srv.URL, true)
	g.now = func() time.Time { return now }
	body := []byte(`[]`)
	sum := sha256.Sum256(body)
	s, _ := ecdsa.SignASN1(rand.Reader, k1, sum[:])
	if err := g.Verify(context.Background(), "one", b64(s), body); err == nil {
		t.Fatal("verified against a key list that failed to load")
	}
	fail.Store(false)
	now = now.Add(githubRetryAfterFailure)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.Verify(cancelled, "one", b64(s), body); err != nil {
		t.Fatalf("a genuine alert %v after a failed fetch, with its caller gone: %v", githubRetryAfterFailure, err)
	}
}
