package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/api"
)

// "latchkey webhooks delivery" prints a delivery's attempts, newest first:
// a receiver that fails once (503 with a body) and then answers.
func TestWebhooks_DeliveryCommandPrintsAttempts(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("maintenance until noon"))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	root := newRootKey()
	p := startBinary(t, t.TempDir(), root, "LATCHKEY_OUTBOUND_ALLOW_PRIVATE=true", "LATCHKEY_WEBHOOK_POLL=20ms",
		"LATCHKEY_WEBHOOK_RETRY_BASE=20ms")
	env := map[string]string{"LATCHKEY_URL": p.URL, "LATCHKEY_TOKEN": root}
	c := p.client(t, root)
	w, err := c.CreateWebhook(t.Context(), api.CreateWebhookRequest{URL: srv.URL, Events: []string{"key.created"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateKey(t.Context(), api.CreateKeyRequest{Name: "ci"}); err != nil {
		t.Fatal(err)
	}
	var did string
	for end := time.Now().Add(20 * time.Second); did == ""; time.Sleep(20 * time.Millisecond) {
		l, err := c.WebhookDeliveries(t.Context(), w.ID, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Deliveries) == 1 && l.Deliveries[0].State == "delivered" {
			did = l.Deliveries[0].ID
		} else if time.Now().After(end) {
			t.Fatalf("not delivered: %+v", l.Deliveries)
		}
	}
	r := runBinary(t, env, "", "webhooks", "delivery", w.ID, did)
	if r.code != 0 {
		t.Fatalf("webhooks delivery: exit %d: %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 4 || !strings.Contains(lines[0], did) || !strings.Contains(lines[0], "delivered") ||
		!strings.HasPrefix(lines[1], "#") || !strings.Contains(lines[1], "STATUS") {
		t.Fatalf("webhooks delivery printed:\n%s", r.stdout)
	}
	if f := strings.Fields(lines[2]); f[0] != "2" || f[2] != "204" {
		t.Errorf("newest attempt row %q, want #2 with 204", lines[2])
	}
	if f := strings.Fields(lines[3]); f[0] != "1" || f[2] != "503" || !strings.Contains(lines[3], "status 503: maintenance until noon") {
		t.Errorf("first attempt row %q, want #1 with 503 and the receiver's answer", lines[3])
	}
	r = runBinary(t, env, "", "webhooks", "delivery", w.ID, did, "--json")
	var d api.WebhookDelivery
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &d) != nil || len(d.AttemptLog) != 2 || d.AttemptLog[1].Response != "maintenance until noon" {
		t.Fatalf("webhooks delivery --json: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	if r := runBinary(t, env, "", "webhooks", "delivery", w.ID, "msg_missing"); r.code == 0 {
		t.Fatalf("an unknown delivery: exit 0: %s", r.stdout)
	}
}
