package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/server"
)

// TestRecoverableKeysOverHTTP drives GET /v1/keys/{id}/secret through the
// real server: the keyspace setting, the answer (no-store), keys:reveal
// (403 without, audited), not_recoverable (404), revoked (409), rotation
// successors, and the audit log holding reveals but no secret.
func TestRecoverableKeysOverHTTP(t *testing.T) {
	s := startServer(t, server.Config{})
	ctx := context.Background()
	c := s.client(t, s.Root)
	on := true
	ks, err := c.CreateKeyspace(ctx, api.KeyspaceRequest{Name: "vault", Recoverable: &on})
	if err != nil {
		t.Fatal(err)
	}
	if !ks.Recoverable {
		t.Fatal("the created keyspace is not recoverable")
	}
	if got, err := c.Keyspace(ctx, "vault"); err != nil || !got.Recoverable {
		t.Fatalf("GET keyspace: %+v %v", got, err)
	}
	k, err := c.CreateKey(ctx, api.CreateKeyRequest{Keyspace: "vault", Name: "customer"})
	if err != nil {
		t.Fatal(err)
	}

	r := s.do(t, http.MethodGet, "/v1/keys/"+k.ID+"/secret", s.Root, "", nil)
	if r.Status != http.StatusOK || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("reveal: %d, Cache-Control %q", r.Status, r.Header.Get("Cache-Control"))
	}
	var ans api.KeySecret
	if err := json.Unmarshal(r.Body, &ans); err != nil || ans.KeyID != k.ID || ans.Secret != k.Secret {
		t.Fatalf("reveal answer %s: %v", r.Body, err)
	}
	if got, err := c.RevealKey(ctx, k.ID); err != nil || got.Secret != k.Secret {
		t.Fatalf("client.RevealKey: %v", err)
	}

	writer, err := c.CreateKey(ctx, api.CreateKeyRequest{Keyspace: "latchkey", Name: "writer", Scopes: []string{"keys:read", "keys:write"}})
	if err != nil {
		t.Fatal(err)
	}
	wantProblem(t, s.do(t, http.MethodGet, "/v1/keys/"+k.ID+"/secret", writer.Secret, "", nil), http.StatusForbidden)
	revealer, err := c.CreateKey(ctx, api.CreateKeyRequest{Keyspace: "latchkey", Name: "revealer", Scopes: []string{"keys:reveal"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.client(t, revealer.Secret).RevealKey(ctx, k.ID); err != nil || got.Secret != k.Secret {
		t.Fatalf("reveal with keys:reveal: %v", err)
	}

	plain, err := c.CreateKey(ctx, api.CreateKeyRequest{Name: "digest only"})
	if err != nil {
		t.Fatal(err)
	}
	if p := wantProblem(t, s.do(t, http.MethodGet, "/v1/keys/"+plain.ID+"/secret", s.Root, "", nil), http.StatusNotFound); p.Code != "not_recoverable" {
		t.Errorf("key of default: code %q, want not_recoverable", p.Code)
	}
	if p := wantProblem(t, s.do(t, http.MethodGet, "/v1/keys/key_nope/secret", s.Root, "", nil), http.StatusNotFound); p.Code != "key_not_found" {
		t.Errorf("unknown key: code %q", p.Code)
	}

	rk, err := c.RotateKey(ctx, k.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.RevealKey(ctx, rk.ID); err != nil || got.Secret != rk.Secret {
		t.Fatalf("reveal of the successor: %v", err)
	}
	if _, err := c.RevokeKey(ctx, rk.ID, "test"); err != nil {
		t.Fatal(err)
	}
	if p := wantProblem(t, s.do(t, http.MethodGet, "/v1/keys/"+rk.ID+"/secret", s.Root, "", nil), http.StatusConflict); p.Code != "key_revoked" {
		t.Errorf("revoked key: code %q, want key_revoked", p.Code)
	}
	wantProblem(t, s.doJSON(t, http.MethodPatch, "/v1/keyspaces/latchkey", s.Root, `{"recoverable":true}`), http.StatusUnprocessableEntity)

	audit := s.do(t, http.MethodGet, "/v1/audit?action=key.reveal&limit=100", s.Root, "", nil)
	var evs api.AuditList
	if err := json.Unmarshal(audit.Body, &evs); err != nil {
		t.Fatal(err)
	}
	var ok, denied int
	for _, ev := range evs.Items {
		switch ev.Outcome {
		case "success":
			ok++
		case "denied":
			denied++
		}
	}
	if ok != 4 || denied != 1 {
		t.Errorf("audit: %d successful and %d denied reveals, want 4 and 1", ok, denied)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, sec := range []string{k.Secret, rk.Secret} {
		if bytes.Contains(audit.Body, []byte(sec)) || bytes.Contains(s.Logs.Bytes(), []byte(sec)) {
			t.Error("a revealed secret is in the audit log or the application log")
		}
	}
}
