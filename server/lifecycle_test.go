package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/server"
)

// TestSEC_AUD01_AuditRecordPerChange_HTTP complements the domain test
// (token.TestSEC_AUD01_OneAuditRecordPerChange) with what HTTP adds: each
// state-changing request leaves exactly one audit record, and that record
// carries the request id the client sent in X-Request-Id, the acting
// credential and the outcome. Rejected input leaves none.
func TestSEC_AUD01_AuditRecordPerChange_HTTP(t *testing.T) {
	s := startServer(t, server.Config{})
	ctx := context.Background()
	root := s.client(t, s.Root)
	me, err := root.Self(ctx)
	if err != nil {
		t.Fatal(err)
	}
	vk, err := root.CreateKey(ctx, api.CreateKeyRequest{Keyspace: "latchkey", Scopes: []string{"keys:verify"}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-time.Second)
	send := func(rid, tok, method, path, body string, want int) []byte {
		t.Helper()
		req, err := http.NewRequest(method, s.URL+path, bytes.NewBufferString(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Request-Id", rid)
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var buf bytes.Buffer
		buf.ReadFrom(resp.Body)
		if resp.StatusCode != want || resp.Header.Get("X-Request-Id") != rid {
			t.Fatalf("%s %s: %d (X-Request-Id %q), want %d; %.200s", method, path, resp.StatusCode, resp.Header.Get("X-Request-Id"), want, buf.Bytes())
		}
		return buf.Bytes()
	}
	var k api.CreatedKey
	var rk api.RotatedKey
	send("aud01-keyspace", s.Root, "POST", "/v1/keyspaces", `{"name":"aud"}`, 201)
	send("aud01-user", s.Root, "POST", "/v1/users", `{"id":"u1"}`, 201)
	json.Unmarshal(send("aud01-create", s.Root, "POST", "/v1/keys", `{"keyspace":"aud"}`, 201), &k)
	send("aud01-update", s.Root, "PATCH", "/v1/keys/"+k.ID, `{"name":"renamed"}`, 200)
	json.Unmarshal(send("aud01-rotate", s.Root, "POST", "/v1/keys/"+k.ID+"/rotate", `{"grace_period":"1h"}`, 201), &rk)
	send("aud01-revoke", s.Root, "POST", "/v1/keys/"+rk.ID+"/revoke", `{"reason":"r"}`, 200)
	send("aud01-delete", s.Root, "DELETE", "/v1/keys/"+rk.ID, ``, 204)
	// Issue 16/17: webhooks, an app's secret, a recoverable key's reveal.
	var wh struct {
		ID string `json:"id"`
	}
	json.Unmarshal(send("aud01-webhook-create", s.Root, "POST", "/v1/webhooks", `{"url":"https://hooks.example/in","events":["key.revoked"]}`, 201), &wh)
	send("aud01-webhook-update", s.Root, "PATCH", "/v1/webhooks/"+wh.ID, `{"events":["key.revoked","key.leaked"]}`, 200)
	send("aud01-webhook-rotate", s.Root, "POST", "/v1/webhooks/"+wh.ID+"/rotate-secret", `{}`, 200)
	send("aud01-webhook-delete", s.Root, "DELETE", "/v1/webhooks/"+wh.ID, ``, 204)
	send("aud01-app", s.Root, "POST", "/v1/apps", `{"id":"a1","oauth":{"grant_types":["client_credentials"]}}`, 201)
	send("aud01-app-secret", s.Root, "POST", "/v1/apps/a1/secret", `{"grace_period":"1h"}`, 201)
	send("aud01-recoverable", s.Root, "POST", "/v1/keyspaces", `{"name":"rec","recoverable":true}`, 201)
	var rec api.CreatedKey
	json.Unmarshal(send("aud01-rec-create", s.Root, "POST", "/v1/keys", `{"keyspace":"rec"}`, 201), &rec)
	send("aud01-reveal", s.Root, "GET", "/v1/keys/"+rec.ID+"/secret", ``, 200)
	send("aud01-denied", vk.Secret, "POST", "/v1/keys", `{}`, 403)
	send("aud01-invalid", s.Root, "POST", "/v1/keys", `{"keyspace":"nope"}`, 422)
	send("aud01-malformed", s.Root, "POST", "/v1/keys", `{"name":`, 400)
	send("aud01-verify", s.Root, "POST", "/v1/keys/verify", `{"key":"lk_x"}`, 200)

	byRequest := map[string][]api.AuditEvent{}
	opts := client.AuditListOptions{Limit: 500}
	for range 100 {
		page, err := root.Audit(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Items {
			byRequest[e.RequestID] = append(byRequest[e.RequestID], e)
		}
		if opts.Cursor = page.NextCursor; opts.Cursor == "" {
			break
		}
	}
	tests := []struct {
		rid, action, target, actor, outcome string
	}{
		{"aud01-keyspace", "keyspace.create", "aud", me.KeyID, "success"},
		{"aud01-user", "user.create", "u1", me.KeyID, "success"},
		{"aud01-create", "key.create", k.ID, me.KeyID, "success"},
		{"aud01-update", "key.update", k.ID, me.KeyID, "success"},
		{"aud01-rotate", "key.rotate", k.ID, me.KeyID, "success"},
		{"aud01-revoke", "key.revoke", rk.ID, me.KeyID, "success"},
		{"aud01-delete", "key.delete", rk.ID, me.KeyID, "success"},
		{"aud01-webhook-create", "webhook.create", wh.ID, me.KeyID, "success"},
		{"aud01-webhook-update", "webhook.update", wh.ID, me.KeyID, "success"},
		{"aud01-webhook-rotate", "webhook.rotate_secret", wh.ID, me.KeyID, "success"},
		{"aud01-webhook-delete", "webhook.delete", wh.ID, me.KeyID, "success"},
		{"aud01-app", "app.create", "a1", me.KeyID, "success"},
		{"aud01-app-secret", "app.secret.rotate", "a1", me.KeyID, "success"},
		{"aud01-recoverable", "keyspace.create", "rec", me.KeyID, "success"},
		{"aud01-rec-create", "key.create", rec.ID, me.KeyID, "success"},
		{"aud01-reveal", "key.reveal", rec.ID, me.KeyID, "success"},
		{"aud01-denied", "key.create", "", vk.ID, "denied"},
	}
	for _, tt := range tests {
		t.Run(tt.rid, func(t *testing.T) {
			evs := byRequest[tt.rid]
			if len(evs) != 1 {
				t.Fatalf("%d audit records with request id %s, want exactly 1: %+v", len(evs), tt.rid, evs)
			}
			e := evs[0]
			if e.Action != tt.action || e.TargetID != tt.target || e.Actor != tt.actor || e.Outcome != tt.outcome ||
				e.Time.Before(start) || e.Time.After(time.Now().Add(time.Second)) {
				t.Errorf("audit record %+v, want action %s target %q actor %s outcome %s", e, tt.action, tt.target, tt.actor, tt.outcome)
			}
		})
	}
	for _, rid := range []string{"aud01-invalid", "aud01-malformed", "aud01-verify"} {
		if n := len(byRequest[rid]); n != 0 {
			t.Errorf("request %s changed nothing but left %d audit records", rid, n)
		}
	}
}

// TestREL06_ExpiryWhileDown_HTTP: a key whose expiry passes while the
// server is stopped verifies EXPIRED on the first request after the restart,
// and a key that expires while cached as VALID verifies EXPIRED too. The
// server has no injectable clock, so the test waits for the real one: keys
// live the minimum lifetime of one second.
func TestREL06_ExpiryWhileDown_HTTP(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := startServer(t, server.Config{DataDir: dir})
	c := s.client(t, s.Root)
	create := func() *api.CreatedKey {
		k, err := c.CreateKey(ctx, api.CreateKeyRequest{ExpiresIn: "1s"})
		if err != nil {
			t.Fatal(err)
		}
		if res, err := c.Verify(ctx, api.VerifyRequest{Key: k.Secret}); err != nil || res.Code != "VALID" {
			t.Fatalf("fresh key: %+v %v", res, err)
		}
		return k
	}
	cached, down := create(), create()
	for deadline := time.Now().Add(5 * time.Second); !time.Now().After(down.ExpiresAt.Add(20 * time.Millisecond)); {
		if time.Now().After(deadline) {
			t.Fatal("the keys' expiry never passed")
		}
		time.Sleep(20 * time.Millisecond) // waiting for the wall clock is the point
	}
	if res, err := c.Verify(ctx, api.VerifyRequest{Key: cached.Secret}); err != nil || res.Code != "EXPIRED" || res.Valid {
		t.Errorf("key expired while cached: %+v %v, want EXPIRED", res, err)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	s = startServer(t, server.Config{DataDir: dir})
	c = s.client(t, s.Root)
	if res, err := c.Verify(ctx, api.VerifyRequest{Key: down.Secret}); err != nil || res.Code != "EXPIRED" || res.Valid {
		t.Errorf("key expired while the server was down: %+v %v, want EXPIRED", res, err)
	}
	if k, err := c.Key(ctx, down.ID); err != nil || k.State != "expired" {
		t.Errorf("key expired while down: %+v %v, want state expired", k, err)
	}
}
