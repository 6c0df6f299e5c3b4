package webhook_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/pgtest"
	"github.com/latchkey/latchkey/seal"
	"github.com/latchkey/latchkey/store/sqlstore"
	"github.com/latchkey/latchkey/token"
	"github.com/latchkey/latchkey/verify"
	"github.com/latchkey/latchkey/webhook"
)

// fixture is a real store, token service, webhook service and seal box.
type fixture struct {
	db     *sqlstore.DB
	tokens *token.Service
	hooks  *webhook.Service
	box    *seal.Box
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "latchkey.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return fixtureOn(t, db)
}

func fixtureOn(t *testing.T, db *sqlstore.DB) *fixture {
	tokens := token.NewService(token.Config{Store: db})
	if _, err := tokens.Bootstrap(t.Context(), ""); err != nil {
		t.Fatal(err)
	}
	box, err := seal.New([32]byte{7})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{db: db, tokens: tokens, box: box,
		hooks: webhook.NewService(webhook.Config{Store: db, Box: box, Tokens: tokens, AllowPrivate: true})}
}

func (f *fixture) dispatcher(allowPrivate bool, node string) *webhook.Dispatcher {
	return webhook.NewDispatcher(webhook.DispatcherConfig{Store: f.db, Box: f.box, AllowPrivate: allowPrivate, Node: node,
		Poll: 10 * time.Millisecond, Backoff: webhook.Backoff{Base: 20 * time.Millisecond, Max: 100 * time.Millisecond}})
}

func (f *fixture) create(t *testing.T, url string, events ...string) (*webhook.Webhook, string) {
	t.Helper()
	w, sec, err := f.hooks.Create(t.Context(), token.SystemActor, webhook.Params{URL: &url, Events: &events})
	if err != nil {
		t.Fatal(err)
	}
	return w, sec.Reveal()
}

// received is one request a receiver got.
type received struct {
	header http.Header
	body   []byte
	typ    string
	data   map[string]string
}

// receiver records requests and answers with answer (200 when nil).
type receiver struct {
	mu     sync.Mutex
	got    []received
	answer func(n int, w http.ResponseWriter) // n: requests so far, this one included
	srv    *httptest.Server
}

