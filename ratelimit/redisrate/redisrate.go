// Package redisrate is a ratelimit.Limiter whose state lives in Redis, so that several
// latchkey nodes share one budget per key.
//
// Each Allow runs one Lua script (EVALSHA, with EVAL when Redis answers NOSCRIPT) that
// applies the same exact GCRA step as ratelimit.Local to the key <prefix>:<key>, whose
// value is the TAT in Unix nanoseconds plus a remainder in 1/Limit ns, as a string. The
// key expires one second after its TAT, when it would mean a full budget anyway, so idle
// keys vanish. The script touches one key, so it works on Redis Cluster too.
//
// The time comes from the caller's now, not from Redis: nodes must be NTP-synced, and
// the accuracy bound of package ratelimit then holds across nodes up to their clock skew.
// Allow honours ctx; callers should give it a short timeout (tens of milliseconds) and
// configure the client with small dial/read timeouts and few retries, and wrap the
// Limiter in a ratelimit.Fallback so that an unreachable Redis degrades to per-node
// limits instead of failing requests.
package redisrate

import (
	"context"
	_ "embed"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/latchkey/latchkey/ratelimit"
	"github.com/latchkey/latchkey/ratelimit/internal/gcra"
)

//go:embed gcra.lua
var gcraLua string

var script = redis.NewScript(gcraLua)

// Limiter is a ratelimit.Limiter on Redis. It is safe for concurrent use.
type Limiter struct {
	c      redis.UniversalClient
	prefix string
}

var _ ratelimit.Limiter = (*Limiter)(nil)

// New returns a Limiter that keeps its state in c under keys "<prefix>:<key>".
func New(c redis.UniversalClient, prefix string) *Limiter {
	return &Limiter{c: c, prefix: prefix}
}

// Allow implements ratelimit.Limiter. It returns an error wrapping ratelimit.ErrInvalid
// for invalid arguments, and "redisrate: allow: " wrapping the go-redis error (or ctx's)
// when Redis does not answer.
func (l *Limiter) Allow(ctx context.Context, key string, lim ratelimit.Limit, cost int64, now time.Time) (ratelimit.Result, error) {
	if err := ratelimit.Check(lim, cost, now); err != nil {
		return ratelimit.Result{}, err
	}
	p := gcra.Params{Limit: lim.Limit, Window: int64(lim.Window)}
	ns := now.UnixNano()
	mode, inc := "take", gcra.Nanos{}
	switch {
	case cost > lim.Limit:
		mode = "read"
	case cost == 0:
		mode, inc = "peek", p.Probe(0)
	default:
		inc = p.Probe(cost)
	}
	v, err := script.Run(ctx, l.c, []string{l.prefix + ":" + key},
		ns/1e9, ns%1e9, inc.NS, inc.Rem, lim.Limit, int64(lim.Window), mode).Int64Slice()
	if err != nil {
		return ratelimit.Result{}, fmt.Errorf("redisrate: allow: %w", err)
	}
	if len(v) != 3 || v[1] < 0 || v[2] < 0 || v[2] >= lim.Limit {
		return ratelimit.Result{}, fmt.Errorf("redisrate: allow: unexpected script reply %v", v)
	}
	o := p.Finish(cost, ns, gcra.Nanos{NS: v[1], Rem: v[2]}, v[0] == 1)
	return ratelimit.Result{
		Limit:      lim,
		Allowed:    o.Allowed,
		Remaining:  o.Remaining,
		Reset:      time.Unix(0, o.Reset),
		RetryAfter: time.Duration(o.RetryAfter),
	}, nil
}
