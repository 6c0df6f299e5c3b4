package ratelimit

import (
	"context"
	"hash/maphash"
	"slices"
	"sync"
	"time"

	"github.com/latchkey/latchkey/ratelimit/internal/gcra"
)

// DefaultMaxKeys is the key capacity of NewLocal(0).
const DefaultMaxKeys = 1_000_000

// Local is the in-process Limiter: the TAT of each key in sharded maps, one mutex per
// shard. It is safe for concurrent use. Allow does not allocate for a key it holds.
//
// An entry whose TAT has passed is dead (a missing key has the same, full, budget) and is
// reclaimed when its shard is full and by Sweep. Memory is bounded by maxKeys: when a
// shard is full, an insert first removes its dead entries and then, if fewer than 1/16
// of the shard's share were dead, the live entries with the oldest TAT (those closest to
// a full budget). An evicted key simply gets a full budget again, so the accuracy bound of
// the package holds only for keys that are not evicted; this happens only when maxKeys
// keys are in use at once.
type Local struct {
	seed   maphash.Seed
	mask   uint64
	shards []shard
}

type shard struct {
	mu      sync.Mutex
	m       map[string]gcra.Nanos // key → TAT
	max     int                   // this shard's share of maxKeys
	scratch []int64               // reused by evictLocked
	_       [64]byte              // keep neighbouring shards' mutexes off one cache line
}

var _ Limiter = (*Local)(nil)

// NewLocal returns a Local that holds at most maxKeys keys (maxKeys ≤ 0 means
// DefaultMaxKeys). Keys are spread over up to 64 shards, fewer for small maxKeys, and
// eviction picks the oldest TAT within the full shard.
func NewLocal(maxKeys int) *Local {
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	n := 64
	for n > 1 && maxKeys/n < 64 {
		n /= 2
	}
	l := &Local{seed: maphash.MakeSeed(), mask: uint64(n - 1), shards: make([]shard, n)}
	for i := range l.shards {
		s := &l.shards[i]
		s.max = maxKeys / n
		if i < maxKeys%n {
			s.max++
		}
		s.m = make(map[string]gcra.Nanos)
	}
	return l
}

// Allow implements Limiter. It never fails except with ErrInvalid; ctx is not used.
func (l *Local) Allow(_ context.Context, key string, lim Limit, cost int64, now time.Time) (Result, error) {
	if err := Check(lim, cost, now); err != nil {
		return Result{}, err
	}
	p, ns := params(lim), now.UnixNano()
	s := &l.shards[maphash.String(l.seed, key)&l.mask]
	s.mu.Lock()
	tat, ok := s.m[key]
	o, next, store := p.Step(cost, ns, p.Until(tat, ns))
	if store {
		tat = gcra.Nanos{NS: ns + next.NS, Rem: next.Rem}
		if !ok && len(s.m) >= s.max {
			s.evictLocked(ns)
		}
		s.m[key] = tat
	}
	s.mu.Unlock()
	return result(lim, o), nil
}

// Sweep removes the entries that are dead at now and returns how many it removed.
func (l *Local) Sweep(now time.Time) int {
	ns, n := now.UnixNano(), 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += s.sweepLocked(ns)
		s.mu.Unlock()
	}
	return n
}

// Len returns the number of keys held, dead ones included.
func (l *Local) Len() int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}

func (s *shard) sweepLocked(now int64) int {
	n := 0
	for k, tat := range s.m {
		if tat.NS < now {
			delete(s.m, k)
			n++
		}
	}
	return n
}

// evictLocked makes room in a full shard: it removes the dead entries and, if that frees
// fewer than 1/16 of the share, the live entries with the oldest TAT, so that the
// O(len) scan is paid once per many inserts.
func (s *shard) evictLocked(now int64) {
	want := max(1, s.max/16)
	freed := s.sweepLocked(now)
	if freed >= want || len(s.m) == 0 {
		return
	}
	k := min(want-freed, len(s.m))
	s.scratch = s.scratch[:0]
	for _, tat := range s.m {
		s.scratch = append(s.scratch, tat.NS)
	}
	slices.Sort(s.scratch)
	cut := s.scratch[k-1] // evict TATs ≤ cut, at most k of them
	for key, tat := range s.m {
		if k == 0 {
			break
		}
		if tat.NS <= cut {
			delete(s.m, key)
			k--
		}
	}
}
