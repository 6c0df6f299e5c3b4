package server_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/server"
)

// dpopKey returns a DPoP signer of a new P-256 key and its thumbprint.
func dpopKey(t *testing.T) (*client.DPoPTransport, string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	d := &client.DPoPTransport{Key: k}
	jkt, err := client.DPoPThumbprint(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	return d, jkt
}

func proofFor(t *testing.T, d *client.DPoPTransport, method, url, tok, nonce string) string {
	t.Helper()
	p, err := d.Proof(method, url, tok, nonce)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// boundKey creates a key of s bound to the DPoP key of thumbprint jkt.
func boundKey(t *testing.T, s *testServer, jkt string) *api.CreatedKey {
	t.Helper()
	k, err := s.client(t, s.Root).CreateKey(t.Context(), api.CreateKeyRequest{Scopes: []string{"orders:read"}, DPoPJKT: jkt})
	if err != nil {
		t.Fatal(err)
	}
	if k.DPoPJKT != jkt {
		t.Fatalf("created key's dpop_jkt %q, want %q", k.DPoPJKT, jkt)
	}
	return k
}

const verifyURL = "https://api.example.com/orders"

// TestDPoPBoundKey_VerifyAPI: a key bound to a DPoP key verifies only
// with a fresh proof of that key that hashes the key in ath; every
// refusal is a recorded outcome; the binding is shown and validated.
func TestDPoPBoundKey_VerifyAPI(t *testing.T) {
	s := startServer(t, server.Config{})
	c := s.client(t, s.Root)
	d, jkt := dpopKey(t)
	other, _ := dpopKey(t)
	k := boundKey(t, s, jkt)
	check := func(name string, proof *api.DPoPProof, want string) *api.VerifyResponse {
		t.Helper()
		res, err := c.Verify(t.Context(), api.VerifyRequest{Key: k.Secret, DPoP: proof})
		if err != nil || res.Code != want {
			t.Fatalf("%s: %+v %v, want %s", name, res, err, want)
		}
		return res
	}
	at := func(p string) *api.DPoPProof {
		return &api.DPoPProof{Proof: p, Method: "GET", URL: verifyURL + "?id=7"}
	}
	check("no proof", nil, "INVALID_DPOP_PROOF")
	good := proofFor(t, d, "GET", verifyURL, k.Secret, "")
	check("proof", at(good), "VALID")
	check("replayed proof", at(good), "INVALID_DPOP_PROOF")
	check("proof of another key", at(proofFor(t, other, "GET", verifyURL, k.Secret, "")), "INVALID_DPOP_PROOF")
	check("ath of another token", at(proofFor(t, d, "GET", verifyURL, "default_other", "")), "INVALID_DPOP_PROOF")
	check("no ath", at(proofFor(t, d, "GET", verifyURL, "", "")), "INVALID_DPOP_PROOF")
	check("other method", at(proofFor(t, d, "POST", verifyURL, k.Secret, "")), "INVALID_DPOP_PROOF")
	check("other URL", at(proofFor(t, d, "GET", "https://api.example.com/users", k.Secret, "")), "INVALID_DPOP_PROOF")
	res := check("stale nonce", at(proofFor(t, d, "GET", verifyURL, k.Secret, "stale")), "USE_DPOP_NONCE")
	if res.DPoPNonce == "" {
		t.Fatal("USE_DPOP_NONCE without dpop_nonce")
	}
	check("server nonce", at(proofFor(t, d, "GET", verifyURL, k.Secret, res.DPoPNonce)), "VALID")

	// A plain key ignores a proof; a bound key is shown with its binding.
	plain, err := c.CreateKey(t.Context(), api.CreateKeyRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := c.Verify(t.Context(), api.VerifyRequest{Key: plain.Secret, DPoP: at(good)}); err != nil || !res.Valid {
		t.Errorf("plain key with a proof: %+v %v", res, err)
	}
	if got := s.doJSON(t, "GET", "/v1/keys/"+k.ID, s.Root, ""); !strings.Contains(string(got.Body), `"dpop_jkt":"`+jkt+`"`) {
		t.Errorf("GET key: %s", got.Body)
	}
	for _, bad := range []string{"short", strings.Repeat("A", 44), strings.Repeat("+", 43)} {
		r := s.doJSON(t, "POST", "/v1/keys", s.Root, `{"dpop_jkt":"`+bad+`"}`)
		if r.Status != http.StatusUnprocessableEntity {
			t.Errorf("dpop_jkt %q: %d, want 422", bad, r.Status)
		}
	}
	if r := s.doJSON(t, "POST", "/v1/keys/verify", s.Root, `{"key":"`+k.Secret+`","dpop":{"proof":""}}`); r.Status != http.StatusBadRequest {
		t.Errorf("empty dpop input: %d, want 400", r.Status)
	}
	// A bound key is never exchanged for a bearer JWT.
	if p := wantProblem(t, s.doJSON(t, "POST", "/v1/tokens", k.Secret, ""), http.StatusBadRequest); p.Code != "key_not_exchangeable" {
		t.Errorf("exchange of a bound key: %s", p.Code)
	}
}

// TestDP04_ReplaySameNodeAndOtherNode: a proof accepted by one node is a
// replay on that node and on another node sharing the database; of many
// concurrent presentations of one proof, on both nodes, exactly one wins.
func TestDP04_ReplaySameNodeAndOtherNode(t *testing.T) {
	a, b := startPair(t)
	d, jkt := dpopKey(t)
	k := boundKey(t, a, jkt)
	ca, cb := a.client(t, a.Root), b.client(t, b.Root)
	verifyOn := func(c *client.Client, p string) string {
		t.Helper()
		res, err := c.Verify(t.Context(), api.VerifyRequest{Key: k.Secret, DPoP: &api.DPoPProof{Proof: p, Method: "GET", URL: verifyURL}})
		if err != nil {
			t.Fatal(err)
		}
		return res.Code
	}
	p := proofFor(t, d, "GET", verifyURL, k.Secret, "")
	if got := verifyOn(cb, p); got != "VALID" {
		t.Fatalf("first use on B: %s", got)
	}
	if got := verifyOn(cb, p); got != "INVALID_DPOP_PROOF" {
		t.Errorf("replay on the same node: %s", got)
	}
	if got := verifyOn(ca, p); got != "INVALID_DPOP_PROOF" {
		t.Errorf("replay on the other node: %s", got)
	}

	p = proofFor(t, d, "GET", verifyURL, k.Secret, "")
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := ca
			if i%2 == 1 {
				c = cb
			}
			res, err := c.Verify(t.Context(), api.VerifyRequest{Key: k.Secret, DPoP: &api.DPoPProof{Proof: p, Method: "GET", URL: verifyURL}})
			if err != nil {
				t.Error(err)
				return
			}
			if res.Valid {
				wins.Add(1)
			} else if res.Code != "INVALID_DPOP_PROOF" {
				t.Errorf("concurrent replay: %s", res.Code)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Errorf("%d of 20 concurrent presentations of one proof were accepted, want 1", wins.Load())
	}
}

// gatewayDPoP sends GET url through the gateway with "Authorization:
// scheme tok" and the given DPoP headers.
func gatewayDPoP(t *testing.T, url, scheme, tok string, proofs ...string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", scheme+" "+tok)
	for _, p := range proofs {
		req.Header.Add("DPoP", p)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// TestDP06_BoundKeyNeedsProof: through the gateway, a DPoP-bound key is
// refused without a proof, with a proof of another key, with a proof
// hashing another token, with two proofs and as a bearer token (even with
// a valid proof) — 401 WWW-Authenticate: DPoP error="invalid_dpop_proof"
// — and admitted as "Authorization: DPoP" with a proof of its key.
func TestDP06_BoundKeyNeedsProof(t *testing.T) {
	up := newUpstream(t)
	s, gw := startGatewayServer(t, up, server.Config{})
	d, jkt := dpopKey(t)
	other, _ := dpopKey(t)
	k := boundKey(t, s, jkt)
	u := gw + "/orders"
	before := up.count()
	for name, resp := range map[string]*http.Response{
		"no proof":             gatewayDPoP(t, u, "DPoP", k.Secret),
		"proof of another key": gatewayDPoP(t, u, "DPoP", k.Secret, proofFor(t, other, "GET", u, k.Secret, "")),
		"ath of another token": gatewayDPoP(t, u, "DPoP", k.Secret, proofFor(t, d, "GET", u, "default_x", "")),
		"two proofs":           gatewayDPoP(t, u, "DPoP", k.Secret, proofFor(t, d, "GET", u, k.Secret, ""), proofFor(t, d, "GET", u, k.Secret, "")),
		"bearer scheme":        gatewayDPoP(t, u, "Bearer", k.Secret, proofFor(t, d, "GET", u, k.Secret, "")),
		"other path":           gatewayDPoP(t, u, "DPoP", k.Secret, proofFor(t, d, "GET", gw+"/public", k.Secret, "")),
	} {
		if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), `DPoP error="invalid_dpop_proof"`) {
			t.Errorf("%s: %d %q, want 401 DPoP invalid_dpop_proof", name, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	}
	if up.count() != before {
		t.Errorf("refused requests reached the upstream (%d)", up.count()-before)
	}
	p := proofFor(t, d, "GET", u, k.Secret, "")
	if resp := gatewayDPoP(t, u+"?page=2", "DPoP", k.Secret, p); resp.StatusCode != 200 {
		t.Fatalf("proof of the bound key: %d", resp.StatusCode)
	}
	if resp := gatewayDPoP(t, u, "DPoP", k.Secret, p); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("replayed proof: %d, want 401", resp.StatusCode)
	}
	resp := gatewayDPoP(t, u, "DPoP", k.Secret, proofFor(t, d, "GET", u, k.Secret, "stale"))
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("DPoP-Nonce") == "" ||
		!strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), `DPoP error="use_dpop_nonce"`) {
		t.Errorf("stale nonce: %d %q nonce %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), resp.Header.Get("DPoP-Nonce"))
	}
}

// TestDPoPBoundKey_Gateway: the DPoP scheme is accepted for a plain key
// too (its proof is not needed), the key and the DPoP proof do not reach
// the upstream, and a bound key cannot be sent as X-API-Key.
func TestDPoPBoundKey_Gateway(t *testing.T) {
	up := newUpstream(t)
	s, gw := startGatewayServer(t, up, server.Config{})
	c := s.client(t, s.Root)
	plain, err := c.CreateKey(t.Context(), api.CreateKeyRequest{Scopes: []string{"orders:read"}})
	if err != nil {
		t.Fatal(err)
	}
	d, jkt := dpopKey(t)
	if resp := gatewayDPoP(t, gw+"/orders", "DPoP", plain.Secret, proofFor(t, d, "GET", gw+"/orders", plain.Secret, "")); resp.StatusCode != 200 {
		t.Errorf("plain key with the DPoP scheme: %d", resp.StatusCode)
	}
	k := boundKey(t, s, jkt)
	if resp := gatewayDPoP(t, gw+"/orders", "DPoP", k.Secret, proofFor(t, d, "GET", gw+"/orders", k.Secret, "")); resp.StatusCode != 200 {
		t.Fatalf("bound key: %d", resp.StatusCode)
	}
	if h := up.last(t).header; h.Get("Authorization") != "" || h.Get("X-Latchkey-Key-Id") != k.ID {
		t.Errorf("upstream saw %v", h)
	}
	if resp := gatewayGet(t, gw+"/legacy", "", "X-API-Key", k.Secret, "DPoP", proofFor(t, d, "GET", gw+"/legacy", k.Secret, "")); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("bound key as X-API-Key: %d, want 401", resp.StatusCode)
	}
}

// TestDPoPBoundKey_SDKTransport: client.DPoPTransport, with an ECDSA and
// an Ed25519 key, gets a bound key through the gateway request after
// request (a fresh proof each time).
func TestDPoPBoundKey_SDKTransport(t *testing.T) {
	up := newUpstream(t)
	s, gw := startGatewayServer(t, up, server.Config{})
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	ec, _ := dpopKey(t)
	for name, signer := range map[string]*client.DPoPTransport{"ES256": ec, "EdDSA": {Key: edKey}} {
		jkt, err := client.DPoPThumbprint(signer.Key.Public())
		if err != nil {
			t.Fatal(err)
		}
		k := boundKey(t, s, jkt)
		hc := &http.Client{Transport: &client.DPoPTransport{Key: signer.Key, Token: k.Secret}}
		for i := range 3 {
			resp, err := hc.Get(gw + "/orders/" + name + "?i=1")
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("%s request %d: %d %q", name, i, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
			}
		}
		// Without the transport the key is refused.
		if resp := gatewayGet(t, gw+"/orders", k.Secret); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: bound key as a bearer token: %d", name, resp.StatusCode)
		}
	}
}
