package client

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"time"
)

// Defaults of [WithRetries].
const (
	DefaultAttempts = 4
	DefaultBackoff  = 250 * time.Millisecond
	MaxBackoff      = 5 * time.Second // the longest wait between two tries
)

// WithRetries sets how the client retries the calls that change state and
// are not idempotent by nature (create, rotate, revoke, renew and import of
// keys): up to attempts tries in all, waiting backoff, then twice as long,
// and so on up to MaxBackoff, between them. Such a call always carries an Idempotency-Key
// (a random one, unless [WithIdempotencyKey] gives one), and every retry
// sends the same key, so the server applies the change at most once and a
// retry gets the first answer — the new secret included. The client
// retries after a network error, a 503 (among them outcome_unknown: the
// commit's outcome was lost) and a 409 idempotency_in_progress. attempts 1
// disables retries.
func WithRetries(attempts int, backoff time.Duration) Option {
	return func(c *Client) {
		if attempts >= 1 {
			c.attempts = attempts
		}
		if backoff >= 0 {
			c.backoff = backoff
		}
	}
}

// once applies opts to r, a call that is safe to retry only with an
// Idempotency-Key, and marks it to be retried with that key.
func once(r request, opts []CallOption) request {
	var cc callConfig
	for _, o := range opts {
		o(&cc)
	}
	key := cc.idempotencyKey
	if key == "" {
		key = rand.Text()
	}
	r.header = http.Header{"Idempotency-Key": {key}}
	r.retry = true
	return r
}

// retryable reports whether a call that failed with err may be retried with
// the same Idempotency-Key.
func retryable(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return true // the request or its answer was lost on the way
	}
	return e.Status == http.StatusServiceUnavailable ||
		e.Status == http.StatusBadGateway || e.Status == http.StatusGatewayTimeout ||
		(e.Status == http.StatusConflict && e.Problem.Code == "idempotency_in_progress")
}

// doRetry sends r, retrying as WithRetries says when r.retry is set.
func (c *Client) doRetry(ctx context.Context, r request, out any) error {
	attempts := c.attempts
	if !r.retry || attempts < 1 {
		attempts = 1
	}
	wait := c.backoff
	var err error
	for i := range attempts {
		if i > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return err
			case <-t.C:
			}
			wait = min(2*wait, MaxBackoff)
		}
		if err = c.send(ctx, r, out); err == nil || !retryable(err) || ctx.Err() != nil {
			return err
		}
	}
	return err
}
