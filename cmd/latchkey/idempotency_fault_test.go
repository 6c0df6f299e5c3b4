package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/signer"
)

// TestRotateUnderPostgresRestartIsSafeToRetry restarts a private PostgreSQL
// (immediate stop) while workers rotate their keys in a chain. A rotation
// whose first try failed (503, outcome_unknown or a lost connection) is
// retried with the same Idempotency-Key: the retry must succeed with the
// rotation that was applied, if any — the old key's successor is the one
// the retry names and a second retry gives the same secret — and the holder
// is never locked out (409 key_revoked / key_rotated) and ends with a
// secret that verifies. Before, 2 of 32 such rotations had committed and
// their retry answered 409 key_revoked.
func TestRotateUnderPostgresRestartIsSafeToRetry(t *testing.T) {
	pg := startPrivatePG(t)
	root := newRootKey()
	p := startBinary(t, t.TempDir(), root, "LATCHKEY_MASTER_KEY="+signer.EncodeMasterKey(signer.NewMasterKey()),
		"LATCHKEY_DATABASE_URL="+pg.url(), "LATCHKEY_DATABASE_SCHEMA=idem_fault")
	hc := &http.Client{Timeout: 10 * time.Second}
	once, err := client.New(p.URL, root, client.WithHTTPClient(hc), client.WithRetries(1, 0)) // sees every failure
	if err != nil {
		t.Fatal(err)
	}
	patient, err := client.New(p.URL, root, client.WithHTTPClient(hc), client.WithRetries(120, 250*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	// One deadline bounds the whole run. Without it a server that keeps
	// answering 503 after the restart left the patient client retrying for
	// ~10 minutes (120 tries, up to 5 s apart) until the package timed out;
	// now the test fails within the budget and says what each worker last
	// saw. Alone the test takes ~3 s, on a loaded 2-core machine ~6 s.
	const budget = 60 * time.Second
	start := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), budget)
	defer cancel()

	const workers = 6
	type worker struct {
		id, secret string       // the chain's current key, its owner's alone
		ok, failed atomic.Int64 // rotations done; first tries that failed
		lastErr    atomic.Pointer[string]
	}
	ws := make([]*worker, workers)
	for i := range ws {
		k, err := patient.CreateKey(ctx, api.CreateKeyRequest{Name: "fault chain"})
		if err != nil {
			t.Fatal(err)
		}
		ws[i] = &worker{id: k.ID, secret: k.Secret}
	}

	var unknown atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	for _, w := range ws {
		note := func(err error) { s := err.Error(); w.lastErr.Store(&s) }
		wg.Go(func() {
			for !stop.Load() && ctx.Err() == nil && !t.Failed() {
				key := rand.Text()
				r, err := once.RotateKey(ctx, w.id, 0, client.WithIdempotencyKey(key))
				if err != nil {
					if ctx.Err() != nil {
						return // the deadline: the main goroutine reports it
					}
					note(err)
					var e *client.Error
					if errors.As(err, &e) && e.Status != http.StatusServiceUnavailable {
						t.Errorf("rotate %s: %v; want success or 503", w.id, err)
						return
					}
					w.failed.Add(1)
					if e != nil && e.Problem.Code == "outcome_unknown" {
						unknown.Add(1)
					}
					if r, err = patient.RotateKey(ctx, w.id, 0, client.WithIdempotencyKey(key)); err != nil {
						note(err)
						if ctx.Err() != nil {
							return // still failing at the deadline: reported below
						}
						t.Errorf("retry of a failed rotate of %s with its Idempotency-Key: %v (the holder is locked out)", w.id, err)
						return
					}
					again, err := patient.RotateKey(ctx, w.id, 0, client.WithIdempotencyKey(key))
					if err != nil || again.Secret != r.Secret || again.ID != r.ID {
						if ctx.Err() != nil {
							return
						}
						t.Errorf("second retry of the rotate of %s gave another answer (%v): the same Idempotency-Key must give the same secret", w.id, err)
						return
					}
					old, err := patient.Key(ctx, w.id)
					if err != nil {
						if ctx.Err() != nil {
							return
						}
						t.Errorf("get %s: %v", w.id, err)
						return
					}
					if old.RotatedTo != r.ID {
						t.Errorf("key %s was rotated to %s, but the retry answered successor %s", w.id, old.RotatedTo, r.ID)
						return
					}
				}
				if r.Previous.ID != w.id || r.Secret == "" {
					t.Errorf("rotate of %s answered previous %s", w.id, r.Previous.ID)
					return
				}
				w.id, w.secret = r.ID, r.Secret
				w.ok.Add(1)
			}
		})
	}
	defer func() { cancel(); wg.Wait() }() // no worker outlives the test, even after a Fatal

	total := func() (n int64) {
		for _, w := range ws {
			n += w.ok.Load()
		}
		return n
	}
	snapshot := func(f func(*worker) int64) []int64 {
		s := make([]int64, workers)
		for i, w := range ws {
			s[i] = f(w)
		}
		return s
	}
	okOf := func(w *worker) int64 { return w.ok.Load() }
	failedOf := func(w *worker) int64 { return w.failed.Load() }
	// every reports whether each worker's counter f passed base[i]+n.
	every := func(f func(*worker) int64, base []int64, n int64) func() bool {
		return func() bool {
			for i, w := range ws {
				if f(w) < base[i]+n {
					return false
				}
			}
			return true
		}
	}
	waitFor := func(what string, since time.Time, cond func() bool) {
		t.Helper()
		for !cond() {
			if ctx.Err() != nil || t.Failed() {
				cancel()
				wg.Wait()
				var b strings.Builder
				for i, w := range ws {
					last := "none"
					if e := w.lastErr.Load(); e != nil {
						last = *e
					}
					fmt.Fprintf(&b, "\n  worker %d: %d rotations, %d failed first tries, last error: %s", i, w.ok.Load(), w.failed.Load(), last)
				}
				t.Fatalf("%s: not done %s after it began (%s into the test, budget %s)%s\nlast server errors:\n%s",
					what, time.Since(since).Round(time.Millisecond), time.Since(start).Round(time.Millisecond), budget, b.String(), serverErrors(p, 8))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	for round := range 2 {
		base := total()
		waitFor("10 rotations before the restart", time.Now(), func() bool { return total() >= base+10 })
		failedBefore := snapshot(failedOf)
		stopped := time.Now()
		pg.stop(t)
		// Each worker is making first tries (the previous round waited for
		// that), so each sees one fail and then retries until PostgreSQL is back.
		waitFor("a failed first try of every worker while PostgreSQL is down", stopped, every(failedOf, failedBefore, 1))
		pg.start(t)
		restarted, okBefore := time.Now(), snapshot(okOf)
		// Two rotations each: the retry of the failed one, and a fresh one,
		// so every worker makes first tries again before the next outage.
		waitFor("every worker's retry succeeding after the restart, and a rotation after it", restarted, every(okOf, okBefore, 2))
		t.Logf("round %d: %d rotations, %d first tries failed, %d of them outcome_unknown; all workers recovered %s after the restart",
			round, total(), sum(snapshot(failedOf)), unknown.Load(), time.Since(restarted).Round(time.Millisecond))
	}
	stop.Store(true)
	wg.Wait()
	for _, w := range ws {
		v, err := patient.Verify(t.Context(), api.VerifyRequest{Key: w.secret})
		if err != nil || !v.Valid {
			t.Errorf("the last secret of chain %s does not verify (%+v, %v): the holder is locked out", w.id, v, err)
		}
	}
}

func sum(xs []int64) (n int64) {
	for _, x := range xs {
		n += x
	}
	return n
}

// serverErrors returns the err fields of the last n error and warning
// lines p logged (no secret: the server never logs one).
func serverErrors(p *serverProc, n int) string {
	var errs []string
	for line := range strings.Lines(p.stderr.String()) {
		var l struct{ Time, Msg, Err string }
		if json.Unmarshal([]byte(line), &l) == nil && l.Err != "" {
			errs = append(errs, "  "+l.Time+" "+l.Msg+": "+l.Err)
		}
	}
	return strings.Join(errs[max(0, len(errs)-n):], "\n")
}
