package server_test

import (
	"context"
	"crypto/rand"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/server"
)

// postgresURL returns the test database, skipping loudly when it is not
// configured (failing instead when CI requires services).
func postgresURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("LATCHKEY_TEST_POSTGRES_URL")
	if u == "" {
		if os.Getenv("LATCHKEY_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatal("LATCHKEY_TEST_POSTGRES_URL is not set but LATCHKEY_TEST_REQUIRE_SERVICES=1")
		}
		t.Skip("SKIPPING PostgreSQL test: set LATCHKEY_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	return u
}

// TestREL04_TwoNodesOnPostgres: two nodes share one PostgreSQL database; a
// key created on A verifies on B, and after a revocation on A, B answers
// REVOKED within 1s (its cache age is 750ms).
func TestREL04_TwoNodesOnPostgres(t *testing.T) {
	url := postgresURL(t)
	schema := "lk_e2e_" + strings.ToLower(rand.Text()[:12])
	root := strings.Repeat("r", 8) + rand.Text()
	cfg := server.Config{DatabaseURL: url, DatabaseSchema: schema, RootKey: root}
	a, b := startServer(t, cfg), startServer(t, cfg)
	t.Cleanup(func() { dropSchema(t, url, schema) })

	ca, cb := a.client(t, root), b.client(t, root)
	k, err := ca.CreateKey(t.Context(), api.CreateKeyRequest{Name: "shared", Scopes: []string{"orders:read"}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := cb.Verify(t.Context(), api.VerifyRequest{Key: k.Secret, Scopes: []string{"orders:read"}})
	if err != nil || !res.Valid {
		t.Fatalf("verify on node B: %+v %v", res, err)
	}
	if _, err := ca.RevokeKey(t.Context(), k.ID, "test"); err != nil {
		t.Fatal(err)
	}
	revoked := time.Now()
	for {
		res, err := cb.Verify(t.Context(), api.VerifyRequest{Key: k.Secret})
		if err != nil {
			t.Fatal(err)
		}
		if res.Code == "REVOKED" {
			t.Logf("node B saw the revocation after %s", time.Since(revoked).Round(time.Millisecond))
			break
		}
		if time.Since(revoked) > time.Second {
			t.Fatalf("node B still answers %s %s after the revocation on node A", res.Code, time.Since(revoked))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if res, err := ca.Verify(t.Context(), api.VerifyRequest{Key: k.Secret}); err != nil || res.Code != "REVOKED" {
		t.Fatalf("node A after its own revoke: %+v %v", res, err)
	}
}

// dropSchema removes a test's schema.
func dropSchema(t *testing.T, url, schema string) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Errorf("drop schema %s: %v", schema, err)
		return
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
		t.Errorf("drop schema %s: %v", schema, err)
	}
}
