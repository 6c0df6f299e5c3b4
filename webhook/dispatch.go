package webhook

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/latchkey/latchkey/internal/outbound"
	"github.com/latchkey/latchkey/seal"
	"github.com/latchkey/latchkey/token"
)

// Timeout bounds one delivery attempt: connecting, sending, and the
// receiver's answer.
const Timeout = 15 * time.Second

// Backoff is the retry schedule of a delivery: before attempt n+1 it waits
// Base·2^(n-1), at most Max, scaled by a random factor in [0.5, 1)
// (jitter: receivers coming back are not hit by every node at once). A
// Retry-After answer (seconds or a date, at most Max) replaces the wait.
// A delivery still failing GiveUp after its event is given up.
type Backoff struct {
	Base, Max, GiveUp time.Duration
}

// DefaultBackoff: 10 s doubling to 6 h, about 25 attempts over three days.
var DefaultBackoff = Backoff{Base: 10 * time.Second, Max: 6 * time.Hour, GiveUp: 72 * time.Hour}

// delay returns the wait after attempt n (1-based).
func (b Backoff) delay(n int) time.Duration {
	d := b.Base
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	return d/2 + rand.N(d/2+1)
}

// DispatcherConfig configures a Dispatcher.
type DispatcherConfig struct {
	Store Store
	Box   *seal.Box
	// Node names this process in row leases (default: a random ID).
	Node string
	// AllowPrivate lets deliveries reach loopback and private addresses
	// (LATCHKEY_OUTBOUND_ALLOW_PRIVATE=true).
	AllowPrivate bool
	// Poll is how often the outbox is read (default 1 s); Backoff the
	// retry schedule (DefaultBackoff's fields where zero).
	Poll    time.Duration
	Backoff Backoff
	// Concurrency is how many deliveries run at once (default 8).
	Concurrency int
	// ExpiryScan is how often keys about to expire are looked for
	// (default 1 min).
	ExpiryScan time.Duration
	// Retention is how long finished deliveries are kept (default 30 days).
	Retention time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	Log *slog.Logger
}

// Dispatcher delivers the outbox: at least once, each delivery leased to
// one node at a time, in order per webhook and order key.
type Dispatcher struct {
	c      DispatcherConfig
	client *http.Client
	wake   chan struct{}

	subMu sync.Mutex
	subs  map[string]bool // event types some enabled webhook receives
	subAt time.Time
}

