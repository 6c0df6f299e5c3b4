package transfer_test

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/latchkey/latchkey/store/transfer"
	"github.com/latchkey/latchkey/token"
	"github.com/latchkey/latchkey/webhook"
)

// Webhooks travel with their sealed secrets; the imported audit log adds
// no deliveries to them (webhooks are imported after it).
func TestWebhooks_ExportImport(t *testing.T) {
	src, dst := openSQLite(t), openSQLite(t)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	w := &webhook.Webhook{ID: "wh_1", URL: "https://example.com/h", Events: []string{webhook.KeyCreated, webhook.KeyRevoked},
		Description: "ops", Secret: []byte("sealed-new"), PrevSecret: []byte("sealed-old"), PrevUntil: now.Add(time.Hour),
		CreatedAt: now, UpdatedAt: now}
	if err := src.CreateWebhook(ctx, w, nil); err != nil {
		t.Fatal(err)
	}
	ev := &token.AuditEvent{ID: token.NewID("aud", now), Time: now, ActorKeyID: "system", Action: "key.revoke",
		TargetType: "key", TargetID: "key_1", Outcome: token.OutcomeSuccess, Detail: map[string]string{"keyspace": "default", "reason": "x"}}
	if err := src.AppendAudit(ctx, ev); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	out, err := transfer.Export(ctx, src, &buf, transfer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	n, err := transfer.Import(ctx, dst, &buf, transfer.Options{})
	if err != nil || n != out {
		t.Fatalf("imported %+v (%v), exported %+v", n, err, out)
	}
	if n.Webhooks != 1 {
		t.Fatalf("copied %+v, want 1 webhook", n)
	}
	got, err := dst.Webhook(ctx, "wh_1")
	if err != nil {
		t.Fatal(err)
	}
	if got.URL != w.URL || !slices.Equal(got.Events, w.Events) || string(got.Secret) != "sealed-new" ||
		string(got.PrevSecret) != "sealed-old" || !got.PrevUntil.Equal(w.PrevUntil) || got.Disabled ||
		!got.CreatedAt.Equal(now) || got.Description != "ops" {
		t.Fatalf("imported %+v, want %+v", got, w)
	}
	if ds, _, err := dst.Deliveries(ctx, "wh_1", 0, 10); err != nil || len(ds) != 0 {
		t.Fatalf("the import made %d deliveries (%v), want none", len(ds), err)
	}
}
