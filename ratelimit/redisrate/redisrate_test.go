package redisrate_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/latchkey/latchkey/ratelimit"
	"github.com/latchkey/latchkey/ratelimit/ratelimittest"
	"github.com/latchkey/latchkey/ratelimit/redisrate"
)

// client connects to LATCHKEY_TEST_REDIS_URL. Unset, the test is skipped, or fails when
// LATCHKEY_TEST_REQUIRE_SERVICES=1 (as in CI).
func client(t *testing.T) *redis.Client {
	t.Helper()
	url := os.Getenv("LATCHKEY_TEST_REDIS_URL")
	if url == "" {
		if os.Getenv("LATCHKEY_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatal("LATCHKEY_TEST_REDIS_URL is not set and LATCHKEY_TEST_REQUIRE_SERVICES=1")
		}
		t.Skip("SKIPPING Redis tests: set LATCHKEY_TEST_REDIS_URL=redis://127.0.0.1:6379/0 to run them")
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("LATCHKEY_TEST_REDIS_URL: %v", err)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("Redis at %s: %v", url, err)
	}
	return c
}

// prefix returns a random key prefix and deletes its keys when t ends.
func prefix(t *testing.T, c *redis.Client) string {
	t.Helper()
	p := "latchkey-test:" + rand.Text()
	t.Cleanup(func() { deleteKeys(t, c, p) })
	return p
}

func deleteKeys(t *testing.T, c *redis.Client, prefix string) {
	ctx := context.Background()
	iter := c.Scan(ctx, 0, prefix+":*", 1000).Iterator()
	for iter.Next(ctx) {
		if err := c.Del(ctx, iter.Val()).Err(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	}
	if err := iter.Err(); err != nil {
		t.Errorf("cleanup: %v", err)
	}
}

func TestConformance(t *testing.T) {
	c := client(t)
	ratelimittest.Run(t, func(t *testing.T) ratelimit.Limiter { return redisrate.New(c, prefix(t, c)) })
}

func TestTwoClientsShareOneBudget(t *testing.T) {
	c1, c2 := client(t), client(t)
	p := prefix(t, c1)
	ratelimittest.Concurrent(t, []ratelimit.Limiter{redisrate.New(c1, p), redisrate.New(c2, p)}, 50)
}

// TestSameAsLocal replays random requests on Local and on Redis and requires identical
// results: the Lua script and the Go GCRA are one algorithm.
func TestSameAsLocal(t *testing.T) {
	c := client(t)
	r := redisrate.New(c, prefix(t, c))
	l := ratelimit.NewLocal(0)
	limits := []ratelimit.Limit{
		{Name: "a", Limit: 3, Window: time.Second},
		{Name: "b", Limit: 7, Window: 744 * time.Hour},
		{Name: "c", Limit: 999_999_937, Window: time.Second + 7},
		{Name: "d", Limit: 60, Window: time.Minute},
	}
	rng := mrand.New(mrand.NewPCG(7, 7))
	now := ratelimittest.T0
	ctx := context.Background()
	for i := range 2000 {
		lim := limits[rng.IntN(len(limits))]
		key := fmt.Sprint(lim.Name, rng.IntN(3))
		cost := rng.Int64N(4)
		switch rng.IntN(10) {
		case 0:
			cost = lim.Limit - rng.Int64N(2)
		case 1:
			cost = lim.Limit + 1
		}
		now = now.Add(time.Duration(rng.Int64N(int64(lim.Window) / lim.Limit * 2)))
		if rng.IntN(50) == 0 {
			now = now.Add(-time.Duration(rng.Int64N(int64(lim.Window)))) // a clock step back
		}
		want, err1 := l.Allow(ctx, key, lim, cost, now)
		got, err2 := r.Allow(ctx, key, lim, cost, now)
		if err1 != nil || err2 != nil {
			t.Fatalf("request %d: errors %v, %v", i, err1, err2)
		}
		if got.Allowed != want.Allowed || got.Remaining != want.Remaining ||
			!got.Reset.Equal(want.Reset) || got.RetryAfter != want.RetryAfter {
			t.Fatalf("request %d (%s %q cost %d): redis %+v, local %+v", i, lim.Name, key, cost, got, want)
		}
	}
}

func TestStateExpiresAtTAT(t *testing.T) {
	c := client(t)
	p := prefix(t, c)
	r := redisrate.New(c, p)
	lim := ratelimit.Limit{Name: "requests", Limit: 10, Window: time.Minute}
	if _, err := r.Allow(context.Background(), "k", lim, 4, time.Now()); err != nil {
		t.Fatal(err)
	}
	ttl, err := c.PTTL(context.Background(), p+":k").Result()
	if err != nil {
		t.Fatal(err)
	}
	// TAT is 24s ahead; the key lives until then plus 1s of grace.
	if ttl < 24*time.Second || ttl > 25*time.Second+time.Millisecond {
		t.Fatalf("PTTL = %s, want about 25s", ttl)
	}
	// Peeks and refusals write nothing.
	if _, err := r.Allow(context.Background(), "peek", lim, 0, time.Now()); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Exists(context.Background(), p+":peek").Result(); err != nil || n != 0 {
		t.Fatalf("a peek created its key: %d, %v", n, err)
	}
}

func TestContextErrorIsWrapped(t *testing.T) {
	c := client(t)
	r := redisrate.New(c, prefix(t, c))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	lim := ratelimit.Limit{Name: "requests", Limit: 10, Window: time.Minute}
	_, err := r.Allow(ctx, "k", lim, 1, time.Now())
	if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "redisrate: allow: ") {
		t.Fatalf("err = %v, want redisrate: allow: … context canceled", err)
	}
}
