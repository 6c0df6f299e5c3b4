package client_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/dpop"
)

// TestDPoPTransport_NonceRetry: against a server that demands its nonce,
// the transport retries once with it (the body sent again), keeps it for
// the next request, hashes the DPoP token in ath, and signs proofs that
// the server-side verifier accepts under the key's thumbprint.
func TestDPoPTransport_NonceRetry(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jkt, err := client.DPoPThumbprint(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]bool{}
	checker := &dpop.Checker{NonceKey: []byte("server secret"), RequireNonce: true,
		Replay: func(_ context.Context, jkt, id string, _ time.Time) (bool, error) {
			mu.Lock()
			defer mu.Unlock()
			fresh := !seen[jkt+id]
			seen[jkt+id] = true
			return fresh, nil
		}}
	var calls, bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		calls = append(calls, r.Method)
		bodies = append(bodies, string(b))
		mu.Unlock()
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "DPoP ")
		p, err := checker.Check(r.Context(), dpop.Request{Proof: r.Header.Get("DPoP"), Method: r.Method,
			URL: "http://" + r.Host + r.URL.Path, AccessToken: tok, JKT: jkt})
		switch {
		case err == dpop.ErrUseNonce:
			w.Header().Set("DPoP-Nonce", checker.Nonce())
			w.Header().Set("WWW-Authenticate", `DPoP error="use_dpop_nonce"`)
			w.WriteHeader(401)
		case err != nil:
			w.WriteHeader(403)
			io.WriteString(w, err.Error())
		default:
			io.WriteString(w, p.JKT)
		}
	}))
	defer srv.Close()
	hc := &http.Client{Transport: &client.DPoPTransport{Key: k, Token: "default_abc"}}
	resp, err := hc.Post(srv.URL+"/orders?x=1", "text/plain", strings.NewReader("the body"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != jkt {
		t.Fatalf("first request: %d %s", resp.StatusCode, b)
	}
	if len(calls) != 2 || bodies[0] != "the body" || bodies[1] != "the body" {
		t.Fatalf("calls %v bodies %q, want one retry with the body", calls, bodies)
	}
	resp, err = hc.Get(srv.URL + "/orders")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || len(calls) != 3 {
		t.Errorf("second request: %d after %d calls, want 200 at once with the kept nonce", resp.StatusCode, len(calls))
	}
}
