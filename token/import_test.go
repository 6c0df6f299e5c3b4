package token_test

import (
	"context"
	"testing"

	"github.com/latchkey/latchkey/apitoken"
	"github.com/latchkey/latchkey/token"
)

func TestImportKeysByDigest(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const legacy = "sk_live_4eC39HqLyjWDarjtT1zdp7dc" // another system's format
	own, err := apitoken.New("lk")
	if err != nil {
		t.Fatal(err)
	}
	// Verified once before the import: remembered as unknown.
	f.wantCode(own.Reveal(), token.CodeNotFound)
	keys, err := f.svc.ImportKeys(ctx, f.root, "", []token.ImportKey{
		{Digest: apitoken.Hash(legacy), Name: "legacy", Scopes: []string{"orders:read"}, Start: "sk_live_4eC3"},
		{Digest: own.Digest(), Name: "own format"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || !keys[0].Foreign || keys[0].Start != "sk_live_4eC3" {
		t.Fatalf("imported %+v", keys)
	}
	f.wantCode(legacy, token.CodeValid, "orders:read")
	f.wantCode(own.Reveal(), token.CodeValid)

	t.Run("a duplicate rolls back the whole batch", func(t *testing.T) {
		fresh, _ := apitoken.New("lk")
		_, err := f.svc.ImportKeys(ctx, f.root, "", []token.ImportKey{
			{Digest: fresh.Digest()}, {Digest: apitoken.Hash(legacy)},
		})
		wantKind(t, err, token.Conflict)
		f.wantCode(fresh.Reveal(), token.CodeNotFound)
	})
	t.Run("bad entries name their position", func(t *testing.T) {
		_, err := f.svc.ImportKeys(ctx, f.root, "", []token.ImportKey{{Digest: apitoken.Hash("x")}, {}})
		wantKind(t, err, token.Invalid)
		if got := err.Error(); got != "keys[1]: hash is required" {
			t.Fatalf("error %q", got)
		}
	})
	t.Run("the foreign-key lookup survives a restart", func(t *testing.T) {
		svc := token.NewService(token.Config{Store: f.store, Now: f.clock.Now})
		if _, err := svc.Bootstrap(ctx, ""); err != nil {
			t.Fatal(err)
		}
		res, err := svc.Verify(ctx, token.VerifyRequest{Key: legacy})
		if err != nil || !res.Valid {
			t.Fatalf("legacy key after restart: %+v %v", res, err)
		}
	})
}
