package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/store/sqlstore"
	"github.com/latchkey/latchkey/token"
)

// BenchmarkVerifyHandler measures POST /v1/keys/verify through the handler
// in process (no network): authentication, decoding, verification, metrics
// and rendering. BenchmarkBaselineHandler is the same request through a
// handler that returns a fixed body; the ratio is the API's own cost.
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
	h := New(Config{Service: svc, Registerer: nil})
	body := `{"key":"` + key.Secret.Reveal() + `","scopes":["orders:read"]}`
	auth := "Bearer " + mgmt.Secret.Reveal()
	run := func(b *testing.B, h http.Handler) {
		b.ReportAllocs()
		for b.Loop() {
			r := httptest.NewRequest("POST", "/v1/keys/verify", strings.NewReader(body))
			r.Header.Set("Authorization", auth)
			r.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != 200 {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
		}
	}
	b.Run("verify", func(b *testing.B) { run(b, h) })
	b.Run("baseline_fixed_body", func(b *testing.B) {
		fixed := []byte(`{"valid":true,"code":"VALID","key_id":"key_06h0e4xr62qhmmvm684wrgwnam","keyspace":"default","scopes":["orders:read"],"metadata":{"plan":"pro"}}` + "\n")
		run(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write(fixed)
		}))
	})
}
