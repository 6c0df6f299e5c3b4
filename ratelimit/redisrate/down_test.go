package redisrate_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/latchkey/latchkey/ratelimit"
	"github.com/latchkey/latchkey/ratelimit/ratelimittest"
	"github.com/latchkey/latchkey/ratelimit/redisrate"
)

// startRedis starts a private, non-persistent redis-server on port and waits until it
// answers. The caller kills it; t's cleanup kills it too.
func startRedis(t *testing.T, port int) *exec.Cmd {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("LATCHKEY_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatal("redis-server not found and LATCHKEY_TEST_REQUIRE_SERVICES=1")
		}
		t.Skip("SKIPPING the Redis-down test: redis-server is not installed")
	}
	cmd := exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopRedis(cmd) })
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprint("127.0.0.1:", port)})
	defer c.Close()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c.Ping(context.Background()).Err() == nil {
			return cmd
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on port %d did not start", port)
		}
	}
}

func stopRedis(cmd *exec.Cmd) {
	if cmd.ProcessState == nil {
		cmd.Process.Kill()
		cmd.Wait()
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestRedisDown kills Redis under a Fallback: no request fails, the Fallback switches to
// local limits once, and switches back once Redis returns on the same port.
func TestRedisDown(t *testing.T) {
	port := freePort(t)
	srv := startRedis(t, port)
	c := redis.NewClient(&redis.Options{
		Addr: fmt.Sprint("127.0.0.1:", port), DialTimeout: 100 * time.Millisecond,
		ReadTimeout: 100 * time.Millisecond, WriteTimeout: 100 * time.Millisecond, MaxRetries: -1,
	})
	defer c.Close()
	var now atomic.Int64 // the Fallback's retry clock, in ns after T0
	var downs, ups atomic.Int64
	f := &ratelimit.Fallback{
		Primary:    redisrate.New(c, "down-test"),
		Secondary:  ratelimit.NewLocal(0),
		RetryAfter: time.Second,
		Now:        func() time.Time { return ratelimittest.T0.Add(time.Duration(now.Load())) },
		OnChange: func(d bool) {
			if d {
				downs.Add(1)
			} else {
				ups.Add(1)
			}
		},
	}
	lim := ratelimit.Limit{Name: "requests", Limit: 5, Window: time.Minute}
	allowed := 0
	allow := func(phase string, n int) {
		t.Helper()
		for range n {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			r, err := f.Allow(ctx, "k", lim, 1, ratelimittest.T0)
			cancel()
			if err != nil {
				t.Fatalf("%s: Allow returned an error: %v", phase, err)
			}
			if r.Allowed {
				allowed++
			}
		}
	}

	allow("Redis up", 3)
	if f.Degraded() || allowed != 3 {
		t.Fatalf("Redis up: degraded %v, allowed %d", f.Degraded(), allowed)
	}
	stopRedis(srv)
	allow("Redis down", 10)
	if !f.Degraded() || downs.Load() != 1 || ups.Load() != 0 {
		t.Fatalf("Redis down: degraded %v, OnChange(true) %d, OnChange(false) %d", f.Degraded(), downs.Load(), ups.Load())
	}
	// Degraded bound: Redis's budget (3 taken) plus a fresh local one (5).
	if allowed != 3+5 {
		t.Fatalf("allowed %d over the outage, want 8 (3 from Redis, 5 local)", allowed)
	}
	now.Add(int64(time.Second))
	allow("probe while Redis is still down", 3)
	if !f.Degraded() || downs.Load() != 1 {
		t.Fatalf("failed probe: degraded %v, OnChange(true) %d", f.Degraded(), downs.Load())
	}

	startRedis(t, port) // empty: the state was not persisted
	allow("Redis back, within RetryAfter", 2)
	if !f.Degraded() {
		t.Fatal("left degraded mode before RetryAfter")
	}
	now.Add(int64(time.Second))
	allow("Redis back", 1)
	if f.Degraded() || ups.Load() != 1 || downs.Load() != 1 {
		t.Fatalf("Redis back: degraded %v, OnChange(true) %d, OnChange(false) %d", f.Degraded(), downs.Load(), ups.Load())
	}
	// The probe went to the new Redis: it holds the state again.
	if v, err := c.Get(context.Background(), "down-test:k").Result(); err != nil || !strings.Contains(v, ":") {
		t.Fatalf("state in the restarted Redis: %q, %v", v, err)
	}
}

// TestNoScript checks the EVAL fallback when Redis has lost the script (after a restart
// or SCRIPT FLUSH), on a private server so the shared one is left alone.
func TestNoScript(t *testing.T) {
	port := freePort(t)
	startRedis(t, port)
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprint("127.0.0.1:", port)})
	defer c.Close()
	r := redisrate.New(c, "noscript")
	lim := ratelimit.Limit{Name: "requests", Limit: 5, Window: time.Minute}
	ctx := context.Background()
	for i := range 3 {
		if err := c.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		res, err := r.Allow(ctx, "k", lim, 1, ratelimittest.T0)
		if err != nil || res.Remaining != int64(4-i) {
			t.Fatalf("after SCRIPT FLUSH: %+v, %v", res, err)
		}
	}
}
