package verify

import (
	"errors"
	"testing"
	"time"

	"github.com/latchkey/latchkey/api"
)

func TestRevocationsCheck(t *testing.T) {
	c := &clock{t: t0}
	r := NewRevocations(nil, RevocationsOptions{Now: c.Now})
	revokedAt := t0.Add(-time.Minute)
	r.apply([]api.Revocation{
		{Kind: "key", ID: "key_a", RevokedAt: revokedAt},
		{Kind: "principal", ID: "user:bob", RevokedAt: revokedAt},
		{Kind: "key", ID: "key_later", RevokedAt: t0.Add(time.Hour)}, // expiry moved earlier, still ahead
		{Kind: "mystery", ID: "key_b", RevokedAt: revokedAt},
	}, "4")
	for _, tc := range []struct {
		name    string
		c       Claims
		revoked bool
	}{
		{"issued before its key's revocation", Claims{KeyID: "key_a", Subject: "user:x", IssuedAt: revokedAt.Add(-time.Second)}, true},
		{"issued the same second", Claims{KeyID: "key_a", Subject: "user:x", IssuedAt: revokedAt}, true},
		{"issued within the margin after (another node's cache)", Claims{KeyID: "key_a", Subject: "user:x", IssuedAt: revokedAt.Add(RevocationMargin)}, true},
		{"issued after the margin (key re-enabled)", Claims{KeyID: "key_a", Subject: "user:x", IssuedAt: revokedAt.Add(RevocationMargin + time.Second)}, false},
		{"principal disabled", Claims{KeyID: "key_c", Subject: "user:bob", IssuedAt: revokedAt.Add(-time.Second)}, true},
		{"revocation still in the future", Claims{KeyID: "key_later", Subject: "user:x", IssuedAt: t0}, false},
		{"unknown kind ignored", Claims{KeyID: "key_b", Subject: "user:x", IssuedAt: revokedAt.Add(-time.Second)}, false},
		{"other key", Claims{KeyID: "key_z", Subject: "user:x", IssuedAt: revokedAt.Add(-time.Second)}, false},
	} {
		err := r.check(&tc.c)
		if got := errors.Is(err, ErrInvalidToken); got != tc.revoked {
			t.Errorf("%s: %v, want revoked=%v", tc.name, err, tc.revoked)
		}
	}
	c.Add(t0.Add(time.Hour + time.Second).Sub(c.Now()))
	if err := r.check(&Claims{KeyID: "key_later", IssuedAt: t0}); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("after a shortened expiry passed: %v, want revoked", err)
	}
	// Entries older than the window are forgotten (no live JWT predates
	// them by less than an hour).
	c.Add(revokedAt.Add(RevocationWindow + time.Second).Sub(c.Now()))
	r.apply(nil, "4")
	if len(r.keys) != 1 || len(r.principals) != 0 {
		t.Errorf("after the window: %d keys, %d principals remembered", len(r.keys), len(r.principals))
	}
}

func TestRevocationsMaxStaleFailsClosed(t *testing.T) {
	c := &clock{t: t0}
	r := NewRevocations(nil, RevocationsOptions{Now: c.Now, MaxStale: time.Minute})
	claims := &Claims{KeyID: "key_a", IssuedAt: t0}
	if err := r.check(claims); !errors.Is(err, ErrUnavailable) {
		t.Errorf("never synced: %v, want unavailable", err)
	}
	r.apply(nil, "0")
	if err := r.check(claims); err != nil {
		t.Errorf("fresh: %v", err)
	}
	c.Add(t0.Add(time.Minute + time.Second).Sub(c.Now()))
	if err := r.check(claims); !errors.Is(err, ErrUnavailable) {
		t.Errorf("stale for 61s: %v, want unavailable", err)
	}
}
