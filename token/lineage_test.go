package token_test

import (
	"context"
	"testing"
	"time"

	"github.com/latchkey/latchkey/ratelimit"
	"github.com/latchkey/latchkey/token"
)

// rotateChain rotates ck n times, every old key kept for an hour of grace,
// checks each successor with check (if any) and returns every generation's
// secret, oldest first.
func rotateChain(t *testing.T, f *fixture, ck *token.CreatedKey, n int, check func(*token.Key)) []string {
	t.Helper()
	secrets := []string{ck.Secret.Reveal()}
	id := ck.Key.ID
	for range n {
		next, _, err := f.svc.RotateKey(context.Background(), f.root, id, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if check != nil {
			check(next.Key)
		}
		secrets = append(secrets, next.Secret.Reveal())
		id = next.Key.ID
	}
	return secrets
}

// admitted verifies every secret twice and counts the valid answers.
func admitted(f *fixture, secrets []string) int {
	valid := 0
	for range 2 {
		for _, s := range secrets {
			if f.verify(s).Valid {
				valid++
			}
		}
	}
	return valid
}

// TestRotationChainSharesCredits: a chain of 12 rotations, every old key
// still in its grace period, has the credits of the one key it started
// with: no generation, however deep, spends credits of its own.
func TestRotationChainSharesCredits(t *testing.T) {
	f := newFixture(t)
	three := int64(3)
	ck := f.create(token.CreateKeyParams{Remaining: &three})
	if valid := admitted(f, rotateChain(t, f, ck, 12, nil)); valid != 3 {
		t.Fatalf("a 13-key rotation chain with 3 credits admitted %d verifications, want 3", valid)
	}
}

// TestRotationChainSharesRateLimit: a key allowed 3 verifications an hour,
// rotated 12 times with every old key still in its grace period, admits 3
// verifications in all: the rate-limit bucket belongs to the lineage, so
// neither rotating nor presenting an older generation buys a fresh budget.
func TestRotationChainSharesRateLimit(t *testing.T) {
	f := newFixture(t)
	ck := f.create(token.CreateKeyParams{RateLimits: []ratelimit.Limit{{Name: "hourly", Limit: 3, Window: time.Hour}}})
	first := ck.Key.ID
	secrets := rotateChain(t, f, ck, 12, func(n *token.Key) {
		if n.LineageID != first {
			t.Fatalf("successor %s: LineageID = %q, want the first key's ID %q", n.ID, n.LineageID, first)
		}
	})
	if valid := admitted(f, secrets); valid != 3 {
		t.Fatalf("a 13-key rotation chain limited to 3/hour admitted %d verifications, want 3", valid)
	}
}
