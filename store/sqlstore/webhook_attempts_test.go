package sqlstore

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/token"
	"github.com/latchkey/latchkey/webhook"
)

// oneDelivery creates webhook id, one delivery of it, and returns the
// delivery claimed by node "n".
func oneDelivery(t *testing.T, db *DB, id string, now time.Time) *webhook.Delivery {
	t.Helper()
	newHook(t, db, id, false, webhook.KeyRevoked)
	if err := db.AppendAudit(t.Context(), revokeEvent(token.NewID("key", now), "x", now)); err != nil {
		t.Fatal(err)
	}
	got, err := db.ClaimDeliveries(t.Context(), "n", now, now.Add(time.Minute), 1)
	if err != nil || len(got) != 1 {
		t.Fatalf("claim: %d (%v)", len(got), err)
	}
	return got[0]
}

// Every attempt of a delivery is recorded with FinishDelivery, newest
// first; a redelivery's attempts say so, a foreign webhook's delivery is
// not found, and the attempts go with their delivery.
func TestWebhooks_AttemptsRecorded(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		db := e.open(t)
		ctx := t.Context()
		now := time.Now()
		dl := oneDelivery(t, db, "wh_a", now)
		newHook(t, db, "wh_b", false, webhook.KeyCreated)
		attempts := []webhook.Attempt{
			{At: now, Status: 500, Duration: 20 * time.Millisecond, Error: "status 500", Response: "boom\x00\x1b[31m\nbad", State: webhook.Pending, Next: now},
			{At: now.Add(time.Second), Duration: 15 * time.Second, Error: "timed out after 15s", State: webhook.Pending, Next: now.Add(time.Second)},
			{At: now.Add(2 * time.Second), Status: 204, Duration: 3 * time.Millisecond, State: webhook.Delivered},
		}
		for i, a := range attempts {
			if i > 0 {
				if got, err := db.ClaimDeliveries(ctx, "n", a.At, a.At.Add(time.Minute), 1); err != nil || len(got) != 1 {
					t.Fatalf("claim %d: %d (%v)", i, len(got), err)
				}
			}
			if ok, err := db.FinishDelivery(ctx, dl.Seq, "n", a); err != nil || !ok {
				t.Fatalf("finish %d: %v %v", i, ok, err)
			}
		}
		got, err := db.Delivery(ctx, "wh_a", dl.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != webhook.Delivered || got.Attempts != 3 || len(got.History) != 3 {
			t.Fatalf("delivery %+v, want delivered after 3 recorded attempts", got)
		}
		h := got.History
		if h[0].N != 3 || h[0].Status != 204 || h[0].Error != "" || h[1].N != 2 || h[1].Status != 0 ||
			h[1].Error != "timed out after 15s" || h[1].Duration != 15*time.Second || h[2].N != 1 || h[2].Status != 500 {
			t.Fatalf("history, want newest first: %+v", h)
		}
		if h[2].Response != "boom[31m bad" || !h[2].At.Equal(now) || h[2].Redelivery {
			t.Fatalf("first attempt %+v: the response without control characters, at %v", h[2], now)
		}
		if _, err := db.Delivery(ctx, "wh_b", dl.ID); !errors.Is(err, token.ErrNotFound) {
			t.Fatalf("another webhook's delivery: %v, want not found", err)
		}
		if _, err := db.Delivery(ctx, "wh_a", "msg_none"); !errors.Is(err, token.ErrNotFound) {
			t.Fatalf("an unknown delivery: %v, want not found", err)
		}

		// A redelivery's attempts are marked and numbered on.
		later := now.Add(time.Minute)
		if _, err := db.Redeliver(ctx, "wh_a", dl.ID, later, nil); err != nil {
			t.Fatal(err)
		}
		if c, err := db.ClaimDeliveries(ctx, "n", later, later.Add(time.Minute), 1); err != nil || len(c) != 1 {
			t.Fatalf("claim the redelivery: %d (%v)", len(c), err)
		}
		if ok, err := db.FinishDelivery(ctx, dl.Seq, "n", webhook.Attempt{At: later, Status: 200, State: webhook.Delivered}); err != nil || !ok {
			t.Fatal(ok, err)
		}
		got, _ = db.Delivery(ctx, "wh_a", dl.ID)
		if len(got.History) != 4 || got.History[0].N != 4 || !got.History[0].Redelivery || got.History[1].Redelivery {
			t.Fatalf("after the redelivery: %+v", got.History)
		}

		// Pruning the delivery removes its attempts (cascade).
		if n, err := db.PruneDeliveries(ctx, now.Add(time.Hour)); err != nil || n != 1 {
			t.Fatalf("pruned %d (%v)", n, err)
		}
		var left int
		if err := db.e.reader().queryRow(ctx, "SELECT count(*) FROM webhook_attempts").Scan(&left); err != nil || left != 0 {
			t.Fatalf("%d attempts left after their delivery was pruned (%v)", left, err)
		}
	})
}

