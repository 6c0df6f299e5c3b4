package webhook_test

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/latchkey/latchkey/internal/pgtest"
	"github.com/latchkey/latchkey/scope"
	"github.com/latchkey/latchkey/store/sqlstore"
	"github.com/latchkey/latchkey/token"
	"github.com/latchkey/latchkey/webhook"
)

// Each attempt is recorded: a receiver that fails twice (500 with a body,
// then 503) and then succeeds leaves three attempts with their statuses,
// newest first, the first bytes of each answer, and no secret.
func TestWebhooks_DispatcherRecordsEveryAttempt(t *testing.T) {
	f := newFixture(t)
	rcv := newReceiver(t, func(n int, w http.ResponseWriter) {
		switch n {
		case 1:
			w.WriteHeader(http.StatusInternalServerError)
			w.Write([]byte("database down\x00\x07 " + strings.Repeat("x", 2000)))
		case 2:
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("busy"))
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	})
	w, secret := f.create(t, rcv.srv.URL, webhook.KeyCreated)
	if _, err := f.tokens.CreateKey(t.Context(), token.SystemActor, token.CreateKeyParams{Name: "ci"}); err != nil {
		t.Fatal(err)
	}
	run(t, f.dispatcher(true, "n1"))
	var dl *webhook.Delivery
	eventually(t, "the delivery delivered", func() bool {
		ds := deliveries(t, f, w.ID)
		if len(ds) != 1 || ds[0].State != webhook.Delivered {
			return false
		}
		dl = ds[0]
		return true
	})
	reader := &token.Actor{KeyID: "key_r", Scopes: scope.Set{token.ScopeWebhooksRead}}
	got, err := f.hooks.Delivery(t.Context(), reader, w.ID, dl.ID)
	if err != nil {
		t.Fatal(err)
	}
	h := got.History
	if len(h) != 3 || len(rcv.requests()) != 3 {
		t.Fatalf("%d attempts recorded, %d requests received; want 3 and 3", len(h), len(rcv.requests()))
	}
	for i, want := range []struct {
		n, status int
		err       string
	}{{3, 204, ""}, {2, 503, "status 503"}, {1, 500, "status 500"}} {
		if h[i].N != want.n || h[i].Status != want.status || h[i].Error != want.err || h[i].Redelivery {
			t.Errorf("attempt %d: %+v, want #%d status %d error %q", i, h[i], want.n, want.status, want.err)
		}
		if h[i].At.IsZero() || h[i].Duration <= 0 {
			t.Errorf("attempt %d has no time or duration: %+v", i, h[i])
		}
		if strings.Contains(h[i].Response, secret) || strings.Contains(h[i].Error, "whsec_") {
			t.Errorf("attempt %d holds the signing secret", i)
		}
	}
	if !h[0].At.After(h[1].At) || !h[1].At.After(h[2].At) {
		t.Errorf("attempts not newest first: %v %v %v", h[0].At, h[1].At, h[2].At)
	}
	if r := h[2].Response; !strings.HasPrefix(r, "database down xxx") || len(r) > webhook.MaxExcerpt {
		t.Errorf("first answer's excerpt %q (%d bytes), want its start, control characters removed, at most %d bytes", r[:min(len(r), 40)], len(r), webhook.MaxExcerpt)
	}
	if h[1].Response != "busy" || h[0].Response != "" {
		t.Errorf("excerpts %q, %q", h[1].Response, h[0].Response)
	}

	// Another webhook's delivery is not found; without webhooks:read, no
	// delivery at all.
	other, _ := f.create(t, rcv.srv.URL, webhook.KeyRevoked)
	if _, err := f.hooks.Delivery(t.Context(), reader, other.ID, dl.ID); token.KindOf(err) != token.NotFound {
		t.Errorf("another webhook's delivery: %v, want NotFound", err)
	}
	keys := &token.Actor{KeyID: "key_k", Scopes: scope.Set{token.ScopeKeysWrite}}
	if _, err := f.hooks.Delivery(t.Context(), keys, w.ID, dl.ID); token.KindOf(err) != token.PermissionDenied {
		t.Errorf("keys:write reads a delivery: %v, want PermissionDenied", err)
	}

	// A redelivery adds an attempt marked as one.
	if _, err := f.hooks.Redeliver(t.Context(), token.SystemActor, w.ID, dl.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the redelivery's attempt", func() bool {
		got, err := f.hooks.Delivery(t.Context(), reader, w.ID, dl.ID)
		return err == nil && len(got.History) == 4 && got.History[0].Redelivery && got.History[0].Status == 204
	})
}

