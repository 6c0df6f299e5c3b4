package server_test

import (
	"testing"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/server"
)

// TestSEC_AUD01_VerifyRefusalAudited: a management key without keys:verify
// calling the verify API gets 403 and leaves one denied audit event.
func TestSEC_AUD01_VerifyRefusalAudited(t *testing.T) {
	s := startServer(t, server.Config{})
	root := s.client(t, s.Root)
	reader, err := root.CreateKey(t.Context(), api.CreateKeyRequest{Keyspace: "latchkey", Scopes: []string{"keys:read"}})
	if err != nil {
		t.Fatal(err)
	}
	wantProblem(t, s.doJSON(t, "POST", "/v1/keys/verify", reader.Secret, `{"key":"lk_x"}`), 403)
	evs, err := root.Audit(t.Context(), client.AuditListOptions{Action: "key.verify"})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs.Items) != 1 || evs.Items[0].Outcome != "denied" || evs.Items[0].Actor != reader.ID {
		t.Fatalf("audit of the refused verify: %+v", evs.Items)
	}
}
