// Package pgtest gives tests a PostgreSQL to run against: the URL from
// LATCHKEY_TEST_POSTGRES_URL (skipping loudly when it is unset, failing
// when LATCHKEY_TEST_REQUIRE_SERVICES=1, as in CI) and a fresh schema per
// test, dropped when the test ends, so runs never collide.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// URL returns the test database's URL or ends the test (see the package
// comment).
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("LATCHKEY_TEST_POSTGRES_URL")
	if u != "" {
		return u
	}
	const msg = "LATCHKEY_TEST_POSTGRES_URL is not set: this PostgreSQL test was NOT RUN " +
		"(e.g. LATCHKEY_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable)"
	if os.Getenv("LATCHKEY_TEST_REQUIRE_SERVICES") == "1" {
		t.Fatal(msg + "; LATCHKEY_TEST_REQUIRE_SERVICES=1 requires it")
	}
	t.Skip("SKIPPING: " + msg)
	return ""
}

// Schema returns a new schema name with prefix, dropped (with everything
// in it) when the test ends. The schema itself is created by whoever opens
// the store in it.
func Schema(t testing.TB, url, prefix string) string {
	t.Helper()
	var b [8]byte
	rand.Read(b[:])
	name := prefix + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Errorf("drop schema %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{name}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
	})
	return name
}