// A delivery keeps its newest MaxAttemptRecords attempts; deleting the
// webhook removes them.
func TestWebhooks_AttemptsBounded(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		db := e.open(t)
		ctx := t.Context()
		now := time.Now()
		dl := oneDelivery(t, db, "wh_a", now)
		total := webhook.MaxAttemptRecords + 5
		for i := range total {
			at := now.Add(time.Duration(i) * time.Second)
			if i > 0 {
				if c, err := db.ClaimDeliveries(ctx, "n", at, at.Add(time.Minute), 1); err != nil || len(c) != 1 {
					t.Fatalf("claim %d: %d (%v)", i, len(c), err)
				}
			}
			a := webhook.Attempt{At: at, Status: 503, Error: "status 503", Response: strings.Repeat("é", 400), State: webhook.Pending, Next: at}
			if ok, err := db.FinishDelivery(ctx, dl.Seq, "n", a); err != nil || !ok {
				t.Fatalf("finish %d: %v %v", i, ok, err)
			}
		}
		got, err := db.Delivery(ctx, "wh_a", dl.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.History) != webhook.MaxAttemptRecords || got.History[0].N != total || got.History[len(got.History)-1].N != total-webhook.MaxAttemptRecords+1 {
			t.Fatalf("kept %d attempts, %d…%d; want the newest %d", len(got.History), got.History[0].N, got.History[len(got.History)-1].N, webhook.MaxAttemptRecords)
		}
		if r := got.History[0].Response; len(r) > webhook.MaxExcerpt || r != strings.Repeat("é", webhook.MaxExcerpt/2) {
			t.Fatalf("response excerpt of %d bytes, want at most %d of whole runes", len(r), webhook.MaxExcerpt)
		}
		if err := db.DeleteWebhook(ctx, "wh_a", nil); err != nil {
			t.Fatal(err)
		}
		var left int
		if err := db.e.reader().queryRow(ctx, "SELECT count(*) FROM webhook_attempts").Scan(&left); err != nil || left != 0 {
			t.Fatalf("%d attempts left after their webhook was deleted (%v)", left, err)
		}
	})
}

// Concurrent creates cannot pass webhook.MaxWebhooks: the count and the
// insert are one locked transaction. Two stores on one database (two
// nodes on PostgreSQL) race for the last free places.
func TestWebhooks_CapHoldsUnderConcurrentCreates(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		a := e.open(t)
		b := e.reopen(t, a)
		ctx := t.Context()
		const free = 3
		for i := range webhook.MaxWebhooks - free {
			newHook(t, a, fmt.Sprintf("wh_%03d", i), false, webhook.KeyRevoked)
		}
		const racers = 16
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			ok, too int
			other   []error
			start   = make(chan struct{})
		)
		for i := range racers {
			db := a
			if i%2 == 1 {
				db = b
			}
			wg.Go(func() {
				<-start
				now := time.Now()
				w := &webhook.Webhook{ID: fmt.Sprintf("wh_race%02d", i), URL: "https://example.com/h", Events: []string{webhook.KeyRevoked},
					Secret: []byte("sealed"), CreatedAt: now, UpdatedAt: now}
				err := db.CreateWebhook(ctx, w, nil)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
				case errors.Is(err, webhook.ErrTooManyWebhooks):
					too++
				default:
					other = append(other, err)
				}
			})
		}
		close(start)
		wg.Wait()
		if len(other) > 0 {
			t.Fatalf("unexpected errors: %v", other)
		}
		ws, err := a.Webhooks(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ok != free || too != racers-free || len(ws) != webhook.MaxWebhooks {
			t.Fatalf("%d creates passed, %d refused, %d webhooks; want %d, %d, %d", ok, too, len(ws), free, racers-free, webhook.MaxWebhooks)
		}
	})
}
