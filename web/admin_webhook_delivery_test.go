package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
)

// TestConsoleWebhookDelivery: a delivery's page lists each attempt, newest
// first, with the receiver's status and the start of its answer escaped
// (a receiver's HTML is text); its Redeliver comes back to the page, where
// the new attempt is marked a redelivery. It is 403 for a user who is no
// admin and for an admin without webhooks:read, 404 under another webhook.
func TestConsoleWebhookDelivery(t *testing.T) {
	o := newOpsStack(t, true)
	var n atomic.Int32
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hook" && n.Add(1) == 1 {
			w.WriteHeader(http.StatusInternalServerError)
			w.Write([]byte(`<script>alert("x")</script> failed`))
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer rc.Close()
	b, _ := o.signIn(t, "ada", `"admin"`, true)
	b.get("/ui/webhooks")
	p := b.post("/ui/webhooks", url.Values{"url": {rc.URL + "/hook"}, "events": {"key.revoked"}})
	m := webhookIDRE.FindStringSubmatch(p.body)
	if p.status != http.StatusCreated || m == nil {
		t.Fatalf("create: %d %.300s", p.status, p.body)
	}
	id := m[1]
	b.get("/ui/webhooks")
	p = b.post("/ui/webhooks", url.Values{"url": {rc.URL + "/other"}, "events": {"key.created"}})
	otherID := webhookIDRE.FindStringSubmatch(p.body)[1]

	var k struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(o.must(201, "POST", "/v1/keys", `{"name":"doomed"}`), &k); err != nil {
		t.Fatal(err)
	}
	o.must(200, "POST", "/v1/keys/"+k.ID+"/revoke", `{"reason":"test"}`)
	o.once(t)
	p = b.get("/ui/webhooks/" + id)
	dm := regexp.MustCompile(`id="delivery-(msg_[A-Za-z0-9_]+)"`).FindStringSubmatch(p.body)
	if dm == nil || !strings.Contains(p.body, "HTTP 500") {
		t.Fatalf("the webhook page lacks a delivery answered 500: %.1500s", p.body)
	}
	did := dm[1]
	path := "/ui/webhooks/" + id + "/deliveries/" + did
	if !strings.Contains(p.body, `href="`+path+`"`) {
		t.Fatalf("the webhook page does not link to the delivery's page: %.1500s", p.body)
	}
	p = b.get(path)
	if p.status != http.StatusOK || !strings.Contains(p.body, `id="attempt-1"`) || !strings.Contains(p.body, "HTTP 500") ||
		!strings.Contains(p.body, "status 500") || !strings.Contains(p.body, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; failed") {
		t.Fatalf("delivery page: %d %.2500s", p.status, p.body)
	}
	if strings.Contains(p.body, `<script>alert`) {
		t.Fatal("the receiver's answer is rendered as HTML")
	}

	p = b.post(path+"/redeliver", url.Values{"back": {"delivery"}})
	if p.status != http.StatusOK || !strings.Contains(p.body, "will be sent again") || !strings.Contains(p.body, `id="attempt-list"`) {
		t.Fatalf("redeliver from the delivery page: %d %.500s", p.status, p.body)
	}
	o.once(t)
	p = b.get(path)
	i2, i1 := strings.Index(p.body, `id="attempt-2"`), strings.Index(p.body, `id="attempt-1"`)
	if i2 < 0 || i1 < i2 || !strings.Contains(p.body, "HTTP 202") || !strings.Contains(p.body, "redelivery") {
		t.Fatalf("after the redelivery, want attempt 2 (202, a redelivery) above attempt 1: %.2500s", p.body)
	}
	if strings.Contains(p.body, "whsec_") {
		t.Fatal("the delivery page shows a signing secret")
	}

	for _, bad := range []string{"/ui/webhooks/" + otherID + "/deliveries/" + did, "/ui/webhooks/" + id + "/deliveries/msg_nope", "/ui/webhooks/wh_nope/deliveries/" + did} {
		if p := b.get(bad); p.status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", bad, p.status)
		}
	}
	pub, _ := o.signIn(t, "pat", `"orders:read"`, false)
	if p := pub.get(path); p.status != http.StatusForbidden || strings.Contains(p.body, "HTTP 500") {
		t.Errorf("a non-admin: %d", p.status)
	}
	kim, _ := o.signIn(t, "kim", `"keys:read"`, true)
	if p := kim.get(path); p.status != http.StatusForbidden || strings.Contains(p.body, "HTTP 500") {
		t.Errorf("an admin without webhooks:read: %d", p.status)
	}
	rita, _ := o.signIn(t, "rita", `"webhooks:read"`, true)
	if p := rita.get(path); p.status != http.StatusOK || strings.Contains(p.body, "/redeliver") {
		t.Errorf("webhooks:read: %d, offered Redeliver: %v", p.status, strings.Contains(p.body, "/redeliver"))
	}
}
