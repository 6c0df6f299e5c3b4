package server

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/latchkey/latchkey/ratelimit"
	"github.com/latchkey/latchkey/ratelimit/redisrate"
)

// limiter builds the rate limiter: in-process, or Redis-backed with a
// fallback to in-process limits while Redis cannot answer (degraded: each
// node then enforces the limit on its own, so N nodes admit up to N times
// the limit). It returns the limiter, a report of its mode for /readyz, and
// a function that releases it.
func limiter(redisURL string, log *slog.Logger, reg prometheus.Registerer) (ratelimit.Limiter, func() string, func(), error) {
	local := ratelimit.NewLocal(0)
	if redisURL == "" {
		return local, func() string { return "local" }, func() {}, nil
	}
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("LATCHKEY_REDIS_URL: %w", err)
	}
	// A Redis that is down refuses at once; these bound a Redis that hangs.
	// They are generous enough that a busy node (or a busy Redis) is not
	// mistaken for an outage: degrading doubles what N nodes admit.
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = time.Second, 500*time.Millisecond, 500*time.Millisecond
	opts.PoolTimeout, opts.MaxRetries = 500*time.Millisecond, -1
	redis.SetLogger(redisLogger{log})
	client := redis.NewClient(opts)
	degraded := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "latchkey_ratelimit_degraded",
		Help: "1 while Redis cannot answer and rate limits fall back to per-node limits.",
	})
	reg.MustRegister(degraded)
	fb := &ratelimit.Fallback{
		Primary:   redisrate.New(client, "latchkey:rl"),
		Secondary: local,
		OnChange: func(d bool) {
			if d {
				degraded.Set(1)
				log.Warn("rate limits degraded: Redis unreachable, enforcing per-node limits")
			} else {
				degraded.Set(0)
				log.Info("rate limits shared through Redis again")
			}
		},
	}
	// Check Redis now rather than at the first limited request, so a
	// wrong or dead LATCHKEY_REDIS_URL shows at start: in the log, in
	// /readyz ("ratelimit": "degraded") and in latchkey_ratelimit_degraded.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	err = client.Ping(ctx).Err()
	cancel()
	if err != nil {
		log.Warn("Redis does not answer at start: starting with per-node rate limits until it does", "redis_addr", opts.Addr, "err", err)
		fb.StartDegraded()
	}
	mode := func() string {
		if fb.Degraded() {
			return "degraded"
		}
		return "redis"
	}
	return fb, mode, func() { client.Close() }, nil
}

// redisLogger routes go-redis's own log lines (otherwise plain text on
// stderr, breaking a JSON log) through slog, at warning level.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(ctx, "redis client", "detail", fmt.Sprintf(format, v...))
}
