package httpsig

import (
	"container/heap"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"sync"
	"time"
)

// NonceCache remembers the nonces of verified signatures, per key, for as
// long as a signature carrying them could still pass the clock check.
type NonceCache interface {
	// Seen records nonce for keyID for at least ttl and reports whether it
	// was already recorded and not yet expired. The check and the record
	// must be one atomic step (a Redis implementation uses SET NX PX).
	// Errors are the implementation's own, for example storage being
	// unavailable or [ErrNonceCacheFull]; [Verifier.Verify] then fails
	// closed.
	Seen(ctx context.Context, keyID, nonce string, ttl time.Duration) (replayed bool, err error)
}

// ErrNonceCacheFull is returned by [MemoryNonceCache.Seen] when the cache
// holds its maximum number of unexpired nonces. Evicting one early would let
// it be replayed, so the cache refuses new ones instead.
var ErrNonceCacheFull = errors.New("httpsig: nonce cache full")

// DefaultNonceCacheSize is the capacity of a [MemoryNonceCache] created with
// a size of 0.
const DefaultNonceCacheSize = 100_000

// MemoryNonceCache is an in-process [NonceCache] of bounded size. It suits a
// single node; several nodes need a shared cache. It stores a SHA-256 of the
// key id and nonce, so an entry has a fixed size whatever the nonce length.
type MemoryNonceCache struct {
	max int
	now func() time.Time

	mu      sync.Mutex
	expires map[[sha256.Size]byte]time.Time
	queue   expiryQueue
}

var _ NonceCache = (*MemoryNonceCache)(nil)

// NewMemoryNonceCache returns a cache holding at most size unexpired nonces
// (DefaultNonceCacheSize if size <= 0). now is its clock (time.Now if nil);
// give it the verifier's clock.
func NewMemoryNonceCache(size int, now func() time.Time) *MemoryNonceCache {
	if size <= 0 {
		size = DefaultNonceCacheSize
	}
	if now == nil {
		now = time.Now
	}
	return &MemoryNonceCache{max: size, now: now, expires: make(map[[sha256.Size]byte]time.Time)}
}

// Seen implements [NonceCache]. A ttl below one second is raised to one
// second. It returns ctx's error if ctx is done, and [ErrNonceCacheFull].
func (c *MemoryNonceCache) Seen(ctx context.Context, keyID, nonce string, ttl time.Duration) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if ttl < time.Second {
		ttl = time.Second
	}
	k := nonceKey(keyID, nonce)
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	c.expireLocked(now)
	if _, ok := c.expires[k]; ok {
		return true, nil
	}
	if len(c.expires) >= c.max {
		return false, ErrNonceCacheFull
	}
	exp := now.Add(ttl)
	c.expires[k] = exp
	heap.Push(&c.queue, nonceEntry{key: k, exp: exp})
	return false, nil
}

// Len returns the number of unexpired nonces held.
func (c *MemoryNonceCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expireLocked(c.now())
	return len(c.expires)
}

// expireLocked drops every entry whose expiry is not after now.
func (c *MemoryNonceCache) expireLocked(now time.Time) {
	for len(c.queue) > 0 && !now.Before(c.queue[0].exp) {
		e := heap.Pop(&c.queue).(nonceEntry)
		delete(c.expires, e.key)
	}
}

// nonceKey hashes keyID and nonce unambiguously (length-prefixed key id).
func nonceKey(keyID, nonce string) [sha256.Size]byte {
	h := sha256.New()
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(keyID)))
	h.Write(n[:])
	h.Write([]byte(keyID))
	h.Write([]byte(nonce))
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

type nonceEntry struct {
	key [sha256.Size]byte
	exp time.Time
}

// expiryQueue is a min-heap of entries by expiry.
type expiryQueue []nonceEntry

func (q expiryQueue) Len() int           { return len(q) }
func (q expiryQueue) Less(i, j int) bool { return q[i].exp.Before(q[j].exp) }
func (q expiryQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *expiryQueue) Push(x any)        { *q = append(*q, x.(nonceEntry)) }
func (q *expiryQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}
