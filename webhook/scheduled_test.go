package webhook_test

import (
	"testing"
	"time"

	"github.com/latchkey/latchkey/ratelimit"
	"github.com/latchkey/latchkey/token"
	"github.com/latchkey/latchkey/webhook"
)

func countType(t *testing.T, f *fixture, id, typ string) int {
	n := 0
	for _, dl := range deliveries(t, f, id) {
		if dl.Type == typ {
			n++
		}
	}
	return n
}

// key.expiring fires 7 days and 1 day ahead, once each, however many
// nodes scan; short-lived keys get no 7-day event.
func TestWebhooks_KeyExpiringOncePerThreshold(t *testing.T) {
	f := newFixture(t)
	w, _ := f.create(t, "https://example.com/hook", webhook.KeyExpiring)
	ctx := t.Context()
	start := time.Now()
	long, err := f.tokens.CreateKey(ctx, token.SystemActor, token.CreateKeyParams{ExpiresIn: 10 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.tokens.CreateKey(ctx, token.SystemActor, token.CreateKeyParams{ExpiresIn: time.Hour}); err != nil {
		t.Fatal(err)
	}
	scan := func(at time.Time) {
		t.Helper()
		for _, node := range []string{"a", "b"} {
			d := webhook.NewDispatcher(webhook.DispatcherConfig{Store: f.db, Box: f.box, Node: node, Now: func() time.Time { return at }})
			if err := d.ScanExpiring(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	aheads := func() map[string]int {
		m := map[string]int{}
		for _, dl := range deliveries(t, f, w.ID) {
			m[dl.OrderKey]++
		}
		return m
	}
	scan(start)
	if n := countType(t, f, w.ID, webhook.KeyExpiring); n != 0 {
		t.Fatalf("%d key.expiring events 10 days ahead (and for a 1-hour key), want 0", n)
	}
	scan(start.Add(4 * 24 * time.Hour))
	scan(start.Add(5 * 24 * time.Hour))
	if n := countType(t, f, w.ID, webhook.KeyExpiring); n != 1 {
		t.Fatalf("%d key.expiring events 6 and 5 days ahead, want 1 (7d)", n)
	}
	scan(start.Add(9*24*time.Hour + time.Hour))
	scan(start.Add(9*24*time.Hour + 2*time.Hour))
	if got := aheads(); got["key:"+long.Key.ID] != 2 || len(got) != 1 {
		t.Fatalf("key.expiring deliveries by key: %v, want 2 for the 10-day key only", got)
	}
}

// A key over its rate limit causes one ratelimit.exceeded per window,
// not one per refused request.
func TestWebhooks_RateLimitExceededOncePerWindow(t *testing.T) {
	f := newFixture(t)
	w, _ := f.create(t, "https://example.com/hook", webhook.RateLimitExceeded)
	ctx := t.Context()
	ck, err := f.tokens.CreateKey(ctx, token.SystemActor, token.CreateKeyParams{
		RateLimits: []ratelimit.Limit{{Name: "burst", Limit: 1, Window: 24 * time.Hour}}})
	if err != nil {
		t.Fatal(err)
	}
	n := webhook.NewLimitNotifier(webhook.NewDispatcher(webhook.DispatcherConfig{Store: f.db, Box: f.box}))
	f.tokens.SetOnRateLimited(n.Notify)
	run := make(chan struct{})
	go func() { defer close(run); n.Run(ctx) }()
	refused := 0
	for range 20 {
		res, err := f.tokens.Verify(ctx, token.VerifyRequest{Key: ck.Secret.Reveal()})
		if err != nil {
			t.Fatal(err)
		}
		if res.Code == token.CodeRateLimited {
			refused++
		}
	}
	if refused != 19 {
		t.Fatalf("%d refusals, want 19", refused)
	}
	eventually(t, "a ratelimit.exceeded event", func() bool { return countType(t, f, w.ID, webhook.RateLimitExceeded) >= 1 })
	time.Sleep(200 * time.Millisecond) // room for a (wrong) second event to be written
	if c := countType(t, f, w.ID, webhook.RateLimitExceeded); c != 1 {
		t.Fatalf("%d ratelimit.exceeded events for one window, want 1", c)
	}
	// A second process (node) refusing in the same window adds none.
	other := webhook.NewLimitNotifier(webhook.NewDispatcher(webhook.DispatcherConfig{Store: f.db, Box: f.box}))
	done := make(chan struct{})
	go func() { defer close(done); other.Run(ctx) }()
	other.Notify(token.RateLimited{KeyID: ck.Key.ID, Keyspace: ck.Key.Keyspace, Limit: ratelimit.Limit{Name: "burst", Limit: 1, Window: 24 * time.Hour}, At: time.Now()})
	time.Sleep(200 * time.Millisecond)
	if c := countType(t, f, w.ID, webhook.RateLimitExceeded); c != 1 {
		t.Fatalf("%d ratelimit.exceeded events after another node's refusal, want 1", c)
	}
}
