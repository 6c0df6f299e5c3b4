package verify

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/client"
)

// RevocationWindow is how long a revocation matters to JWTs: none lives
// longer than an hour, plus clock leeway.
const RevocationWindow = time.Hour + time.Minute

// RevocationMargin widens each revocation: a JWT issued up to this long
// after it is refused too. Another node may still have verified the key
// from its cache (for at most a second) and issued a JWT just after the
// revocation committed; iat has whole seconds.
const RevocationMargin = 2 * time.Second

// RevocationsOptions configure a [Revocations] subscription.
type RevocationsOptions struct {
	// Wait is how long each long poll may be held by the server (default
	// 20s, at most 25s). A revocation arrives as soon as it is committed,
	// whatever Wait is.
	Wait time.Duration
	// MaxStale, if set, fails closed: once the feed has not answered for
	// this long, Check reports every token as unavailable (503) instead of
	// trusting a list that may miss revocations. Zero keeps verifying with
	// the last list (JWTs then stay valid until they expire, as without a
	// feed).
	MaxStale time.Duration
	// OnError is told about failed polls (default: ignore). The
	// subscription retries with backoff up to 5s.
	OnError func(error)
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Revocations follows latchkey's revocation feed (GET /v1/revocations) so
// that a [JWT] verifier rejects tokens whose API key or principal was
// revoked, disabled or cut short after they were issued — within a second
// or two of the change instead of at the token's expiry. The client needs
// a management credential with keys:verify (or keys:read).
type Revocations struct {
	c    *client.Client
	opts RevocationsOptions

	mu         sync.Mutex
	keys       map[string]time.Time // key ID → when it stopped being valid
	principals map[string]time.Time // "type:id" → same
	cursor     string
	lastOK     time.Time
	synced     chan struct{}
	syncedOnce sync.Once
}

// NewRevocations returns a subscription; call Run (or Start) to follow it.
func NewRevocations(c *client.Client, opts RevocationsOptions) *Revocations {
	if opts.Wait <= 0 || opts.Wait > 25*time.Second {
		opts.Wait = 20 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.OnError == nil {
		opts.OnError = func(error) {}
	}
	return &Revocations{c: c, opts: opts, keys: map[string]time.Time{},
		principals: map[string]time.Time{}, synced: make(chan struct{})}
}

// Start runs the subscription in a goroutine until ctx ends.
func (r *Revocations) Start(ctx context.Context) { go r.Run(ctx) }

// Synced is closed once the feed has been read to its end the first time.
func (r *Revocations) Synced() <-chan struct{} { return r.synced }

// Run follows the feed until ctx ends, then returns ctx's error.
func (r *Revocations) Run(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		r.mu.Lock()
		cursor := r.cursor
		r.mu.Unlock()
		wait := r.opts.Wait
		select {
		case <-r.synced:
		default:
			wait = 0 // first read: the backlog at once
		}
		page, err := r.c.Revocations(ctx, cursor, wait)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r.opts.OnError(err)
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		r.apply(page.Revocations, page.Cursor)
		if !page.HasMore {
			r.syncedOnce.Do(func() { close(r.synced) })
		}
	}
}

func (r *Revocations) apply(rs []api.Revocation, cursor string) {
	now := r.opts.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rv := range rs {
		m := r.keys
		if rv.Kind == "principal" {
			m = r.principals
		} else if rv.Kind != "key" {
			continue // a kind this SDK does not know
		}
		if old, ok := m[rv.ID]; !ok || rv.RevokedAt.After(old) {
			m[rv.ID] = rv.RevokedAt
		}
	}
	for _, m := range []map[string]time.Time{r.keys, r.principals} {
		for id, at := range m {
			if now.Sub(at) > RevocationWindow {
				delete(m, id)
			}
		}
	}
	r.cursor = cursor
	r.lastOK = now
}

// errStale is returned by check when the feed has been silent too long.
var errStale = errors.New("revocation feed stale")

// check reports an error if claims belong to a revoked key or principal
// (ErrInvalidToken), or if the feed is stale under MaxStale
// (ErrUnavailable).
func (r *Revocations) check(c *Claims) error {
	now := r.opts.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.opts.MaxStale > 0 && (r.lastOK.IsZero() || now.Sub(r.lastOK) > r.opts.MaxStale) {
		return &Error{Kind: ErrUnavailable, Code: "revocations unknown", Err: errStale}
	}
	for _, e := range [...]struct {
		m  map[string]time.Time
		id string
	}{{r.keys, c.KeyID}, {r.principals, c.Subject}} {
		if e.id == "" {
			continue
		}
		if at, ok := e.m[e.id]; ok && !now.Before(at) && !c.IssuedAt.After(at.Add(RevocationMargin)) {
			return invalid("revoked")
		}
	}
	return nil
}
