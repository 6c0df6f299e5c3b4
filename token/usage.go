package token

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// usageRecorder collects what verification learns (last use, counts by
// code and minute) in memory and writes it to the store in batches, so
// verification never waits for a storage write.
type usageRecorder struct {
	store KeyStore
	log   *slog.Logger

	mu      sync.Mutex
	pending map[string]*pendingUsage // by key ID

	flushMu sync.Mutex // one flush at a time

	wrote func(error) error // records a write's outcome (nil: not recorded)
}

// pendingUsage is one key's usage since the last flush. The counts of the
// current minute are kept apart from the earlier ones, so that a
// verification increments one map entry, as it did before counts were kept
// by minute; a minute's counts move to past when the next minute begins.
type pendingUsage struct {
	u      Usage          // Counts stays nil until the flush sums the minutes
	minute int64          // the Unix minute cur counts
	cur    map[Code]int64 // counts of minute
	past   []MinuteCounts // earlier minutes (a clock stepping back may repeat one)
}

func newUsageRecorder(st KeyStore, log *slog.Logger) *usageRecorder {
	return &usageRecorder{store: st, log: log, pending: make(map[string]*pendingUsage)}
}

// entryLocked returns k's pending usage, creating it.
func (r *usageRecorder) entryLocked(k *Key) *pendingUsage {
	p := r.pending[k.ID]
	if p == nil {
		p = &pendingUsage{u: Usage{KeyID: k.ID, Keyspace: k.Keyspace}, minute: -1, cur: make(map[Code]int64, 2)}
		if k.Owner != nil {
			o := *k.Owner
			p.u.Owner = &o
		}
		r.pending[k.ID] = p
	}
	return p
}

func (r *usageRecorder) record(k *Key, code Code, ip string, now time.Time) {
	m := minuteOf(now)
	r.mu.Lock()
	p := r.entryLocked(k)
	if m != p.minute {
		p.roll(m)
	}
	p.cur[code]++
	if now.After(p.u.LastUsedAt) {
		p.u.LastUsedAt = now
		p.u.LastUsedIP = ip
	}
	r.mu.Unlock()
}

// minuteOf returns the Unix minute t falls in.
func minuteOf(t time.Time) int64 {
	s := t.Unix()
	if s < 0 && s%60 != 0 {
		return s/60 - 1
	}
	return s / 60
}

// roll moves the current minute's counts to past and starts minute m.
func (p *pendingUsage) roll(m int64) {
	if len(p.cur) > 0 {
		p.past = append(p.past, MinuteCounts{Minute: time.Unix(p.minute*60, 0).UTC(), Counts: p.cur})
		p.cur = make(map[Code]int64, 2)
	}
	p.minute = m
}

// touch records a use of k that is not a verification (a management
// credential authenticating a call): last-used time and address only.
func (r *usageRecorder) touch(k *Key, ip string, now time.Time) {
	r.mu.Lock()
	p := r.entryLocked(k)
	if now.After(p.u.LastUsedAt) {
		p.u.LastUsedAt = now
		p.u.LastUsedIP = ip
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
	r.pending = make(map[string]*pendingUsage, len(taken))
	r.mu.Unlock()

	batch := make([]Usage, 0, len(taken))
	for _, p := range taken {
		p.roll(-1)
		u := p.u
		u.Minutes = p.past
		u.Counts = make(map[Code]int64, 2)
		for _, mc := range p.past {
			for c, n := range mc.Counts {
				u.Counts[c] += n
			}
		}
		batch = append(batch, u)
	}
	err := r.store.RecordUsage(ctx, batch)
	if r.wrote != nil {
		r.wrote(err)
	}
	if err != nil {
		r.mu.Lock()
		for id, p := range taken {
			if cur := r.pending[id]; cur != nil {
				p.past = append(p.past, cur.past...)
				p.minute, p.cur = cur.minute, cur.cur
				if cur.u.LastUsedAt.After(p.u.LastUsedAt) {
					p.u.LastUsedAt, p.u.LastUsedIP = cur.u.LastUsedAt, cur.u.LastUsedIP
				}
			}
			p.past = compactMinutes(p.past)
			r.pending[id] = p
		}
		r.mu.Unlock()
		return Unavailablef(err, "flush usage")
	}
	return nil
}

// keptMinutes is how many minutes of a key's counts wait for a flush one
// by one; while the store stays down, older minutes fold into one entry
// per hour (dated at the hour's start), so memory grows by the hour, not
// by the minute. Totals and hour buckets stay exact.
const keptMinutes = 60

// compactMinutes folds all but the newest keptMinutes entries of past
// (oldest first) into one entry per hour.
func compactMinutes(past []MinuteCounts) []MinuteCounts {
	if len(past) <= 2*keptMinutes {
		return past
	}
	old, recent := past[:len(past)-keptMinutes], past[len(past)-keptMinutes:]
	var out []MinuteCounts
	for _, mc := range old {
		h := mc.Minute.Truncate(time.Hour)
		if n := len(out); n > 0 && out[n-1].Minute.Equal(h) {
			for c, v := range mc.Counts {
				out[n-1].Counts[c] += v
			}
			continue
		}
		counts := make(map[Code]int64, len(mc.Counts))
		for c, v := range mc.Counts {
			counts[c] = v
		}
		out = append(out, MinuteCounts{Minute: h, Counts: counts})
	}
	return append(out, recent...)
}

func (r *usageRecorder) run(ctx context.Context, interval time.Duration, after func(context.Context)) {
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
			if after != nil {
				after(ctx)
			}
		}
	}
}
