package storetest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/token"
)

// useNonce calls UseNonce and fails the test unless it reports want.
func useNonce(t *testing.T, s token.Store, keyID, nonce string, expires time.Time, want bool) {
	t.Helper()
	fresh, err := s.UseNonce(bg, keyID, nonce, expires)
	if err != nil {
		t.Fatalf("UseNonce(%s, %s): %v", keyID, nonce, err)
	}
	if fresh != want {
		t.Fatalf("UseNonce(%s, %s, expires in %s) = %v, want %v", keyID, nonce, time.Until(expires).Round(time.Second), fresh, want)
	}
}

// prune calls PruneNonces and fails the test unless it deleted want.
func prune(t *testing.T, s token.Store, before time.Time, want int64) {
	t.Helper()
	n, err := s.PruneNonces(bg, before)
	if err != nil {
		t.Fatalf("PruneNonces: %v", err)
	}
	if n != want {
		t.Fatalf("PruneNonces(%s) deleted %d records, want %d", before.Format(time.RFC3339Nano), n, want)
	}
}

// concurrentUses calls UseNonce from n goroutines at once and returns how
// many reported fresh.
func concurrentUses(t *testing.T, s token.Store, n int, keyID, nonce string, expires time.Time) int64 {
	t.Helper()
	var fresh atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			ok, err := s.UseNonce(bg, keyID, nonce, expires)
			if err != nil {
				t.Errorf("UseNonce: %v", err)
			}
			if ok {
				fresh.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	return fresh.Load()
}

// The store judges expiry by its own clock (UseNonce takes no time), so
// these tests place records well before or after the wall clock.
var nonceTests = []test{
	{"a nonce is fresh once and a replay changes nothing", func(t *testing.T, s token.Store) {
		now := time.Now()
		useNonce(t, s, "key_a", "n1", now.Add(time.Hour), true)
		useNonce(t, s, "key_a", "n1", now.Add(time.Hour), false)
		useNonce(t, s, "key_a", "n1", now.Add(2*time.Hour), false)
		// The replay did not move the expiry to 2 h: the record goes at 90 min.
		prune(t, s, now.Add(90*time.Minute), 1)
	}},
	{"nonces are per key", func(t *testing.T, s token.Store) {
		exp := time.Now().Add(time.Hour)
		useNonce(t, s, "key_a", "n1", exp, true)
		useNonce(t, s, "key_b", "n1", exp, true)
		useNonce(t, s, "key_a", "n2", exp, true)
		useNonce(t, s, "key_b", "n1", exp, false)
		useNonce(t, s, "key_a", "N1", exp, true) // case matters
	}},
	{"an expired record is replaced", func(t *testing.T, s token.Store) {
		now := time.Now()
		useNonce(t, s, "key_a", "n1", now.Add(-time.Minute), true)
		useNonce(t, s, "key_a", "n1", now.Add(time.Hour), true)
		useNonce(t, s, "key_a", "n1", now.Add(time.Hour), false)
		prune(t, s, now, 0) // the replaced record expires in an hour
		prune(t, s, now.Add(2*time.Hour), 1)
	}},
	{"exactly one of concurrent uses of a new nonce is fresh", func(t *testing.T, s token.Store) {
		exp := time.Now().Add(time.Hour)
		for i := range 10 {
			nonce := fmt.Sprint("n", i)
			if got := concurrentUses(t, s, 16, "key_a", nonce, exp); got != 1 {
				t.Fatalf("nonce %s: %d of 16 concurrent uses were fresh, want exactly 1", nonce, got)
			}
		}
	}},
	{"exactly one of concurrent uses of an expired nonce is fresh", func(t *testing.T, s token.Store) {
		now := time.Now()
		for i := range 10 {
			nonce := fmt.Sprint("n", i)
			useNonce(t, s, "key_a", nonce, now.Add(-time.Hour), true)
			if got := concurrentUses(t, s, 16, "key_a", nonce, now.Add(time.Hour)); got != 1 {
				t.Fatalf("nonce %s: %d of 16 concurrent uses replaced the expired record, want exactly 1", nonce, got)
			}
		}
	}},
	{"PruneNonces deletes only the records expired before its time", func(t *testing.T, s token.Store) {
		now := time.Now()
		exps := []time.Duration{-3 * time.Hour, -2 * time.Hour, -time.Hour, time.Hour, 2 * time.Hour}
		for i, d := range exps {
			useNonce(t, s, fmt.Sprint("key_", i%2), fmt.Sprint("n", i), now.Add(d), true)
		}
		prune(t, s, time.Time{}, 0)
		prune(t, s, now.Add(-3*time.Hour), 0) // expiring at the time is not "before"
		prune(t, s, now.Add(-2*time.Hour), 1)
		prune(t, s, now, 2)
		prune(t, s, now, 0)
		// The live records still refuse a replay; the pruned ones are gone.
		useNonce(t, s, "key_1", "n3", now.Add(time.Hour), false)
		useNonce(t, s, "key_0", "n4", now.Add(time.Hour), false)
		useNonce(t, s, "key_0", "n0", now.Add(time.Hour), true)
		prune(t, s, now.Add(3*time.Hour), 3)
	}},
}
