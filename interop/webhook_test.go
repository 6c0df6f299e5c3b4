package interop_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/server"
)

// A real delivery of latchkey's webhook worker verifies with the npm
// standardwebhooks package (Standard Webhooks' reference implementation),
// during a secret rotation's grace with either secret; a changed body
// does not.
func TestInteropStandardWebhooks(t *testing.T) {
	needNode(t)
	type delivery struct {
		header http.Header
		body   []byte
	}
	got := make(chan delivery, 10)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- delivery{r.Header.Clone(), b}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rcv.Close()
	l := startLatchkeyConfig(t, func(c *server.Config) {
		c.OAuth.OutboundAllowPrivate = true
		c.Webhooks = server.WebhooksConfig{Poll: 20 * time.Millisecond}
	})
	c, err := client.New(l.URL, l.Root)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	w, err := c.CreateWebhook(ctx, api.CreateWebhookRequest{URL: rcv.URL, Events: []string{"key.created", "key.revoked"}})
	if err != nil {
		t.Fatal(err)
	}
	rot, err := c.RotateWebhookSecret(ctx, w.ID, api.RotateWebhookSecretRequest{Grace: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	k, err := c.CreateKey(ctx, api.CreateKeyRequest{Name: "interop"})
	if err != nil {
		t.Fatal(err)
	}
	var d delivery
	select {
	case d = <-got:
	case <-time.After(20 * time.Second):
		t.Fatal("no delivery within 20s")
	}
	headers := map[string]string{}
	for _, h := range []string{"webhook-id", "webhook-timestamp", "webhook-signature"} {
		headers[h] = d.header.Get(h)
	}
	hj, _ := json.Marshal(headers)
	for name, secret := range map[string]string{"old": w.Secret, "new": rot.Secret} {
		r := runNode(t, "webhook.mjs", map[string]string{"SECRET": secret, "HEADERS": string(hj), "BODY": string(d.body)})
		if !r.OK {
			t.Fatalf("standardwebhooks refused the delivery with the %s secret: %s %s", name, r.Out, r.Stderr)
		}
		var out struct {
			Verified struct {
				Type string            `json:"type"`
				Data map[string]string `json:"data"`
			} `json:"verified"`
		}
		if err := json.Unmarshal(r.Out, &out); err != nil || out.Verified.Type != "key.created" || out.Verified.Data["key_id"] != k.ID {
			t.Fatalf("verified payload %s (%v)", r.Out, err)
		}
	}
	tampered := bytes.Replace(d.body, []byte(k.ID), []byte(strings.ToUpper(k.ID)), 1)
	r := runNode(t, "webhook.mjs", map[string]string{"SECRET": rot.Secret, "HEADERS": string(hj), "BODY": string(tampered)})
	if r.OK {
		t.Fatalf("standardwebhooks accepted a changed body: %s", r.Out)
	}
}
