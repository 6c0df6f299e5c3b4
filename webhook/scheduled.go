package webhook

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/latchkey/latchkey/token"
)

// ExpiringKey is a key that a key.expiring event is due for.
type ExpiringKey struct {
	ID, Keyspace string
	ExpiresAt    time.Time
}

// ExpiryStore is what the expiry scan needs of the store.
type ExpiryStore interface {
	// ExpiringKeys returns up to limit unrevoked keys of no OAuth keyspace
	// that expire in (from, to], lived longer than minLife, and have no
	// mark markPrefix + ID + ":" + expiry (Unix nanoseconds).
	ExpiringKeys(ctx context.Context, markPrefix string, from, to time.Time, minLife time.Duration, limit int) ([]ExpiringKey, error)
	// PruneMarks removes marks recorded before t.
	PruneMarks(ctx context.Context, t time.Time) error
}

// thresholds of key.expiring: each fires once per key and expiry, for keys
// that lived longer than it, while the expiry is between the next shorter
// threshold and it.
var thresholds = []struct {
	name     string
	ahead    time.Duration
	notAhead time.Duration
}{
	{"7d", 7 * 24 * time.Hour, 24 * time.Hour},
	{"1d", 24 * time.Hour, 0},
}

// ScanExpiring emits the key.expiring events due at the dispatcher's
// clock; Run calls it every ExpiryScan. It does nothing on a store without
// ExpiryStore.
func (d *Dispatcher) ScanExpiring(ctx context.Context) error {
	st, ok := d.c.Store.(ExpiryStore)
	if !ok {
		return nil
	}
	return d.scanExpiring(ctx, st, d.c.Now())
}

// scanExpiring emits the due key.expiring events. Each is written with its
// mark in one transaction (Store.Mark), so every node may scan: the first
// to mark a key and threshold emits it, the others skip it.
func (d *Dispatcher) scanExpiring(ctx context.Context, st ExpiryStore, now time.Time) error {
	if !d.subscribed(ctx, KeyExpiring) {
		return nil
	}
	for _, th := range thresholds {
		prefix := "key.expiring:" + th.name + ":"
		ks, err := st.ExpiringKeys(ctx, prefix, now.Add(th.notAhead), now.Add(th.ahead), th.ahead, 500)
		if err != nil {
			return err
		}
		for _, k := range ks {
			exp := strconv.FormatInt(k.ExpiresAt.UnixNano(), 10)
			ev := NewEvent(token.NewID("msg", now), KeyExpiring, "key:"+k.ID, now, map[string]string{
				"key_id": k.ID, "keyspace": k.Keyspace, "expires_at": k.ExpiresAt.UTC().Format(time.RFC3339), "ahead": th.name})
			if _, err := d.c.Store.Mark(ctx, prefix+k.ID+":"+exp, now, []Event{ev}); err != nil {
				return err
			}
		}
	}
	return nil
}

// subscribed reports whether an enabled webhook receives events of typ
// (read at most every 30 s).
func (d *Dispatcher) subscribed(ctx context.Context, typ string) bool {
	d.subMu.Lock()
	defer d.subMu.Unlock()
	now := d.c.Now()
	if now.Sub(d.subAt) > 30*time.Second || d.subAt.IsZero() {
		ws, err := d.c.Store.Webhooks(ctx)
		if err != nil {
			return true // fail towards emitting
		}
		d.subs = map[string]bool{}
		for _, w := range ws {
			if !w.Disabled {
				for _, e := range w.Events {
					d.subs[e] = true
				}
			}
		}
		d.subAt = now
	}
	return d.subs[typ]
}

// LimitNotifier turns rate-limit refusals into ratelimit.exceeded events:
// Notify (on the verification's goroutine) only checks an in-memory set and
// queues without blocking; a background loop writes at most one event per
// key, limit and window slot, marked so that other nodes skip it too.
type LimitNotifier struct {
	store Store
	d     *Dispatcher
	log   *slog.Logger
	ch    chan token.RateLimited

	mu   sync.Mutex
	seen map[string]time.Time // mark → end of its window slot
}

// NewLimitNotifier returns a LimitNotifier writing through d's store; Run
// starts it.
func NewLimitNotifier(d *Dispatcher) *LimitNotifier {
	return &LimitNotifier{store: d.c.Store, d: d, log: d.c.Log, ch: make(chan token.RateLimited, 1024), seen: map[string]time.Time{}}
}

func limitMark(r token.RateLimited) (string, time.Time) {
	w := r.Limit.Window
	if w <= 0 {
		w = time.Second
	}
	slot := r.At.Truncate(w)
	return "ratelimit.exceeded:" + r.KeyID + ":" + r.Limit.Name + ":" + strconv.FormatInt(slot.UnixNano(), 10), slot.Add(w)
}

// Notify records a refusal; it never blocks and never does I/O.
func (n *LimitNotifier) Notify(r token.RateLimited) {
	mark, end := limitMark(r)
	n.mu.Lock()
	_, dup := n.seen[mark]
	if !dup {
		n.seen[mark] = end
	}
	n.mu.Unlock()
	if dup {
		return
	}
	select {
	case n.ch <- r:
	default: // a burst beyond the queue: dropped (the limit refused anyway)
	}
}

// Run writes queued events until ctx ends.
func (n *LimitNotifier) Run(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			n.mu.Lock()
			for m, end := range n.seen {
				if now.After(end) {
					delete(n.seen, m)
				}
			}
			n.mu.Unlock()
		case r := <-n.ch:
			if !n.d.subscribed(ctx, RateLimitExceeded) {
				continue
			}
			mark, _ := limitMark(r)
			name := r.Limit.Name
			owner := strings.HasPrefix(name, "owner_")
			ev := NewEvent(token.NewID("msg", r.At), RateLimitExceeded, "key:"+r.KeyID, r.At, map[string]string{
				"key_id": r.KeyID, "keyspace": r.Keyspace, "limit": name, "owner_limit": strconv.FormatBool(owner),
				"limit_per_window": strconv.FormatInt(r.Limit.Limit, 10), "window": r.Limit.Window.String()})
			if _, err := n.store.Mark(ctx, mark, r.At, []Event{ev}); err != nil && ctx.Err() == nil {
				n.log.Warn("webhooks: ratelimit.exceeded event", "key", r.KeyID, "err", err)
			}
		}
	}
}
