package server_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/server"
)

// GET /v1/webhooks/{id}/deliveries/{did}: the delivery with every attempt,
// newest first (a receiver that fails once, then answers); webhooks:read
// reads it, another webhook's ID is 404, a key without webhooks:read 403.
func TestWebhooks_DeliveryAttemptsAPI(t *testing.T) {
	s := startServer(t, server.Config{OAuth: server.OAuthConfig{OutboundAllowPrivate: true},
		Webhooks: server.WebhooksConfig{Poll: 20 * time.Millisecond, RetryBase: 20 * time.Millisecond}})
	ctx := t.Context()
	root := s.client(t, s.Root)
	var n atomic.Int32
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.WriteHeader(http.StatusBadGateway)
			w.Write([]byte("<b>upstream\x1b down</b>"))
			return
		}
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(`{"ok":true}`))
	}))
	defer rcv.Close()
	other, err := root.CreateWebhook(ctx, api.CreateWebhookRequest{URL: "https://hooks.example.com/x", Events: []string{"key.revoked"}})
	if err != nil {
		t.Fatal(err)
	}
	reader, err := root.CreateKey(ctx, api.CreateKeyRequest{Keyspace: "latchkey", Name: "hooks reader", Scopes: []string{"webhooks:read"}})
	if err != nil {
		t.Fatal(err)
	}
	keysOnly, err := root.CreateKey(ctx, api.CreateKeyRequest{Keyspace: "latchkey", Name: "keys", Scopes: []string{"keys:read"}})
	if err != nil {
		t.Fatal(err)
	}
	hook, err := root.CreateWebhook(ctx, api.CreateWebhookRequest{URL: rcv.URL, Events: []string{"key.created"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := root.CreateKey(ctx, api.CreateKeyRequest{Name: "the event"}); err != nil {
		t.Fatal(err)
	}
	var did string
	for end := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		l, err := root.WebhookDeliveries(ctx, hook.ID, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Deliveries) == 1 && l.Deliveries[0].State == "delivered" {
			did = l.Deliveries[0].ID
			break
		}
		if time.Now().After(end) {
			t.Fatalf("not delivered: %+v", l.Deliveries)
		}
	}
	r := s.doJSON(t, "GET", "/v1/webhooks/"+hook.ID+"/deliveries/"+did, reader.Secret, "")
	if r.Status != http.StatusOK {
		t.Fatalf("GET the delivery: %d %s", r.Status, r.Body)
	}
	var d api.WebhookDelivery
	if err := json.Unmarshal(r.Body, &d); err != nil {
		t.Fatal(err)
	}
	log := d.AttemptLog
	if d.ID != did || d.State != "delivered" || len(log) != 2 {
		t.Fatalf("delivery %s: %+v", r.Body, d)
	}
	if log[0].Number != 2 || log[0].Status != 200 || log[0].Error != "" || log[0].Response != `{"ok":true}` || log[0].Duration == "" {
		t.Errorf("newest attempt %+v", log[0])
	}
	if log[1].Number != 1 || log[1].Status != 502 || log[1].Error != "status 502" || log[1].Response != "<b>upstream down</b>" || log[1].Redelivery {
		t.Errorf("first attempt %+v", log[1])
	}
	if !log[0].StartedAt.After(log[1].StartedAt) {
		t.Errorf("attempts not newest first")
	}
	if strings.Contains(string(r.Body), "whsec_") || strings.Contains(strings.ToLower(string(r.Body)), "webhook-signature") {
		t.Errorf("the delivery's answer carries a secret or a request header: %s", r.Body)
	}
	// The list's deliveries carry no attempt_log.
	if r := s.doJSON(t, "GET", "/v1/webhooks/"+hook.ID+"/deliveries", reader.Secret, ""); strings.Contains(string(r.Body), "attempt_log") {
		t.Errorf("the list carries attempt logs: %s", r.Body)
	}
	// The client and the error cases.
	if cd, err := s.client(t, reader.Secret).WebhookDelivery(ctx, hook.ID, did); err != nil || len(cd.AttemptLog) != 2 {
		t.Fatalf("client: %+v %v", cd, err)
	}
	wantProblem(t, s.doJSON(t, "GET", "/v1/webhooks/"+other.ID+"/deliveries/"+did, reader.Secret, ""), http.StatusNotFound)
	wantProblem(t, s.doJSON(t, "GET", "/v1/webhooks/"+hook.ID+"/deliveries/msg_missing", reader.Secret, ""), http.StatusNotFound)
	wantProblem(t, s.doJSON(t, "GET", "/v1/webhooks/wh_missing/deliveries/"+did, reader.Secret, ""), http.StatusNotFound)
	wantProblem(t, s.doJSON(t, "GET", "/v1/webhooks/"+hook.ID+"/deliveries/"+did, keysOnly.Secret, ""), http.StatusForbidden)
	wantProblem(t, s.doJSON(t, "GET", "/v1/webhooks/"+hook.ID+"/deliveries/"+did, "", ""), http.StatusUnauthorized)
}
