package server_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/leak"
	"github.com/latchkey/latchkey/ratelimit"
	"github.com/latchkey/latchkey/server"
)

// githubKeys serves a GitHub-style secret scanning key list holding one
// P-256 key of the test's own, counting fetches.
type githubKeys struct {
	key     *ecdsa.PrivateKey
	id      string
	fetches atomic.Int32
	srv     *httptest.Server
}

func newGitHubKeys(t *testing.T) *githubKeys {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	g := &githubKeys{key: k, id: hex.EncodeToString(der[len(der)-16:])}
	doc, _ := json.Marshal(map[string]any{"public_keys": []map[string]any{
		{"key_identifier": g.id, "key": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), "is_current": true},
	}})
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(doc)
	}))
	t.Cleanup(g.srv.Close)
	return g
}

// sign returns GitHub's signature header value of body by key k.
func sign(t *testing.T, k *ecdsa.PrivateKey, body []byte) string {
	t.Helper()
	sum := sha256.Sum256(body)
	sig, err := ecdsa.SignASN1(rand.Reader, k, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

func postGitHub(t *testing.T, s *testServer, keyID, sig string, body []byte) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+"/v1/leaks/github", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if keyID != "" {
		req.Header.Set(leak.GitHubKeyIDHeader, keyID)
	}
	if sig != "" {
		req.Header.Set(leak.GitHubSignatureHeader, sig)
	}
	res, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// TestLeak_GitHubPartnerAlerts: a signed alert revokes the latchkey tokens
// in it and labels them; a bad signature, an unknown key or missing
// headers is 401 and revokes nothing; an unknown key identifier refetches
// the key list at most once a minute.
func TestLeak_GitHubPartnerAlerts(t *testing.T) {
	g := newGitHubKeys(t)
	cfg := server.Config{GitHubKeysURL: g.srv.URL}
	cfg.OAuth.OutboundAllowPrivate = true
	f := newLeakFixture(t, cfg)
	s := f.c.s
	cl := s.client(t, s.Root)
	alerts := []leak.GitHubAlert{
		{Token: f.apiKey, Type: "latchkey_api_key", URL: "https://github.com/acme/app/blob/abc/.env", Source: "content"},
		{Token: "acme_live_" + "0000000000000000000000000000000000000000000000000", Type: "latchkey_api_key", URL: "https://github.com/x", Source: "content"},
	}
	body, _ := json.Marshal(alerts)

	t.Run("refused", func(t *testing.T) {
		other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		for name, tt := range map[string]struct{ id, sig string }{
			"no headers":        {"", ""},
			"no signature":      {g.id, ""},
			"no key identifier": {"", sign(t, g.key, body)},
			"not base64":        {g.id, "%%%"},
			"another key":       {g.id, sign(t, other, body)},
			"unknown key":       {"unknown-id", sign(t, g.key, body)},
			"other body":        {g.id, sign(t, g.key, append([]byte(" "), body...))},
		} {
			t.Run(name, func(t *testing.T) {
				wantProblem(t, postGitHub(t, s, tt.id, tt.sig, body), http.StatusUnauthorized)
			})
		}
		k, err := cl.Key(context.Background(), f.apiKeyID)
		if err != nil || k.State != "active" {
			t.Fatalf("key after refused alerts: %+v, %v", k, err)
		}
		// One fetch for the first lookup; the unknown identifier within the
		// minute did not fetch again.
		if n := g.fetches.Load(); n != 1 {
			t.Errorf("%d fetches of the key list, want 1", n)
		}
	})
	t.Run("signed", func(t *testing.T) {
		r := postGitHub(t, s, g.id, sign(t, g.key, body), body)
		if r.Status != http.StatusOK {
			t.Fatalf("signed alert: %d %s", r.Status, r.Body)
		}
		var out []leak.GitHubAnswer
		if err := json.Unmarshal(r.Body, &out); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(f.apiKey))
		if len(out) != 2 || out[0].TokenHash != hex.EncodeToString(sum[:]) || out[0].TokenType != "latchkey_api_key" ||
			out[0].Label != "true_positive" || out[1].Label != "false_positive" {
			t.Errorf("answer %s", r.Body)
		}
		k, err := cl.Key(context.Background(), f.apiKeyID)
		if err != nil || k.State != "revoked" || k.RevokeReason != "leaked" {
			t.Errorf("key after the alert: %+v, %v", k, err)
		}
		rs := leakReports(t, s, 1)
		if r := reportFor(t, rs, f.apiKey); r.Source != "github" || r.URL != alerts[0].URL || r.Outcome != "revoked" {
			t.Errorf("report %+v", r)
		}
		raw := s.rawPages(t, "/v1/audit")
		if hits := newSecretIndex(t, []string{f.apiKey}).find(raw); len(hits) > 0 {
			t.Errorf("the audit log holds the token")
		}
	})
	t.Run("bad json", func(t *testing.T) {
		b := []byte(`{"not":"an array"}`)
		wantProblem(t, postGitHub(t, s, g.id, sign(t, g.key, b), b), http.StatusBadRequest)
	})
}

// TestLeak_GitHubBadSignaturesThrottled: bad signatures draw on the
// address's failure budget like bad credentials: past it, 429.
func TestLeak_GitHubBadSignaturesThrottled(t *testing.T) {
	g := newGitHubKeys(t)
	cfg := server.Config{GitHubKeysURL: g.srv.URL, AuthFailureLimit: ratelimit.Limit{Name: "auth_failures", Limit: 2, Window: time.Minute}}
	cfg.OAuth.OutboundAllowPrivate = true
	s := startServer(t, cfg)
	body := []byte(`[]`)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for range 2 {
		wantProblem(t, postGitHub(t, s, g.id, sign(t, other, body), body), http.StatusUnauthorized)
	}
	r := postGitHub(t, s, g.id, sign(t, other, body), body)
	wantProblem(t, r, http.StatusTooManyRequests)
	if r.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
}
