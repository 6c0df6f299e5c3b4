package signer

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// ErrNoSigningKey is returned when no key of the ring may sign at a time.
var ErrNoSigningKey = errors.New("signer: no signing key")

// Ring is the set of signing keys, looked up by kid in memory. The time is
// always passed in, so the ring holds no clock of its own. The ring reports
// the schedule set on each key; it does not create or rotate keys. A Ring is
// safe for concurrent use.
type Ring struct {
	mu   sync.RWMutex
	keys map[string]*Key
}

// NewRing returns a ring holding keys; see Add for the rules.
func NewRing(keys ...*Key) (*Ring, error) {
	r := &Ring{keys: make(map[string]*Key, len(keys))}
	for _, k := range keys {
		if err := r.Add(k); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Add validates k with ValidateImported and adds it. A kid already in the
// ring is rejected (JWT-15e).
func (r *Ring) Add(k *Key) error {
	if err := ValidateImported(k); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.keys == nil {
		r.keys = make(map[string]*Key)
	}
	if _, dup := r.keys[k.ID]; dup {
		return fmt.Errorf("signer: ring: duplicate kid %q", k.ID)
	}
	r.keys[k.ID] = k
	return nil
}

// Remove drops the key with the given kid, if any.
func (r *Ring) Remove(kid string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.keys, kid)
}

// Signing returns the key to sign with at now: among the keys with
// NotBefore ≤ now < SignUntil, the one with the latest NotBefore (ties broken
// by kid, so every node picks the same key). It returns ErrNoSigningKey if
// there is none.
func (r *Ring) Signing(now time.Time) (*Key, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var best *Key
	for _, k := range r.keys {
		if now.Before(k.NotBefore) || !now.Before(k.SignUntil) {
			continue
		}
		if best == nil || k.NotBefore.After(best.NotBefore) ||
			(k.NotBefore.Equal(best.NotBefore) && k.ID > best.ID) {
			best = k
		}
	}
	if best == nil {
		return nil, ErrNoSigningKey
	}
	return best, nil
}

// published returns the key with the given kid if it is still published at
// now (now < RetireAt).
func (r *Ring) published(kid string, now time.Time) (*Key, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	k, ok := r.keys[kid]
	if !ok || !now.Before(k.RetireAt) {
		return nil, false
	}
	return k, true
}

// JWKS returns the public JWK set, as JSON, of every key with now < RetireAt,
// newest first. It holds only public members, with kid, alg and use "sig".
func (r *Ring) JWKS(now time.Time) ([]byte, error) {
	r.mu.RLock()
	var keys []*Key
	for _, k := range r.keys {
		if now.Before(k.RetireAt) {
			keys = append(keys, k)
		}
	}
	r.mu.RUnlock()
	sort.Slice(keys, func(i, j int) bool {
		if !keys[i].NotBefore.Equal(keys[j].NotBefore) {
			return keys[i].NotBefore.After(keys[j].NotBefore)
		}
		return keys[i].ID < keys[j].ID
	})
	set := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(keys))}
	for _, k := range keys {
		pub := k.publicJWK()
		if !pub.IsPublic() {
			return nil, errors.New("signer: jwks: refusing to publish a private key")
		}
		set.Keys = append(set.Keys, pub)
	}
	b, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("signer: jwks: %w", err)
	}
	return b, nil
}

// all returns the ring's keys, published or not, in no particular order.
func (r *Ring) all() []*Key {
	r.mu.RLock()
	defer r.mu.RUnlock()
	keys := make([]*Key, 0, len(r.keys))
	for _, k := range r.keys {
		keys = append(keys, k)
	}
	return keys
}

// Keys returns the ring's keys ordered by NotBefore, newest first.
func (r *Ring) Keys() []*Key {
	keys := r.all()
	sort.Slice(keys, func(i, j int) bool {
		if !keys[i].NotBefore.Equal(keys[j].NotBefore) {
			return keys[i].NotBefore.After(keys[j].NotBefore)
		}
		return keys[i].ID < keys[j].ID
	})
	return keys
}
