package httpapi

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/signer"
	"github.com/latchkey/latchkey/store/sqlstore"
	"github.com/latchkey/latchkey/token"
)

func TestAppendTokenResponseMatchesEncodingJSON(t *testing.T) {
	for _, r := range []api.TokenResponse{
		{AccessToken: "eyJh.eyJz.c2ln", TokenType: "Bearer", ExpiresIn: 300, Scope: "orders:read orders:write"},
		{AccessToken: "a.b.c", TokenType: "Bearer", ExpiresIn: 1},
		{AccessToken: "<&>\"\\\n\u2028\xff", TokenType: "", ExpiresIn: -1, Scope: "é"},
	} {
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendTokenResponse(nil, &r); string(got) != string(want) {
			t.Fatalf("appendTokenResponse wrote %s, encoding/json %s", got, want)
		}
	}
}

// TestTokenExchangeVerifiesOnce: POST /v1/tokens answers a JWT that
// verifies with the published keys and carries the key's identity and the
// requested scopes, and the exchange counts as one verification of the key
// (it used to count two: a dry run, then the real one).
func TestTokenExchangeVerifiesOnce(t *testing.T) {
	ctx := context.Background()
	db, err := sqlstore.OpenSQLite(ctx, t.TempDir()+"/db")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc := token.NewService(token.Config{Store: db})
	if _, err := svc.Bootstrap(ctx, ""); err != nil {
		t.Fatal(err)
	}
	key, err := svc.CreateKey(ctx, token.SystemActor, token.CreateKeyParams{Scopes: []string{"orders:read", "orders:write"}})
	if err != nil {
		t.Fatal(err)
	}
	sig, err := signer.NewManager(signer.ManagerConfig{Store: db, MasterKey: signer.NewMasterKey()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sig.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	const iss = "https://auth.example.com"
	h := New(Config{Service: svc, Signer: sig, Issuer: iss})
	r := httptest.NewRequest("POST", "/v1/tokens", strings.NewReader(`{"scope":"orders:read"}`))
	r.Header.Set("Authorization", "Bearer "+key.Secret.Reveal())
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 201 || w.Header().Get("Content-Type") != "application/json" || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("status %d, headers %v: %s", w.Code, w.Header(), w.Body)
	}
	var resp api.TokenResponse
	dec := json.NewDecoder(w.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&resp); err != nil {
		t.Fatal(err)
	}
	// exp is a whole second, now is not: expires_in rounds to 300 or 299.
	if ttl := int64(DefaultTokenTTL.Seconds()); resp.TokenType != "Bearer" || resp.ExpiresIn < ttl-1 || resp.ExpiresIn > ttl || resp.Scope != "orders:read" {
		t.Fatalf("answer %+v", resp)
	}
	v := signer.Verifier{Keys: sig.Ring(), Issuer: iss, Audience: key.Key.Keyspace}
	c, err := v.Verify(resp.AccessToken)
	if err != nil {
		t.Fatalf("issued JWT does not verify: %v", err)
	}
	if c.Subject != key.Key.ID || c.KeyID != key.Key.ID || c.ClientID != key.Key.ID || !slices.Equal(c.Scope, []string{"orders:read"}) || c.ID == "" {
		t.Fatalf("claims %+v", c)
	}
	if err := svc.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	counts, err := svc.KeyUsage(ctx, token.SystemActor, key.Key.ID)
	if err != nil {
		t.Fatal(err)
	}
	if counts[token.CodeValid] != 1 || len(counts) != 1 {
		t.Fatalf("one exchange counted as %v, want one VALID verification", counts)
	}
}