func TestExcerpt(t *testing.T) {
	for in, want := range map[string]string{
		"ok":                         "ok",
		"  line1\r\nline2\tend  ":    "line1  line2 end",
		"nul\x00bell\x07esc\x1b[0m":  "nulbellesc[0m",
		"bad\xff\xfeutf8":            "badutf8",
		"rtl\u202eoverride\u2028sep": "rtloverridesep",
		strings.Repeat("€", 200):     strings.Repeat("€", 170),    // 510 bytes: the 171st rune is cut at 512
		"<script>alert(1)</script>":  "<script>alert(1)</script>", // kept as text: pages escape it
	} {
		if got := webhook.Excerpt([]byte(in)); got != want {
			t.Errorf("Excerpt(%q) = %q, want %q", in[:min(len(in), 30)], got[:min(len(got), 30)], want[:min(len(want), 30)])
		}
	}
}

// MaxWebhooks holds when creates race for the last places: on SQLite
// and on two PostgreSQL nodes, exactly the free places are taken and the
// others are refused with too_many_webhooks (Conflict), not an error.
func TestWebhooks_MaxWebhooksUnderConcurrentCreates(t *testing.T) {
	engines := map[string]func(t *testing.T) (*fixture, *fixture){
		"sqlite": func(t *testing.T) (*fixture, *fixture) { f := newFixture(t); return f, f },
		"postgres": func(t *testing.T) (*fixture, *fixture) {
			url := pgtest.URL(t)
			schema := pgtest.Schema(t, url, "lk_webhooks_cap_")
			open := func() *sqlstore.DB {
				db, err := sqlstore.OpenPostgres(t.Context(), url, sqlstore.WithSchema(schema))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				return db
			}
			return fixtureOn(t, open()), fixtureOn(t, open())
		},
	}
	for name, open := range engines {
		t.Run(name, func(t *testing.T) {
			a, b := open(t)
			const free, racers = 2, 12
			for range webhook.MaxWebhooks - free {
				a.create(t, "https://example.com/h", webhook.KeyRevoked)
			}
			var (
				wg        sync.WaitGroup
				ok, full  atomic.Int32
				mu        sync.Mutex
				unexpect  []error
				start     = make(chan struct{})
				u, events = "https://example.com/race", []string{webhook.KeyRevoked}
			)
			for i := range racers {
				f := a
				if i%2 == 1 {
					f = b
				}
				wg.Go(func() {
					<-start
					_, _, err := f.hooks.Create(t.Context(), token.SystemActor, webhook.Params{URL: &u, Events: &events})
					var te *token.Error
					switch {
					case err == nil:
						ok.Add(1)
					case errors.As(err, &te) && te.Kind == token.Conflict && te.Code == "too_many_webhooks":
						full.Add(1)
					default:
						mu.Lock()
						unexpect = append(unexpect, err)
						mu.Unlock()
					}
				})
			}
			close(start)
			wg.Wait()
			if len(unexpect) > 0 {
				t.Fatalf("unexpected errors: %v", unexpect)
			}
			ws, err := a.hooks.List(t.Context(), token.SystemActor)
			if err != nil {
				t.Fatal(err)
			}
			if ok.Load() != free || full.Load() != racers-free || len(ws) != webhook.MaxWebhooks {
				t.Fatalf("%d created, %d refused, %d webhooks; want %d, %d, %d", ok.Load(), full.Load(), len(ws), free, racers-free, webhook.MaxWebhooks)
			}
		})
	}
}
