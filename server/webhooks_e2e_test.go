package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/server"
)

// The /v1/webhooks API: the secret only in the answers that make one, bad
// input a 400, missing scopes a 403, unknown webhooks a 404 — never a 500.
func TestWebhooks_API(t *testing.T) {
	s := startServer(t, server.Config{})
	ctx := t.Context()
	root := s.client(t, s.Root)
	reader, err := root.CreateKey(ctx, api.CreateKeyRequest{Keyspace: "latchkey", Name: "hooks reader", Scopes: []string{"webhooks:read"}})
	if err != nil {
		t.Fatal(err)
	}
	r := s.doJSON(t, "POST", "/v1/webhooks", s.Root, `{"url":"https://hooks.example.com/x","events":["key.revoked","key.leaked"]}`)
	if r.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	var w api.Webhook
	if err := json.Unmarshal(r.Body, &w); err != nil || !strings.HasPrefix(w.Secret, "whsec_") || !w.Enabled {
		t.Fatalf("create answered %s (%v)", r.Body, err)
	}
	for _, path := range []string{"/v1/webhooks", "/v1/webhooks/" + w.ID} {
		r := s.doJSON(t, "GET", path, reader.Secret, "")
		if r.Status != http.StatusOK || strings.Contains(string(r.Body), "whsec_") {
			t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
		}
	}
	for _, tc := range []struct {
		method, path, tok, body string
		status                  int
	}{
		{"POST", "/v1/webhooks", s.Root, `{"url":"http://127.0.0.1/x","events":["key.revoked"]}`, 422},
		{"POST", "/v1/webhooks", s.Root, `{"url":"https://hooks.example.com/x","events":["key.nope"]}`, 422},
		{"POST", "/v1/webhooks", s.Root, `{"url":"https://hooks.example.com/x","events":[]}`, 422},
		{"POST", "/v1/webhooks", s.Root, `{"url":"https://hooks.example.com/x"}`, 422},
		{"POST", "/v1/webhooks", s.Root, `{"url":"https://hooks.example.com/x","events":["key.revoked"],"secret":"mine"}`, 400},
		{"POST", "/v1/webhooks", s.Root, `[`, 400},
		{"POST", "/v1/webhooks", reader.Secret, `{"url":"https://hooks.example.com/x","events":["key.revoked"]}`, 403},
		{"PATCH", "/v1/webhooks/" + w.ID, reader.Secret, `{"enabled":false}`, 403},
		{"PATCH", "/v1/webhooks/" + w.ID, s.Root, `{"events":["key.revoked"],"extra":1}`, 400},
		{"PATCH", "/v1/webhooks/wh_missing", s.Root, `{"enabled":false}`, 404},
		{"POST", "/v1/webhooks/" + w.ID + "/rotate-secret", s.Root, `{"grace":"forever"}`, 400},
		{"POST", "/v1/webhooks/wh_missing/rotate-secret", s.Root, `{}`, 404},
		{"POST", "/v1/webhooks/" + w.ID + "/rotate-secret", s.Root, `{"grace":"8d"}`, 422},
		{"GET", "/v1/webhooks/" + w.ID + "/deliveries?cursor=x", s.Root, "", 400},
		{"GET", "/v1/webhooks/" + w.ID + "/deliveries?limit=1000", s.Root, "", 400},
		{"GET", "/v1/webhooks/wh_missing/deliveries", s.Root, "", 404},
		{"POST", "/v1/webhooks/" + w.ID + "/deliveries/msg_missing/redeliver", s.Root, "", 404},
		{"DELETE", "/v1/webhooks/" + w.ID, reader.Secret, "", 403},
		{"DELETE", "/v1/webhooks/wh_missing", s.Root, "", 404},
	} {
		wantProblem(t, s.doJSON(t, tc.method, tc.path, tc.tok, tc.body), tc.status)
	}
	r = s.doJSON(t, "PATCH", "/v1/webhooks/"+w.ID, s.Root, `{"enabled":false,"description":"audit feed"}`)
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"enabled":false`) || !strings.Contains(string(r.Body), `"disabled_reason":"disabled"`) {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}
	rot, err := root.RotateWebhookSecret(ctx, w.ID, api.RotateWebhookSecretRequest{})
	if err != nil || !strings.HasPrefix(rot.Secret, "whsec_") || rot.Secret == w.Secret || rot.PrevSecretExpires == nil {
		t.Fatalf("rotate: %+v (%v)", rot, err)
	}
	if err := root.DeleteWebhook(ctx, w.ID); err != nil {
		t.Fatal(err)
	}
	if s.Logs.String() != "" && strings.Contains(s.Logs.String(), "whsec_") {
		t.Fatal("a webhook secret is in the server's log")
	}
}
