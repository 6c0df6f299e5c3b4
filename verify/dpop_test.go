package verify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/client"
)

// TestDP06_BoundJWTNeedsProof: offline, a JWT with cnf.jkt is refused
// without a proof (Check, or CheckRequest without DPoP), with a proof of
// another key, hashing another token, or replayed; it passes with a
// fresh proof of its key. Through Middleware the same holds, and the
// Bearer scheme is refused for it.
func TestDP06_BoundJWTNeedsProof(t *testing.T) {
	k := newTestKey(t, "k1", jose.EdDSA)
	s := newJWKSServer(t, k)
	c := &clock{t: t0}
	v := newVerifier(t, s.URL, c)
	pk, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	d, other := &client.DPoPTransport{Key: pk, Now: c.Now}, &client.DPoPTransport{Key: otherKey, Now: c.Now}
	jkt, _ := client.DPoPThumbprint(pk.Public())
	cl := claims(t0)
	cl["cnf"] = map[string]any{"jkt": jkt}
	tok := mint(t, k, cl, nil)
	const u = "https://api.example.com/orders"
	proof := func(d *client.DPoPTransport, ath string) *api.DPoPProof {
		p, err := d.Proof("GET", u, ath, "")
		if err != nil {
			t.Fatal(err)
		}
		return &api.DPoPProof{Proof: p, Method: "GET", URL: u}
	}
	ctx := context.Background()
	refused := func(name string, r Request) {
		t.Helper()
		var e *Error
		if _, err := v.CheckRequest(ctx, r); !errors.As(err, &e) || e.Code != CodeInvalidDPoPProof {
			t.Errorf("%s: %v, want %s", name, err, CodeInvalidDPoPProof)
		}
	}
	if _, err := v.Check(ctx, tok, nil); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("Check of a bound JWT: %v", err)
	}
	refused("no proof", Request{Token: tok})
	refused("proof of another key", Request{Token: tok, DPoP: proof(other, tok)})
	refused("ath of another token", Request{Token: tok, DPoP: proof(d, mint(t, k, claims(t0), nil))})
	good := proof(d, tok)
	if id, err := v.CheckRequest(ctx, Request{Token: tok, DPoP: good}); err != nil || id.Claims.ConfirmationJKT != jkt {
		t.Fatalf("good proof: %+v %v", id, err)
	}
	refused("replayed proof", Request{Token: tok, DPoP: good})

	h := Middleware(Composite{JWT: v}, MiddlewareOptions{Now: c.Now})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	send := func(scheme string, p *api.DPoPProof) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", u, nil)
		r.Header.Set("Authorization", scheme+" "+tok)
		if p != nil {
			r.Header.Set("DPoP", p.Proof)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	if w := send("Bearer", proof(d, tok)); w.Code != 401 {
		t.Errorf("middleware, bearer scheme: %d", w.Code)
	}
	if w := send("DPoP", nil); w.Code != 401 || !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), `DPoP error="invalid_dpop_proof"`) {
		t.Errorf("middleware, no proof: %d %q", w.Code, w.Header().Get("WWW-Authenticate"))
	}
	if w := send("DPoP", proof(d, tok)); w.Code != 200 {
		t.Errorf("middleware, good proof: %d %q", w.Code, w.Header().Get("WWW-Authenticate"))
	}
	// A token without cnf is still accepted as a bearer token.
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", u, nil)
	r.Header.Set("Authorization", "Bearer "+mint(t, k, claims(t0), nil))
	h.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Errorf("unbound JWT as bearer: %d", w.Code)
	}
}

// TestDPoPBoundKey_OpaqueNeverCached: a DPoP proof goes to the server
// with the key, every time: an answer to a request with a proof is
// neither taken from nor put into the cache (a cached VALID would admit
// the key later without its proof).
func TestDPoPBoundKey_OpaqueNeverCached(t *testing.T) {
	f := newFakeLatchkey(t)
	f.set("sk_bound", valid("key_1"))
	o := newOpaque(t, f, &clock{t: t0}, OpaqueOptions{})
	p := &api.DPoPProof{Proof: "a.b.c", Method: "GET", URL: "https://api.example.com/x"}
	for range 2 {
		if _, err := o.CheckRequest(context.Background(), Request{Token: "sk_bound", DPoP: p}); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.calls.Load(); n != 2 || f.last.DPoP == nil || f.last.DPoP.Proof != "a.b.c" {
		t.Fatalf("%d calls, last %+v: want 2 calls, each with the proof", n, f.last.DPoP)
	}
	if _, err := o.CheckRequest(context.Background(), Request{Token: "sk_bound"}); err != nil {
		t.Fatal(err)
	}
	if n := f.calls.Load(); n != 3 {
		t.Errorf("a request without proof was answered from the cache (%d calls)", n)
	}
}