func newReceiver(t *testing.T, answer func(int, http.ResponseWriter)) *receiver {
	r := &receiver{answer: answer}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var p struct {
			Type string            `json:"type"`
			Data map[string]string `json:"data"`
		}
		json.Unmarshal(body, &p)
		r.mu.Lock()
		r.got = append(r.got, received{header: req.Header.Clone(), body: body, typ: p.Type, data: p.Data})
		n := len(r.got)
		r.mu.Unlock()
		if r.answer != nil {
			r.answer(n, w)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// eventually waits up to 20 s for cond (generous: a loaded 2-core box).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func run(t *testing.T, d *webhook.Dispatcher) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// A key's creation, revocation and leak reach the receiver signed as
// Standard Webhooks says, in order, without the key's secret.
func TestWebhooks_SignedDeliveriesInOrder(t *testing.T) {
	f := newFixture(t)
	rcv := newReceiver(t, nil)
	_, secret := f.create(t, rcv.srv.URL, webhook.KeyCreated, webhook.KeyRevoked, webhook.KeyLeaked)
	ctx := t.Context()
	ck, err := f.tokens.CreateKey(ctx, token.SystemActor, token.CreateKeyParams{Name: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.tokens.RevokeKey(ctx, token.SystemActor, ck.Key.ID, webhook.LeakedReason); err != nil {
		t.Fatal(err)
	}
	run(t, f.dispatcher(true, "n1"))
	eventually(t, "three deliveries", func() bool { return len(rcv.requests()) >= 3 })
	got := rcv.requests()
	want := []string{webhook.KeyCreated, webhook.KeyRevoked, webhook.KeyLeaked}
	ids := map[string]bool{}
	for i, r := range got {
		if r.typ != want[i] || r.data["key_id"] != ck.Key.ID {
			t.Errorf("delivery %d: %s about %q, want %s about %s", i, r.typ, r.data["key_id"], want[i], ck.Key.ID)
		}
		if err := verify.VerifyWebhook(secret, r.header, r.body, time.Minute); err != nil {
			t.Errorf("delivery %d does not verify: %v", i, err)
		}
		if strings.Contains(string(r.body), ck.Secret.Reveal()) || strings.Contains(string(r.body), "whsec_") {
			t.Errorf("delivery %d carries a secret", i)
		}
		ids[r.header.Get("webhook-id")] = true
	}
	if len(got) != 3 || len(ids) != 3 {
		t.Fatalf("%d deliveries with %d ids, want 3 and 3", len(got), len(ids))
	}
	if got[2].data["reason"] != "leaked" || got[0].data["keyspace"] != token.DefaultKeyspace {
		t.Errorf("payload data: %v / %v", got[0].data, got[2].data)
	}
}

// After a rotation both secrets sign during the grace; without one only
// the new secret does.
func TestWebhooks_RotationGraceSignsWithBoth(t *testing.T) {
	f := newFixture(t)
	rcv := newReceiver(t, nil)
	w, old := f.create(t, rcv.srv.URL, webhook.KeyCreated)
	_, sec, err := f.hooks.RotateSecret(t.Context(), token.SystemActor, w.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.tokens.CreateKey(t.Context(), token.SystemActor, token.CreateKeyParams{}); err != nil {
		t.Fatal(err)
	}
	d := f.dispatcher(true, "n1")
	eventually(t, "a delivery", func() bool { d.Once(t.Context()); return len(rcv.requests()) == 1 })
	r := rcv.requests()[0]
	if n := len(strings.Fields(r.header.Get("webhook-signature"))); n != 2 {
		t.Fatalf("%d signatures during the grace, want 2", n)
	}
	for _, s := range []string{old, sec.Reveal()} {
		if err := verify.VerifyWebhook(s, r.header, r.body, time.Minute); err != nil {
			t.Errorf("a secret does not verify during the grace: %v", err)
		}
	}
	_, sec2, err := f.hooks.RotateSecret(t.Context(), token.SystemActor, w.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.tokens.CreateKey(t.Context(), token.SystemActor, token.CreateKeyParams{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a second delivery", func() bool { d.Once(t.Context()); return len(rcv.requests()) == 2 })
	r = rcv.requests()[1]
	if verify.VerifyWebhook(sec.Reveal(), r.header, r.body, time.Minute) == nil {
		t.Error("the secret rotated out without a grace still signs")
	}
	if err := verify.VerifyWebhook(sec2.Reveal(), r.header, r.body, time.Minute); err != nil {
		t.Errorf("the new secret does not verify: %v", err)
	}
}

func deliveries(t *testing.T, f *fixture, id string) []*webhook.Delivery {
	t.Helper()
	ds, _, err := f.hooks.Deliveries(t.Context(), token.SystemActor, id, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// A 410 Gone disables the endpoint; nothing more is sent to it.
func TestWebhooks_GoneDisablesEndpoint(t *testing.T) {
	f := newFixture(t)
	rcv := newReceiver(t, func(_ int, w http.ResponseWriter) { w.WriteHeader(http.StatusGone) })
	w, _ := f.create(t, rcv.srv.URL, webhook.KeyCreated)
	for range 2 {
		if _, err := f.tokens.CreateKey(t.Context(), token.SystemActor, token.CreateKeyParams{}); err != nil {
			t.Fatal(err)
		}
	}
	d := f.dispatcher(true, "n1")
	if _, err := d.Once(t.Context()); err != nil {
		t.Fatal(err)
	}
	first := len(rcv.requests()) // both keys' events go out at once: 1 or 2
	if _, err := f.tokens.CreateKey(t.Context(), token.SystemActor, token.CreateKeyParams{}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := d.Once(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(rcv.requests()); first == 0 || n != first {
		t.Fatalf("%d requests after the first 410s, %d before; want none after", n-first, first)
	}
	got, err := f.hooks.Get(t.Context(), token.SystemActor, w.ID)
	if err != nil || !got.Disabled || got.DisabledReason != "gone" {
		t.Fatalf("webhook after a 410: %+v (%v)", got, err)
	}
	states := map[string]int{}
	for _, dl := range deliveries(t, f, w.ID) {
		states[dl.State]++
	}
	if states[webhook.Failed] != first || states[webhook.Failed]+states[webhook.Pending] != 2 {
		t.Fatalf("delivery states %v after %d 410s: want that many failed, the rest waiting, none for the key made after", states, first)
	}
}

// A redirect is not followed: the target never sees the event, and the
// attempt counts as failed.
func TestWebhooks_RedirectNotFollowed(t *testing.T) {
	f := newFixture(t)
	target := newReceiver(t, nil)
	rcv := newReceiver(t, func(_ int, w http.ResponseWriter) {
		w.Header().Set("Location", target.srv.URL)
		w.WriteHeader(http.StatusFound)
	})
	w, _ := f.create(t, rcv.srv.URL, webhook.KeyCreated)
	if _, err := f.tokens.CreateKey(t.Context(), token.SystemActor, token.CreateKeyParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.dispatcher(true, "n1").Once(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(rcv.requests()) != 1 || len(target.requests()) != 0 {
		t.Fatalf("%d requests to the endpoint, %d to the redirect target; want 1 and 0", len(rcv.requests()), len(target.requests()))
	}
	ds := deliveries(t, f, w.ID)
	if len(ds) != 1 || ds[0].State != webhook.Pending || ds[0].LastStatus != http.StatusFound || !strings.Contains(ds[0].LastError, "redirect not followed") {
		t.Fatalf("delivery after a redirect: %+v", ds[0])
	}
}

// Without LATCHKEY_OUTBOUND_ALLOW_PRIVATE a loopback receiver is never
// connected to, and a plain-http URL is refused when the webhook is made.
func TestWebhooks_LoopbackRefusedWithoutAllowFlag(t *testing.T) {
	f := newFixture(t)
	rcv := newReceiver(t, nil)
	w, _ := f.create(t, rcv.srv.URL, webhook.KeyCreated) // made by a service that allows it
	if _, err := f.tokens.CreateKey(t.Context(), token.SystemActor, token.CreateKeyParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.dispatcher(false, "n1").Once(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(rcv.requests()); n != 0 {
		t.Fatalf("the loopback receiver got %d requests", n)
	}
	ds := deliveries(t, f, w.ID)
	if len(ds) != 1 || ds[0].State != webhook.Pending || !strings.Contains(ds[0].LastError, "private address") {
		t.Fatalf("delivery to loopback: %+v", ds[0])
	}
	strict := webhook.NewService(webhook.Config{Store: f.db, Box: f.box, Tokens: f.tokens})
	for _, u := range []string{rcv.srv.URL, "ftp://example.com/x", "https://user:pw@example.com/", "/relative"} {
		evs := []string{webhook.KeyCreated}
		if _, _, err := strict.Create(t.Context(), token.SystemActor, webhook.Params{URL: &u, Events: &evs}); token.KindOf(err) != token.Invalid {
			t.Errorf("create with url %q: %v, want Invalid", u, err)
		}
	}
}

// A receiver down for a while gets every event once it is back, in order
// per key; Retry-After sets the wait.
func TestWebhooks_ReceiverDownThenInOrder(t *testing.T) {
	f := newFixture(t)
	var down sync.Mutex
	isDown := true
	rcv := newReceiver(t, func(_ int, w http.ResponseWriter) {
		down.Lock()
		defer down.Unlock()
		if isDown {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	w, _ := f.create(t, rcv.srv.URL, webhook.KeyRevoked)
	now := time.Now()
	const perKey = 5
	for i := range perKey {
		for _, k := range []string{"key_a", "key_b"} {
			ev := &token.AuditEvent{ID: token.NewID("aud", now), Time: now, ActorKeyID: "system", Action: "key.revoke",
				TargetType: "key", TargetID: k, Outcome: token.OutcomeSuccess,
				Detail: map[string]string{"reason": string(rune('0' + i)), "keyspace": "default"}}
			if err := f.db.AppendAudit(t.Context(), ev); err != nil {
				t.Fatal(err)
			}
		}
	}
	run(t, f.dispatcher(true, "n1"))
	eventually(t, "retries while down", func() bool { return len(rcv.requests()) >= 6 })
	down.Lock()
	isDown = false
	down.Unlock()
	eventually(t, "every event delivered", func() bool {
		n := 0
		for _, dl := range deliveries(t, f, w.ID) {
			if dl.State == webhook.Delivered {
				n++
			}
		}
		return n == 2*perKey
	})
	// A later event of a key is not attempted before the earlier one was
	// delivered, so the first arrivals of each key's ids are in order.
	order := map[string][]string{}
	seen := map[string]bool{}
	for _, r := range rcv.requests() {
		if id := r.header.Get("webhook-id"); !seen[id] {
			seen[id] = true
			order[r.data["key_id"]] = append(order[r.data["key_id"]], r.data["reason"])
		}
	}
	for _, k := range []string{"key_a", "key_b"} {
		if got := strings.Join(order[k], ""); got != "01234" {
			t.Errorf("key %s: events arrived in the order %q, want 01234", k, got)
		}
	}
}

// Retry-After replaces the backoff's wait.
func TestWebhooks_RetryAfterHonoured(t *testing.T) {
	f := newFixture(t)
	rcv := newReceiver(t, func(_ int, w http.ResponseWriter) {
		w.Header().Set("Retry-After", "90")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	w, _ := f.create(t, rcv.srv.URL, webhook.KeyCreated)
	if _, err := f.tokens.CreateKey(t.Context(), token.SystemActor, token.CreateKeyParams{}); err != nil {
		t.Fatal(err)
	}
	d := webhook.NewDispatcher(webhook.DispatcherConfig{Store: f.db, Box: f.box, AllowPrivate: true})
	if _, err := d.Once(t.Context()); err != nil {
		t.Fatal(err)
	}
	dl := deliveries(t, f, w.ID)[0]
	if wait := dl.NextAttemptAt.Sub(dl.LastAttemptAt); wait != 90*time.Second || dl.LastStatus != 429 {
		t.Fatalf("next attempt %s after a Retry-After: 90 (status %d)", wait, dl.LastStatus)
	}
}

// Two PostgreSQL nodes deliver each event once: neither sends what the
// other holds the lease of.
func TestWebhooks_TwoNodesDeliverEachOnce(t *testing.T) {
	url := pgtest.URL(t)
	schema := pgtest.Schema(t, url, "lk_webhooks_")
	open := func() *sqlstore.DB {
		db, err := sqlstore.OpenPostgres(t.Context(), url, sqlstore.WithSchema(schema))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	a := fixtureOn(t, open())
	b := fixtureOn(t, open())
	var mu sync.Mutex
	count := map[string]int{}
	rcv := newReceiver(t, func(_ int, w http.ResponseWriter) {
		time.Sleep(50 * time.Millisecond) // hold the lease a while
		w.WriteHeader(http.StatusOK)
	})
	w, _ := a.create(t, rcv.srv.URL, webhook.KeyCreated)
	const n = 30
	for range n {
		if _, err := a.tokens.CreateKey(t.Context(), token.SystemActor, token.CreateKeyParams{}); err != nil {
			t.Fatal(err)
		}
	}
	run(t, a.dispatcher(true, "node-a"))
	run(t, b.dispatcher(true, "node-b"))
	eventually(t, "every event delivered", func() bool {
		done := 0
		for _, dl := range deliveries(t, a, w.ID) {
			if dl.State == webhook.Delivered {
				done++
			}
		}
		return done == n
	})
	for _, r := range rcv.requests() {
		mu.Lock()
		count[r.header.Get("webhook-id")]++
		mu.Unlock()
	}
	if len(count) != n {
		t.Fatalf("%d distinct events received, want %d", len(count), n)
	}
	for id, c := range count {
		if c != 1 {
			t.Errorf("event %s delivered %d times", id, c)
		}
	}
}
