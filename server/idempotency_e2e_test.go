package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/apitoken"
	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/server"
)

// postIdem sends POST path with body and the Idempotency-Key key (none if
// empty), authenticated with tok.
func (s *testServer) postIdem(t *testing.T, path, tok, key, body string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST %s: read: %v", path, err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

// TestIdempotencyKeyReplaysTheFirstAnswer: each non-idempotent key call
// retried with the same Idempotency-Key and body gets the first answer,
// byte for byte (a rotation's and a create's new secret included), marked
// Idempotent-Replayed, and changes nothing again. Before, a retried create
// got 409 idempotency_key_reused without its secret and a retried rotate
// 409 key_rotated: the successor's secret was lost for good.
func TestIdempotencyKeyReplaysTheFirstAnswer(t *testing.T) {
	s := startServer(t, server.Config{})
	c := s.client(t, s.Root)
	ctx := context.Background()
	newKey := func(t *testing.T, req api.CreateKeyRequest) *api.CreatedKey {
		t.Helper()
		k, err := c.CreateKey(ctx, req)
		if err != nil {
			t.Fatalf("CreateKey: %v", err)
		}
		return k
	}
	hash := func(secret string) string {
		d := apitoken.Hash(secret)
		return d.String()
	}
	for _, tt := range []struct {
		name   string
		status int
		path   func(t *testing.T) string
		body   string
		other  string                           // another request body; "" means the same body on another key
		check  func(t *testing.T, first []byte) // after the replay
	}{
		{"create", 201, func(*testing.T) string { return "/v1/keys" }, `{"name":"idem create"}`, `{"name":"other"}`, func(t *testing.T, first []byte) {
			var ck api.CreatedKey
			json.Unmarshal(first, &ck)
			n := 0
			for _, k := range s.allKeys(t, client.KeyListOptions{}) {
				if k.Name == "idem create" {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%d keys named %q, want 1", n, "idem create")
			}
			wantValid(t, c, ck.Secret)
		}},
		{"rotate", 201, func(t *testing.T) string {
			return "/v1/keys/" + newKey(t, api.CreateKeyRequest{Name: "to rotate"}).ID + "/rotate"
		}, `{}`, `{"grace_period":"1h"}`, func(t *testing.T, first []byte) {
			var rk api.RotatedKey
			json.Unmarshal(first, &rk)
			wantValid(t, c, rk.Secret)
		}},
		{"revoke", 200, func(t *testing.T) string {
			return "/v1/keys/" + newKey(t, api.CreateKeyRequest{Name: "to revoke"}).ID + "/revoke"
		}, `{"reason":"leaked"}`, `{"reason":"other"}`, nil},
		{"renew", 200, func(t *testing.T) string {
			return "/v1/keys/" + newKey(t, api.CreateKeyRequest{Name: "to renew", ExpiresIn: "1h"}).ID + "/renew"
		}, `{}`, "", nil},
		{"import", 201, func(*testing.T) string { return "/v1/keys/import" },
			`{"keys":[{"hash":"` + hash("old-system-key-for-idempotency-test") + `","name":"imported"}]}`,
			`{"keys":[{"hash":"` + hash("another-old-system-key") + `","name":"imported"}]}`, func(t *testing.T, first []byte) {
				var out api.ImportKeysResponse
				json.Unmarshal(first, &out)
				if out.Imported != 1 {
					t.Errorf("imported = %d, want 1", out.Imported)
				}
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.path(t)
			key := "idem-" + tt.name + "-1"
			first := s.postIdem(t, path, s.Root, key, tt.body)
			if first.Status != tt.status {
				t.Fatalf("first call: %d %s, want %d", first.Status, first.Body, tt.status)
			}
			if first.Header.Get("Idempotent-Replayed") != "" {
				t.Error("the first answer is marked Idempotent-Replayed")
			}
			again := s.postIdem(t, path, s.Root, key, " "+tt.body+"\n") // whitespace does not change the request
			if again.Status != first.Status || !bytes.Equal(again.Body, first.Body) {
				t.Fatalf("retry with the same Idempotency-Key: %d %s\nwant the first answer: %d %s", again.Status, again.Body, first.Status, first.Body)
			}
			if again.Header.Get("Idempotent-Replayed") != "true" {
				t.Error("the replayed answer lacks Idempotent-Replayed: true")
			}
			if tt.check != nil {
				tt.check(t, first.Body)
			}
			// Another request with the same key is refused, not replayed.
			otherPath, otherBody := path, tt.other
			if otherBody == "" {
				otherPath, otherBody = "/v1/keys/"+newKey(t, api.CreateKeyRequest{Name: "other", ExpiresIn: "1h"}).ID+"/renew", tt.body
			}
			other := s.postIdem(t, otherPath, s.Root, key, otherBody)
			if p := wantProblem(t, other, 422); p.Code != "idempotency_key_mismatch" {
				t.Errorf("same key, other body: code %q, want idempotency_key_mismatch", p.Code)
			}
		})
	}
}

// TestSEC_KEY01_StoredAnswersHoldNoPlaintext: the answers kept for
// Idempotency-Key replays hold new secrets, so they are sealed with the
// master key: after a create and a rotate with Idempotency-Keys, no file
// of the data directory holds either secret.
func TestSEC_KEY01_StoredAnswersHoldNoPlaintext(t *testing.T) {
	s := startServer(t, server.Config{})
	var secrets []string
	r := s.postIdem(t, "/v1/keys", s.Root, "idem-sealed", `{"name":"sealed"}`)
	var ck api.CreatedKey
	json.Unmarshal(r.Body, &ck)
	if r.Status != 201 || ck.Secret == "" {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	r = s.postIdem(t, "/v1/keys/"+ck.ID+"/rotate", s.Root, "idem-sealed", `{}`)
	var rk api.RotatedKey
	json.Unmarshal(r.Body, &rk)
	if r.Status != 201 || rk.Secret == "" {
		t.Fatalf("rotate: %d %s", r.Status, r.Body)
	}
	secrets = append(secrets, ck.Secret, rk.Secret)
	s.Stop()
	for name, f := range dataFiles(t, s.DataDir) {
		for _, sec := range secrets {
			if bytes.Contains(f, []byte(secretPart(t, sec))) {
				t.Fatalf("%s holds a key's secret in the clear", name)
			}
		}
	}
}

// wantValid fails unless secret verifies.
func wantValid(t *testing.T, c *client.Client, secret string) {
	t.Helper()
	v, err := c.Verify(context.Background(), api.VerifyRequest{Key: secret})
	if err != nil || !v.Valid {
		t.Errorf("the secret of the answer does not verify: %+v, %v", v, err)
	}
}
