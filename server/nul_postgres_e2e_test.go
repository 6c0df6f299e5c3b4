package server_test

import (
	"crypto/rand"
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/pgtest"
	"github.com/latchkey/latchkey/server"
	"github.com/latchkey/latchkey/signer"
)

// TestBadInput_NULOnPostgres: PostgreSQL refuses a NUL in a text value; an
// ID or cursor holding one is bad input (404: no such object can exist;
// 422: a bad value), never a 503 of a storage failure.
func TestBadInput_NULOnPostgres(t *testing.T) {
	pg := postgresURL(t)
	mk := signer.NewMasterKey()
	s := startServer(t, server.Config{DatabaseURL: pg, DatabaseSchema: pgtest.Schema(t, pg, "lk_nul_"),
		RootKey: strings.Repeat("r", 8) + rand.Text(), MasterKey: &mk})
	for _, c := range []struct {
		path string
		want int
	}{
		{"/v1/webhooks/wh_%00", http.StatusNotFound},
		{"/v1/webhooks/wh_%00/deliveries", http.StatusNotFound},
		{"/v1/leaks?cursor=%00", http.StatusUnprocessableEntity},
		{"/v1/keys/key_%00", http.StatusUnprocessableEntity},
	} {
		r := s.doJSON(t, "GET", c.path, s.Root, "")
		if r.Status != c.want {
			t.Errorf("GET %s: %d %.200s, want %d", c.path, r.Status, r.Body, c.want)
		}
	}
}
