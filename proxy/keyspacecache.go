package proxy

import (
	"context"
	"sync"
	"time"
)

// CachedAPIKeyHeaderAllowed wraps a lookup of keyspaces' X-API-Key
// setting so that each keyspace is asked at most once per ttl (errors are
// not cached). A keyspace's change reaches the gateway within ttl.
func CachedAPIKeyHeaderAllowed(lookup func(ctx context.Context, keyspace string) (bool, error), ttl time.Duration, now func() time.Time) func(context.Context, string) (bool, error) {
	if now == nil {
		now = time.Now
	}
	type entry struct {
		ok      bool
		expires time.Time
	}
	var mu sync.Mutex
	cache := map[string]entry{}
	return func(ctx context.Context, ks string) (bool, error) {
		t := now()
		mu.Lock()
		e, hit := cache[ks]
		mu.Unlock()
		if hit && t.Before(e.expires) {
			return e.ok, nil
		}
		ok, err := lookup(ctx, ks)
		if err != nil {
			return false, err
		}
		mu.Lock()
		if len(cache) > 10_000 {
			clear(cache) // keyspaces are few; this only bounds a misuse
		}
		cache[ks] = entry{ok: ok, expires: t.Add(ttl)}
		mu.Unlock()
		return ok, nil
	}
}
