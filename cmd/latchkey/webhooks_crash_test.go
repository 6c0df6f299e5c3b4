package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/verify"
)

// hookReceiver records the deliveries it gets, verified with its secret.
type hookReceiver struct {
	mu     sync.Mutex
	secret string
	types  []string
	ids    map[string]int
	bad    int
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	if verify.VerifyWebhook(h.secret, r.Header, body, time.Minute) != nil {
		h.bad++
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var p struct {
		Type string `json:"type"`
	}
	json.Unmarshal(body, &p)
	if h.ids[r.Header.Get("webhook-id")]++; h.ids[r.Header.Get("webhook-id")] == 1 {
		h.types = append(h.types, p.Type)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *hookReceiver) got() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.types...)
}

// Events committed but not yet delivered when the server is killed with
// SIGKILL are delivered after the restart, in order, signed; the webhook
// is made with the CLI as the README shows.
func TestWebhooks_KillNineBetweenCommitAndDelivery(t *testing.T) {
	dir, root := t.TempDir(), newRootKey()
	rcv := &hookReceiver{ids: map[string]int{}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	// The first server reads the outbox only once an hour: whatever is
	// committed stays undelivered until the kill.
	p := startBinary(t, dir, root, "LATCHKEY_OUTBOUND_ALLOW_PRIVATE=true", "LATCHKEY_WEBHOOK_POLL=1h")
	env := map[string]string{"LATCHKEY_URL": p.URL, "LATCHKEY_TOKEN": root}
	r := runBinary(t, env, "", "webhooks", "create", "--url", srv.URL+"/hook", "--events", "key.created,key.revoked,key.leaked", "--json")
	if r.code != 0 {
		t.Fatalf("webhooks create: exit %d: %s", r.code, r.stderr)
	}
	var w api.Webhook
	if err := json.Unmarshal([]byte(r.stdout), &w); err != nil || !strings.HasPrefix(w.Secret, "whsec_") {
		t.Fatalf("webhooks create answered %q (%v)", r.stdout, err)
	}
	rcv.mu.Lock()
	rcv.secret = w.Secret
	rcv.mu.Unlock()
	c := p.client(t, root)
	k, err := c.CreateKey(t.Context(), api.CreateKeyRequest{Name: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.RevokeKey(t.Context(), k.ID, "leaked"); err != nil {
		t.Fatal(err)
	}
	p.kill(t)
	if got := rcv.got(); len(got) != 0 {
		t.Fatalf("delivered before the kill: %v", got)
	}

	p = startBinary(t, dir, root, "LATCHKEY_OUTBOUND_ALLOW_PRIVATE=true", "LATCHKEY_WEBHOOK_POLL=20ms")
	deadline := time.Now().Add(20 * time.Second)
	for len(rcv.got()) < 3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := strings.Join(rcv.got(), " "); got != "key.created key.revoked key.leaked" {
		t.Fatalf("after the restart the receiver got %q, want key.created key.revoked key.leaked", got)
	}
	rcv.mu.Lock()
	bad := rcv.bad
	rcv.mu.Unlock()
	if bad != 0 {
		t.Fatalf("%d deliveries did not verify", bad)
	}
	r = runBinary(t, map[string]string{"LATCHKEY_URL": p.URL, "LATCHKEY_TOKEN": root}, "", "webhooks", "deliveries", w.ID)
	if r.code != 0 || strings.Count(r.stdout, "delivered") != 3 || strings.Contains(r.stdout, "whsec_") {
		t.Fatalf("webhooks deliveries: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
