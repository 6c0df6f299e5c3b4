package httpsig

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestMemoryNonceCache(t *testing.T) {
	now := t0
	clock := func() time.Time { return now }
	ctx := context.Background()
	c := NewMemoryNonceCache(3, clock)
	seen := func(key, nonce string, ttl time.Duration) bool {
		t.Helper()
		r, err := c.Seen(ctx, key, nonce, ttl)
		if err != nil {
			t.Fatalf("Seen(%s, %s): %v", key, nonce, err)
		}
		return r
	}
	if seen("k", "n1", time.Minute) || !seen("k", "n1", time.Minute) {
		t.Fatal("second use not reported")
	}
	if seen("other", "n1", time.Minute) {
		t.Fatal("nonces are not per key")
	}
	// Length-prefixing keeps ("ab","c") and ("a","bc") apart.
	if seen("ab", "c", time.Minute) {
		t.Fatal("fresh nonce reported")
	}
	if _, err := c.Seen(ctx, "a", "bc", time.Minute); err != ErrNonceCacheFull {
		t.Fatalf("full cache: err = %v", err)
	}
	now = now.Add(time.Minute) // all expire
	if c.Len() != 0 || seen("k", "n1", 0) {
		t.Fatal("expired nonce still held")
	}
	now = now.Add(999 * time.Millisecond) // ttl 0 is raised to 1 s
	if !seen("k", "n1", 0) {
		t.Fatal("nonce expired early")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.Seen(cctx, "k", "n9", time.Minute); err == nil {
		t.Fatal("canceled context accepted")
	}
}

func TestMemoryNonceCacheConcurrent(t *testing.T) {
	c := NewMemoryNonceCache(0, nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	fresh := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				r, err := c.Seen(context.Background(), "k", fmt.Sprint(i), time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if !r {
					mu.Lock()
					fresh++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if fresh != 200 {
		t.Fatalf("%d fresh nonces, want exactly 200", fresh)
	}
}

func TestVerifierFailsClosedOnNonceCacheError(t *testing.T) {
	v := newTestVerifier(t0)
	v.Nonces = NewMemoryNonceCache(1, fixedClock(t0))
	s := newTestSigner(t)
	_, err := verifyWire(t, v, signedWire(t, s, "GET", testURL, ""))
	wantErr(t, err, nil)
	_, err = verifyWire(t, v, signedWire(t, s, "GET", testURL, ""))
	wantErr(t, err, ErrNonceCacheFull)
}
