package token_test

import (
	"context"
	"testing"

	"github.com/latchkey/latchkey/token"
)

// TestProbeIsNotAUse: the gateway's dry run ahead of the real check (to
// learn a key's keyspace before spending) is not recorded, so a request
// that takes a probe and a verification counts once; a dry run asked for by
// an API caller (cost 0) is a verification like any other and counts.
func TestProbeIsNotAUse(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	k := f.create(token.CreateKeyParams{Scopes: []string{"orders:read"}})
	secret := k.Secret.Reveal()
	for _, r := range []token.VerifyRequest{
		{Key: secret, DryRun: true, Probe: true}, // gateway: probe, then
		{Key: secret},                            // the real check
		{Key: secret, DryRun: true},              // an API caller's cost 0
	} {
		if res, err := f.svc.Verify(ctx, r); err != nil || res.Code != token.CodeValid {
			t.Fatalf("verify %+v: %v %v", r, res, err)
		}
	}
	if err := f.svc.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	counts, err := f.store.UsageCounts(ctx, k.Key.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := counts[token.CodeValid]; got != 2 {
		t.Errorf("VALID counted %d times, want 2 (the probe is not a use)", got)
	}
}
