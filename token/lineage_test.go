package token_test

import (
	"context"
	"testing"
	"time"

	"github.com/latchkey/latchkey/ratelimit"
	"github.com/latchkey/latchkey/token"
)

// TestRotationChainSharesCredits: a chain of 12 rotations, every old key
// still in its grace period, has the credits of the one key it started
// with: no generation, however deep, spends credits of its own.
func TestRotationChainSharesCredits(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	three := int64(3)
	ck := f.create(token.CreateKeyParams{Remaining: &three})
	secrets := []string{ck.Secret.Reveal()}
	id := ck.Key.ID
	for range 12 {
		n, _, err := f.svc.RotateKey(ctx, f.root, id, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, n.Secret.Reveal())
		id = n.Key.ID
	}
	valid := 0
	for range 2 {
		for _, s := range secrets {
			if f.verify(s).Valid {
				valid++
			}
		}
	}
	if valid != 3 {
		t.Fatalf("a 13-key rotation chain with 3 credits admitted %d verifications, want 3", valid)
	}
}

// TestRotationChainSharesRateLimit: a key allowed 3 verifications an hour,
// rotated 12 times with every old key still in its grace period, admits 3
// verifications in all: the rate-limit bucket belongs to the lineage, so
// neither rotating nor presenting an older generation buys a fresh budget.
func TestRotationChainSharesRateLimit(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ck := f.create(token.CreateKeyParams{RateLimits: []ratelimit.Limit{{Name: "hourly", Limit: 3, Window: time.Hour}}})
	secrets := []string{ck.Secret.Reveal()}
	first, id := ck.Key.ID, ck.Key.ID
	for range 12 {
		n, _, err := f.svc.RotateKey(ctx, f.root, id, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if n.Key.LineageID != first {
			t.Fatalf("successor %s: LineageID = %q, want the first key's ID %q", n.Key.ID, n.Key.LineageID, first)
		}
		secrets = append(secrets, n.Secret.Reveal())
		id = n.Key.ID
	}
	valid := 0
	for range 2 {
		for _, s := range secrets {
			if f.verify(s).Valid {
				valid++
			}
		}
	}
	if valid != 3 {
		t.Fatalf("a 13-key rotation chain limited to 3/hour admitted %d verifications, want 3", valid)
	}
}
