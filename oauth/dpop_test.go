package oauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/token"
)

// nonceStore is a token.Store whose only working part is the nonce table.
type nonceStore struct {
	token.Store
	mu   sync.Mutex
	seen map[string]bool
}

func (s *nonceStore) UseNonce(_ context.Context, keyID, nonce string, _ time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen[keyID+" "+nonce] {
		return false, nil
	}
	s.seen[keyID+" "+nonce] = true
	return true, nil
}

func dpopService(t *testing.T, requireNonce bool, now func() time.Time) *Service {
	t.Helper()
	tokens := token.NewService(token.Config{Store: &nonceStore{seen: map[string]bool{}}, Now: now,
		DPoPNonceKey: []byte("test nonce key of 32 bytes......"), DPoPRequireNonce: requireNonce})
	return New(Config{Tokens: tokens, Issuer: "https://as.example/"})
}

// tokenRequest runs tokenDPoP on a token request with the given DPoP
// headers and returns the jkt, the refusal's code ("" if none) and the
// DPoP-Nonce header answered.
func tokenRequest(t *testing.T, s *Service, c *Client, proofs ...string) (jkt, code, nonce string) {
	t.Helper()
	r := httptest.NewRequest("POST", "/oauth2/token", nil)
	for _, p := range proofs {
		r.Header.Add("DPoP", p)
	}
	w := httptest.NewRecorder()
	jkt, err := s.tokenDPoP(w, r, c)
	if err != nil {
		e, ok := err.(*Error)
		if !ok {
			t.Fatalf("tokenDPoP: %v", err)
		}
		if e.status() != 400 {
			t.Errorf("%s: status %d, want 400", e.Code, e.status())
		}
		code = e.Code
	}
	return jkt, code, w.Header().Get("DPoP-Nonce")
}

func proofSigner(t *testing.T) *client.DPoPTransport {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &client.DPoPTransport{Key: k}
}

func mustProof(t *testing.T, d *client.DPoPTransport, url, nonce string) string {
	t.Helper()
	p, err := d.Proof("POST", url, "", nonce)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const tokenURL = "https://as.example/oauth2/token"

// TestDP05_NonceRequired: with server nonces demanded, a proof without a
// nonce or with a stale one gets 400 use_dpop_nonce and a fresh
// DPoP-Nonce; the proof with that nonce passes, also after the next slot
// began (the previous slot's nonce is accepted), not two slots later. A
// stale nonce is refused even where nonces are not demanded.
func TestDP05_NonceRequired(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	s := dpopService(t, true, clock)
	d := proofSigner(t)
	d.Now = clock
	_, code, nonce := tokenRequest(t, s, nil, mustProof(t, d, tokenURL, ""))
	if code != "use_dpop_nonce" || nonce == "" {
		t.Fatalf("no nonce: code %q nonce %q, want use_dpop_nonce and a nonce", code, nonce)
	}
	if _, code, _ := tokenRequest(t, s, nil, mustProof(t, d, tokenURL, "made-up")); code != "use_dpop_nonce" {
		t.Errorf("made-up nonce: %q", code)
	}
	jkt, code, next := tokenRequest(t, s, nil, mustProof(t, d, tokenURL, nonce))
	if code != "" || len(jkt) != 43 || next == "" {
		t.Fatalf("with the nonce: jkt %q code %q next %q", jkt, code, next)
	}
	want, _ := client.DPoPThumbprint(d.Key.Public())
	if jkt != want {
		t.Errorf("jkt %s, want the proof key's thumbprint %s", jkt, want)
	}
	// Another node (same nonce key, its own clock reading) accepts it.
	other := dpopService(t, true, clock)
	if _, code, _ := tokenRequest(t, other, nil, mustProof(t, d, tokenURL, nonce)); code != "" {
		t.Errorf("the other node refused the nonce: %q", code)
	}
	now = now.Add(5 * time.Minute) // the next slot: still accepted
	if _, code, _ := tokenRequest(t, s, nil, mustProof(t, d, tokenURL, nonce)); code != "" {
		t.Errorf("one slot later: %q", code)
	}
	now = now.Add(5 * time.Minute) // two slots later: stale
	_, code, fresh := tokenRequest(t, s, nil, mustProof(t, d, tokenURL, nonce))
	if code != "use_dpop_nonce" || fresh == "" || fresh == nonce {
		t.Errorf("two slots later: code %q nonce %q", code, fresh)
	}
	lax := dpopService(t, false, clock)
	if _, code, _ := tokenRequest(t, lax, nil, mustProof(t, d, tokenURL, "")); code != "" {
		t.Errorf("nonces not demanded, none sent: %q", code)
	}
	if _, code, _ := tokenRequest(t, lax, nil, mustProof(t, d, tokenURL, nonce)); code != "use_dpop_nonce" {
		t.Errorf("nonces not demanded, a stale one sent: %q", code)
	}
}

// TestTokenDPoP_Refusals: a client that must bind its tokens needs a
// proof; two DPoP headers, a proof for another URL and a replay are
// invalid_dpop_proof.
func TestTokenDPoP_Refusals(t *testing.T) {
	s := dpopService(t, false, nil)
	d := proofSigner(t)
	bound := &Client{AppID: "app", Settings: Settings{DPoPBoundAccessTokens: true}}
	if _, code, _ := tokenRequest(t, s, bound); code != "invalid_dpop_proof" {
		t.Errorf("bound client without proof: %q", code)
	}
	if jkt, code, _ := tokenRequest(t, s, &Client{AppID: "plain"}); jkt != "" || code != "" {
		t.Errorf("plain client without proof: %q %q", jkt, code)
	}
	p := mustProof(t, d, tokenURL, "")
	if _, code, _ := tokenRequest(t, s, bound, p, mustProof(t, d, tokenURL, "")); code != "invalid_dpop_proof" {
		t.Errorf("two proofs: %q", code)
	}
	if _, code, _ := tokenRequest(t, s, bound, mustProof(t, d, "https://as.example/oauth2/other", "")); code != "invalid_dpop_proof" {
		t.Errorf("other htu: %q", code)
	}
	if jkt, code, _ := tokenRequest(t, s, bound, p); code != "" || jkt == "" {
		t.Fatalf("good proof: %q %q", jkt, code)
	}
	if _, code, _ := tokenRequest(t, s, bound, p); code != "invalid_dpop_proof" {
		t.Errorf("replayed proof: %q", code)
	}
	b, _ := json.Marshal(bound.Settings)
	if _, err := NormalizeSettings(bound.Settings); err != nil {
		t.Errorf("dpop_bound_access_tokens refused at registration (%s): %v", b, err)
	}
}
