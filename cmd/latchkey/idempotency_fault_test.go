package main

import (
	"crypto/rand"
	"errors"
	"net/http"
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
	ctx := t.Context()

	const workers = 6
	type chain struct{ id, secret string }
	chains := make([]chain, workers)
	for i := range chains {
		k, err := patient.CreateKey(ctx, api.CreateKeyRequest{Name: "fault chain"})
		if err != nil {
			t.Fatal(err)
		}
		chains[i] = chain{k.ID, k.Secret}
	}

	var ok, failedFirst, unknown atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for !stop.Load() && !t.Failed() {
				cur := chains[w]
				key := rand.Text()
				r, err := once.RotateKey(ctx, cur.id, 0, client.WithIdempotencyKey(key))
				if err != nil {
					var e *client.Error
					if errors.As(err, &e) && e.Status != http.StatusServiceUnavailable {
						t.Errorf("rotate %s: %v; want success or 503", cur.id, err)
						return
					}
					failedFirst.Add(1)
					if e != nil && e.Problem.Code == "outcome_unknown" {
						unknown.Add(1)
					}
					if r, err = patient.RotateKey(ctx, cur.id, 0, client.WithIdempotencyKey(key)); err != nil {
						t.Errorf("retry of a failed rotate of %s with its Idempotency-Key: %v (the holder is locked out)", cur.id, err)
						return
					}
					again, err := patient.RotateKey(ctx, cur.id, 0, client.WithIdempotencyKey(key))
					if err != nil || again.Secret != r.Secret || again.ID != r.ID {
						t.Errorf("second retry of the rotate of %s gave another answer (%v): the same Idempotency-Key must give the same secret", cur.id, err)
						return
					}
					old, err := patient.Key(ctx, cur.id)
					if err != nil {
						t.Errorf("get %s: %v", cur.id, err)
						return
					}
					if old.RotatedTo != r.ID {
						t.Errorf("key %s was rotated to %s, but the retry answered successor %s", cur.id, old.RotatedTo, r.ID)
						return
					}
				}
				if r.Previous.ID != cur.id || r.Secret == "" {
					t.Errorf("rotate of %s answered previous %s", cur.id, r.Previous.ID)
					return
				}
				chains[w] = chain{r.ID, r.Secret}
				ok.Add(1)
			}
		})
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for !cond() {
			if time.Now().After(deadline) || t.Failed() {
				stop.Store(true)
				wg.Wait()
				t.Fatalf("timed out waiting for %s (ok %d, failed first tries %d)", what, ok.Load(), failedFirst.Load())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	for round := range 2 {
		base := ok.Load()
		waitFor("rotations before the restart", func() bool { return ok.Load() >= base+10 })
		failedBefore := failedFirst.Load()
		pg.stop(t)
		waitFor("rotations failing while PostgreSQL is down", func() bool { return failedFirst.Load() >= failedBefore+int64(workers) })
		pg.start(t)
		after := ok.Load()
		waitFor("rotations after the restart", func() bool { return ok.Load() >= after+int64(workers)+10 })
		t.Logf("round %d: %d rotations, %d first tries failed, %d of them outcome_unknown", round, ok.Load(), failedFirst.Load(), unknown.Load())
	}
	stop.Store(true)
	wg.Wait()
	for _, c := range chains {
		v, err := patient.Verify(ctx, api.VerifyRequest{Key: c.secret})
		if err != nil || !v.Valid {
			t.Errorf("the last secret of chain %s does not verify (%+v, %v): the holder is locked out", c.id, v, err)
		}
	}
}
