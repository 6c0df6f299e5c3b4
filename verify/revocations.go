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
	// RequestTimeout bounds one poll beyond Wait (default 10s): a poll is
	// given Wait+RequestTimeout to answer. The client's own http.Client
	// must not time out sooner — give the subscription a client without
	// an overall Timeout (or one above Wait+RequestTimeout), or every long
	// poll fails and the feed goes stale.
	RequestTimeout time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Revocations follows latchkey's revocation feed (GET /v1/revocations) so
// that a [JWT] verifier rejects tokens whose API key or principal was
// revoked, disabled or cut short after they were issued — within a second
// or two of the change instead of at the token's expiry. It also carries
// narrowing (scopes taken from a key or permissions from its owner revoke
// the JWTs issued before) and the withdrawal of signing keys (tokens
// signed by a withdrawn kid are refused at once, whatever the cached
// JWKS says). An [Opaque] verifier given the subscription evicts cached
// answers of revoked keys. The client needs a management credential with
// keys:verify (or keys:read) that is not a personal one.
type Revocations struct {
	c    *client.Client
	opts RevocationsOptions

	mu         sync.Mutex
	keys       map[string]time.Time // key ID → when it stopped being valid
	principals map[string]time.Time // "type:id" → same
	kids       map[string]time.Time // withdrawn signing key → when learned
	kidEpoch   int64                // counts withdrawals: the JWKS changed
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
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 10 * time.Second
	}
	return &Revocations{c: c, opts: opts, keys: map[string]time.Time{},
		principals: map[string]time.Time{}, kids: map[string]time.Time{}, synced: make(chan struct{})}
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
		rctx, cancel := context.WithTimeout(ctx, wait+r.opts.RequestTimeout)
		page, err := r.c.Revocations(rctx, cursor, wait)
		cancel()
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
		var m map[string]time.Time
		switch rv.Kind {
		case "key":
			m = r.keys
		case "principal":
			m = r.principals
		case "signing_key":
			// Withdrawn for good: kept for a window (by then the JWKS no
			// longer lists it and its tokens have expired).
			if _, ok := r.kids[rv.ID]; !ok {
				r.kids[rv.ID] = now
				r.kidEpoch++
			}
			continue
		default:
			continue // a kind this SDK does not know
		}
		if old, ok := m[rv.ID]; !ok || rv.RevokedAt.After(old) {
			m[rv.ID] = rv.RevokedAt
		}
	}
	for _, m := range []map[string]time.Time{r.keys, r.principals, r.kids} {
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
	client := ""
	if c.ClientID != "" {
		client = "app:" + c.ClientID // the client's app disabled ends its tokens
	}
	for _, e := range [...]struct {
		m  map[string]time.Time
		id string
	}{{r.keys, c.KeyID}, {r.principals, c.Subject}, {r.principals, client}} {
		if e.id == "" {
			continue
		}
		if at, ok := e.m[e.id]; ok && !now.Before(at) && !c.IssuedAt.After(at.Add(RevocationMargin)) {
			return invalid("revoked")
		}
	}
	return nil
}

// jwksEpoch counts the signing keys withdrawn so far: when it moves, the
// issuer's JWKS has changed (an immediate rotation publishes a new key),
// so a verifier may fetch it again at once.
func (r *Revocations) jwksEpoch() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.kidEpoch
}

// withdrawn reports whether the feed has withdrawn signing key kid.
func (r *Revocations) withdrawn(kid string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.kids[kid]
	return ok
}

// revokedSince reports whether key keyID, or its owner subject ("type:id",
// may be empty), was revoked, disabled, cut short or narrowed at or after
// answered (less RevocationMargin) — so an answer about it given then may
// be stale — and that change has taken effect by now.
func (r *Revocations) revokedSince(keyID, subject string, answered time.Time) bool {
	now := r.opts.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range [...]struct {
		m  map[string]time.Time
		id string
	}{{r.keys, keyID}, {r.principals, subject}} {
		if e.id == "" {
			continue
		}
		if at, ok := e.m[e.id]; ok && !now.Before(at) && !answered.After(at.Add(RevocationMargin)) {
			return true
		}
	}
	return false
}
