package sqlstore

import (
	"testing"
	"time"

	"github.com/latchkey/latchkey/token"
	"github.com/latchkey/latchkey/webhook"
)

func revokeEvent(keyID, reason string, at time.Time) *token.AuditEvent {
	return &token.AuditEvent{ID: token.NewID("aud", at), Time: at, ActorKeyID: "key_admin", Action: "key.revoke",
		TargetType: "key", TargetID: keyID, Outcome: token.OutcomeSuccess,
		Detail: map[string]string{"reason": reason, "keyspace": "default"}}
}

func newHook(t *testing.T, db *DB, id string, disabled bool, events ...string) {
	t.Helper()
	now := time.Now()
	w := &webhook.Webhook{ID: id, URL: "https://example.com/h", Events: events, Secret: []byte("sealed"),
		Disabled: disabled, CreatedAt: now, UpdatedAt: now}
	if err := db.CreateWebhook(t.Context(), w, nil); err != nil {
		t.Fatal(err)
	}
}

// The outbox rows are written by the audit write of the change, one per
// subscribed, enabled webhook and event.
func TestWebhooks_OutboxWrittenWithAudit(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		db := e.open(t)
		ctx := t.Context()
		newHook(t, db, "wh_a", false, webhook.KeyRevoked, webhook.KeyLeaked)
		newHook(t, db, "wh_b", false, webhook.KeyCreated)
		newHook(t, db, "wh_c", true, webhook.KeyRevoked)
		now := time.Now()
		if err := db.AppendAudit(ctx, revokeEvent("key_1", "leaked", now)); err != nil {
			t.Fatal(err)
		}
		for id, want := range map[string]int{"wh_a": 2, "wh_b": 0, "wh_c": 0} {
			ds, _, err := db.Deliveries(ctx, id, 0, 10)
			if err != nil || len(ds) != want {
				t.Fatalf("%s: %d deliveries (%v), want %d", id, len(ds), err, want)
			}
		}
		ds, _, _ := db.Deliveries(ctx, "wh_a", 0, 10)
		types := map[string]bool{ds[0].Type: true, ds[1].Type: true}
		if !types[webhook.KeyRevoked] || !types[webhook.KeyLeaked] || ds[0].ID == ds[1].ID {
			t.Fatalf("deliveries %+v %+v", ds[0], ds[1])
		}
		// A denied action causes no event.
		denied := revokeEvent("key_2", "x", now)
		denied.Outcome = token.OutcomeDenied
		if err := db.AppendAudit(ctx, denied); err != nil {
			t.Fatal(err)
		}
		if ds, _, _ := db.Deliveries(ctx, "wh_a", 0, 10); len(ds) != 2 {
			t.Fatalf("a denied revoke added deliveries: %d", len(ds))
		}
	})
}

// A lease keeps a delivery from every other node, and a later event of the
// same key waits for the earlier one.
func TestWebhooks_ClaimLeaseAndOrder(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		a := e.open(t)
		b := e.reopen(t, a)
		ctx := t.Context()
		newHook(t, a, "wh_a", false, webhook.KeyRevoked, webhook.KeyCreated)
		now := time.Now()
		if err := a.AppendAudit(ctx, revokeEvent("key_1", "first", now)); err != nil {
			t.Fatal(err)
		}
		if err := a.AppendAudit(ctx, revokeEvent("key_1", "second", now)); err != nil {
			t.Fatal(err)
		}
		if err := a.AppendAudit(ctx, revokeEvent("key_2", "other", now)); err != nil {
			t.Fatal(err)
		}
		later := now.Add(time.Second)
		got, err := a.ClaimDeliveries(ctx, "node-a", later, later.Add(time.Minute), 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].OrderKey != "key:key_1" || got[1].OrderKey != "key:key_2" {
			t.Fatalf("claimed %d (%+v), want the first of key_1 and key_2", len(got), got)
		}
		if again, err := b.ClaimDeliveries(ctx, "node-b", later, later.Add(time.Minute), 10); err != nil || len(again) != 0 {
			t.Fatalf("node b claimed %d leased deliveries (%v)", len(again), err)
		}
		// node b cannot record an attempt of node a's lease
		if ok, err := b.FinishDelivery(ctx, got[0].Seq, "node-b", webhook.Attempt{At: later, State: webhook.Delivered}); err != nil || ok {
			t.Fatalf("finish by another node: %v %v", ok, err)
		}
		if ok, err := a.FinishDelivery(ctx, got[0].Seq, "node-a", webhook.Attempt{At: later, Status: 204, State: webhook.Delivered}); err != nil || !ok {
			t.Fatalf("finish: %v %v", ok, err)
		}
		next, err := b.ClaimDeliveries(ctx, "node-b", later, later.Add(time.Minute), 10)
		if err != nil || len(next) != 1 || next[0].OrderKey != "key:key_1" || next[0].Seq <= got[0].Seq {
			t.Fatalf("after the first: %+v (%v), want key_1's second", next, err)
		}
		// After the lease ran out, another node may claim (at least once).
		expired := later.Add(2 * time.Minute)
		if re, err := a.ClaimDeliveries(ctx, "node-a", expired, expired.Add(time.Minute), 10); err != nil || len(re) != 2 {
			t.Fatalf("after the leases ran out: %d (%v), want 2", len(re), err)
		}
	})
}

// A 410 answer disables the webhook; its pending deliveries wait.
func TestWebhooks_GoneDisables(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		db := e.open(t)
		ctx := t.Context()
		newHook(t, db, "wh_a", false, webhook.KeyRevoked)
		now := time.Now()
		for range 2 {
			if err := db.AppendAudit(ctx, revokeEvent(token.NewID("key", now), "x", now)); err != nil {
				t.Fatal(err)
			}
		}
		got, err := db.ClaimDeliveries(ctx, "n", now, now.Add(time.Minute), 1)
		if err != nil || len(got) != 1 {
			t.Fatal(len(got), err)
		}
		if ok, err := db.FinishDelivery(ctx, got[0].Seq, "n", webhook.Attempt{At: now, Status: 410, State: webhook.Failed, Gone: true}); !ok || err != nil {
			t.Fatal(ok, err)
		}
		w, err := db.Webhook(ctx, "wh_a")
		if err != nil || !w.Disabled || w.DisabledReason != "gone" {
			t.Fatalf("webhook after 410: %+v %v", w, err)
		}
		if more, _ := db.ClaimDeliveries(ctx, "n", now, now.Add(time.Minute), 10); len(more) != 0 {
			t.Fatalf("a disabled webhook's delivery was claimed")
		}
		if _, err := db.Redeliver(ctx, "wh_a", got[0].ID, now, nil); err != nil {
			t.Fatal(err)
		}
		if n, err := db.PruneDeliveries(ctx, now.Add(time.Hour)); err != nil || n != 0 {
			t.Fatalf("pruned %d pending deliveries (%v)", n, err)
		}
	})
}