// NewDispatcher returns a Dispatcher; Run starts it.
func NewDispatcher(c DispatcherConfig) *Dispatcher {
	if c.Node == "" {
		c.Node = token.NewID("node", time.Now())
	}
	if c.Poll <= 0 {
		c.Poll = time.Second
	}
	if c.Backoff.Base <= 0 {
		c.Backoff.Base = DefaultBackoff.Base
	}
	if c.Backoff.Max <= 0 {
		c.Backoff.Max = DefaultBackoff.Max
	}
	if c.Backoff.GiveUp <= 0 {
		c.Backoff.GiveUp = DefaultBackoff.GiveUp
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 8
	}
	if c.ExpiryScan <= 0 {
		c.ExpiryScan = time.Minute
	}
	if c.Retention <= 0 {
		c.Retention = 30 * 24 * time.Hour
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return &Dispatcher{c: c, client: Client(c.AllowPrivate), wake: make(chan struct{}, 1)}
}

// Client returns the HTTP client of deliveries: a 15 s timeout, no
// redirects followed (a 3xx is a failed attempt), no proxy from the
// environment, and — unless allowPrivate — no connection to a non-public
// address, checked on the address dialled (internal/outbound).
func Client(allowPrivate bool) *http.Client {
	d := outbound.Guard(&net.Dialer{Timeout: Timeout}, allowPrivate)
	return &http.Client{
		Timeout:       Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{DialContext: d.DialContext, TLSHandshakeTimeout: Timeout,
			ResponseHeaderTimeout: Timeout, MaxIdleConnsPerHost: 4, IdleConnTimeout: 30 * time.Second},
	}
}

// lease is how long a claimed delivery is a node's: one attempt and margin.
const lease = Timeout + 45*time.Second

// Wake makes Run read the outbox now rather than at the next poll.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends; it prunes old deliveries hourly.
func (d *Dispatcher) Run(ctx context.Context) {
	t := time.NewTicker(d.c.Poll)
	defer t.Stop()
	var lastPrune, lastScan time.Time
	exp, _ := d.c.Store.(ExpiryStore)
	for {
		if now := d.c.Now(); now.Sub(lastPrune) > time.Hour {
			lastPrune = now
			if _, err := d.c.Store.PruneDeliveries(ctx, now.Add(-d.c.Retention)); err != nil && ctx.Err() == nil {
				d.c.Log.Warn("webhooks: prune deliveries", "err", err)
			}
			if exp != nil {
				// Marks outlive every threshold and rate-limit window.
				if err := exp.PruneMarks(ctx, now.Add(-32*24*time.Hour)); err != nil && ctx.Err() == nil {
					d.c.Log.Warn("webhooks: prune marks", "err", err)
				}
			}
		}
		if now := d.c.Now(); exp != nil && now.Sub(lastScan) >= d.c.ExpiryScan {
			lastScan = now
			if err := d.scanExpiring(ctx, exp, now); err != nil && ctx.Err() == nil {
				d.c.Log.Warn("webhooks: key.expiring scan", "err", err)
			}
		}
		for ctx.Err() == nil {
			n, err := d.Once(ctx)
			if err != nil {
				if ctx.Err() == nil {
					d.c.Log.Warn("webhooks: read outbox", "err", err)
				}
				break
			}
			if n < d.c.Concurrency {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.wake:
		}
	}
}

// Once claims the due deliveries (at most Concurrency), attempts each, and
// returns how many it claimed.
func (d *Dispatcher) Once(ctx context.Context) (int, error) {
	now := d.c.Now()
	ds, err := d.c.Store.ClaimDeliveries(ctx, d.c.Node, now, now.Add(lease), d.c.Concurrency)
	if err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	for _, dl := range ds {
		wg.Go(func() { d.deliver(ctx, dl) })
	}
	wg.Wait()
	return len(ds), nil
}

// deliver makes one attempt of dl and records it.
func (d *Dispatcher) deliver(ctx context.Context, dl *Delivery) {
	w, err := d.c.Store.Webhook(ctx, dl.WebhookID)
	if err != nil {
		return // deleted meanwhile (its deliveries with it), or the store is down: the lease runs out
	}
	a := d.attempt(ctx, w, dl)
	if ctx.Err() != nil {
		return // shutting down: not this attempt's fault; the lease runs out and another node retries
	}
	ok, err := d.c.Store.FinishDelivery(context.WithoutCancel(ctx), dl.Seq, d.c.Node, a)
	switch {
	case err != nil:
		d.c.Log.Warn("webhooks: record delivery", "delivery", dl.ID, "err", err)
	case !ok:
		d.c.Log.Warn("webhooks: delivery lease lost before it was recorded", "delivery", dl.ID)
	}
	if a.State == Failed {
		d.c.Log.Warn("webhooks: delivery given up", "delivery", dl.ID, "webhook", w.ID, "status", a.Status, "err", a.Error)
	}
}

// attempt sends dl to w and works out what comes next.
func (d *Dispatcher) attempt(ctx context.Context, w *Webhook, dl *Delivery) Attempt {
	start := d.c.Now()
	a := Attempt{At: start}
	status, retryAfter, body, err := d.send(ctx, w, dl, start)
	a.Duration, a.Status, a.Response = d.c.Now().Sub(start), status, Excerpt(body)
	switch {
	case err == nil && status >= 200 && status < 300:
		a.State = Delivered
		return a
	case err == nil && status == http.StatusGone:
		a.State, a.Gone, a.Error = Failed, true, "410 Gone: the webhook is disabled"
		return a
	case err != nil:
		a.Error = err.Error()
	case status >= 300 && status < 400:
		a.Error = "redirect not followed (" + strconv.Itoa(status) + ")"
	default:
		a.Error = "status " + strconv.Itoa(status)
	}
	wait := d.c.Backoff.delay(dl.Attempts + 1)
	if retryAfter > 0 {
		wait = min(retryAfter, d.c.Backoff.Max)
	}
	a.Next = a.At.Add(wait)
	a.State = Pending
	if a.Next.After(dl.CreatedAt.Add(d.c.Backoff.GiveUp)) {
		a.State, a.Next = Failed, time.Time{}
	}
	return a
}

// send POSTs dl's payload with the Standard Webhooks headers and returns
// the status, the Retry-After wait and the first MaxExcerpt bytes of the
// answer's body.
func (d *Dispatcher) send(ctx context.Context, w *Webhook, dl *Delivery, now time.Time) (int, time.Duration, []byte, error) {
	ks, err := keys(d.c.Box, w, now)
	if err != nil {
		return 0, 0, nil, errors.New("cannot open the webhook's signing secret")
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(dl.Payload))
	if err != nil {
		return 0, 0, nil, errors.New("bad webhook URL")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "latchkey-webhooks/1")
	req.Header.Set("webhook-id", dl.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", SignatureHeader(ks, dl.ID, now, dl.Payload))
	resp, err := d.client.Do(req)
	if err != nil {
		if errors.Is(err, outbound.ErrPrivateAddress) {
			return 0, 0, nil, outbound.ErrPrivateAddress
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return 0, 0, nil, errors.New("timed out after 15s")
		}
		return 0, 0, nil, errors.New("could not connect: " + rootCause(err))
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, MaxExcerpt))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, retryAfter(resp.Header.Get("Retry-After"), now), head, nil
}

// rootCause returns the innermost error's text (without the URL that
// *url.Error adds).
func rootCause(err error) string {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err.Error()
		}
		err = u
	}
}

// retryAfter parses a Retry-After value: seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
