package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/signer"
	"github.com/latchkey/latchkey/store/sqlstore"
	"github.com/latchkey/latchkey/token"
)

// BenchmarkVerifyHandler measures POST /v1/keys/verify through the handler
// in process (no network): authentication, decoding, verification, metrics
// and rendering. baseline_fixed_body is the same request through a handler
// that returns a fixed body; the ratio is the API's own cost. tokens is
// POST /v1/tokens (the JWT exchange, EdDSA) through the same harness.
func BenchmarkVerifyHandler(b *testing.B) {
	ctx := context.Background()
	db, err := sqlstore.OpenSQLite(ctx, b.TempDir()+"/db")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	svc := token.NewService(token.Config{Store: db})
	if _, err := svc.Bootstrap(ctx, ""); err != nil {
		b.Fatal(err)
	}
	mgmt, err := svc.CreateKey(ctx, token.SystemActor, token.CreateKeyParams{Keyspace: token.ManagementKeyspace, Scopes: []string{token.ScopeKeysVerify}})
	if err != nil {
		b.Fatal(err)
	}
	key, err := svc.CreateKey(ctx, token.SystemActor, token.CreateKeyParams{Scopes: []string{"orders:read"}, Metadata: []byte(`{"plan":"pro"}`)})
	if err != nil {
		b.Fatal(err)
	}
	sig, err := signer.NewManager(signer.ManagerConfig{Store: db, MasterKey: signer.NewMasterKey()})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := sig.Ensure(ctx); err != nil {
		b.Fatal(err)
	}
	h := New(Config{Service: svc, Registerer: nil, Signer: sig, Issuer: "https://auth.example.com"})
	body := `{"key":"` + key.Secret.Reveal() + `","scopes":["orders:read"]}`
	auth := "Bearer " + mgmt.Secret.Reveal()
	run := func(b *testing.B, h http.Handler, path, auth, body string, status int) {
		b.ReportAllocs()
		for b.Loop() {
			r := httptest.NewRequest("POST", path, strings.NewReader(body))
			r.Header.Set("Authorization", auth)
			r.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != status {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
		}
	}
	b.Run("verify", func(b *testing.B) { run(b, h, "/v1/keys/verify", auth, body, 200) })
	b.Run("tokens", func(b *testing.B) {
		run(b, h, "/v1/tokens", "Bearer "+key.Secret.Reveal(), `{"scope":"orders:read"}`, 201)
	})
	b.Run("baseline_fixed_body", func(b *testing.B) {
		fixed := []byte(`{"valid":true,"code":"VALID","key_id":"key_06h0e4xr62qhmmvm684wrgwnam","keyspace":"default","scopes":["orders:read"],"metadata":{"plan":"pro"}}` + "\n")
		run(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write(fixed)
		}), "/v1/keys/verify", auth, body, 200)
	})
}
