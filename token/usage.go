package token

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// usageRecorder collects what verification learns (last use, counts by
// code) in memory and writes it to the store in batches, so verification
// never waits for a storage write.
type usageRecorder struct {
	store KeyStore
	log   *slog.Logger

	mu      sync.Mutex
	pending map[string]*Usage // by key ID

	flushMu sync.Mutex // one flush at a time

	wrote func(error) error // records a write's outcome (nil: not recorded)
}

func newUsageRecorder(st KeyStore, log *slog.Logger) *usageRecorder {
	return &usageRecorder{store: st, log: log, pending: make(map[string]*Usage)}
}

func (r *usageRecorder) record(keyID string, code Code, ip string, now time.Time) {
	r.mu.Lock()
	u := r.pending[keyID]
	if u == nil {
		u = &Usage{KeyID: keyID, Counts: make(map[Code]int64, 2)}
		r.pending[keyID] = u
	}
	u.Counts[code]++
	if now.After(u.LastUsedAt) {
		u.LastUsedAt = now
		u.LastUsedIP = ip
	}
	r.mu.Unlock()
}

// touch records a use of keyID that is not a verification (a management
// credential authenticating a call): last-used time and address only.
func (r *usageRecorder) touch(keyID, ip string, now time.Time) {
	r.mu.Lock()
	u := r.pending[keyID]
	if u == nil {
		u = &Usage{KeyID: keyID, Counts: make(map[Code]int64, 2)}
		r.pending[keyID] = u
	}
	if now.After(u.LastUsedAt) {
		u.LastUsedAt = now
		u.LastUsedIP = ip
	}
	r.mu.Unlock()
}

// flush writes everything pending. On failure the batch is merged back so
// nothing is lost; the next flush retries it.
func (r *usageRecorder) flush(ctx context.Context) error {
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	r.mu.Lock()
	if len(r.pending) == 0 {
		r.mu.Unlock()
		return nil
	}
	taken := r.pending
	r.pending = make(map[string]*Usage, len(taken))
	r.mu.Unlock()

	batch := make([]Usage, 0, len(taken))
	for _, u := range taken {
		batch = append(batch, *u)
	}
	err := r.store.RecordUsage(ctx, batch)
	if r.wrote != nil {
		r.wrote(err)
	}
	if err != nil {
		r.mu.Lock()
		for id, u := range taken {
			if cur := r.pending[id]; cur != nil {
				for c, n := range cur.Counts {
					u.Counts[c] += n
				}
				if cur.LastUsedAt.After(u.LastUsedAt) {
					u.LastUsedAt, u.LastUsedIP = cur.LastUsedAt, cur.LastUsedIP
				}
			}
			r.pending[id] = u
		}
		r.mu.Unlock()
		return Unavailablef(err, "flush usage")
	}
	return nil
}

func (r *usageRecorder) run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := r.flush(ctx); err != nil {
				r.log.Warn("usage flush failed; will retry", "err", err)
			}
		}
	}
}
