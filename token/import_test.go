package token_test

import (
	"context"
	"strings"
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

func TestIdempotentCreate(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := token.CreateKeyParams{Name: "ci", IdempotencyKey: "req-42"}
	first, err := f.svc.CreateKey(ctx, f.root, p)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.CreateKey(ctx, f.root, p)
	wantKind(t, err, token.Conflict)
	if te := err.(*token.Error); te.Code != "idempotency_key_reused" || !strings.Contains(te.Msg, first.Key.ID) {
		t.Fatalf("replay error %q (%s) does not name %s", te.Msg, te.Code, first.Key.ID)
	}
	keys, _, err := f.svc.Keys(ctx, f.root, token.KeyFilter{Keyspace: token.DefaultKeyspace})
	if err != nil || len(keys) != 1 {
		t.Fatalf("%d keys after a retried create, want 1 (%v)", len(keys), err)
	}
	// Another credential's identical header is its own request.
	other := f.create(token.CreateKeyParams{Keyspace: token.ManagementKeyspace, Scopes: []string{"keys:write"}})
	a, err := f.svc.Authenticate(ctx, other.Secret.Reveal(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CreateKey(ctx, a, p); err != nil {
		t.Fatalf("same Idempotency-Key from another credential: %v", err)
	}
	_, err = f.svc.CreateKey(ctx, f.root, token.CreateKeyParams{IdempotencyKey: "bad\nkey"})
	wantKind(t, err, token.Invalid)
}

// TestImportKeepsUnheldScopesInert: an import moves keys as they were, so a
// scope the owner does not (yet) hold is stored, not refused, and is inert:
// it grants nothing until the owner is given it.
func TestImportKeepsUnheldScopesInert(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.svc.CreatePrincipal(ctx, f.root, token.CreatePrincipalParams{Type: token.User, ID: "alice", Permissions: []string{"orders:read"}}); err != nil {
		t.Fatal(err)
	}
	const legacy = "sk_live_inert_scope_0001"
	keys, err := f.svc.ImportKeys(ctx, f.root, "", []token.ImportKey{{Digest: apitoken.Hash(legacy),
		Owner: &token.Owner{Type: token.User, ID: "alice"}, Scopes: []string{"orders:read", "orders:write"}}})
	if err != nil {
		t.Fatalf("import with a scope the owner lacks: %v, want it stored", err)
	}
	if len(keys) != 1 || len(keys[0].Scopes) != 2 {
		t.Fatalf("imported %+v", keys)
	}
	f.wantCode(legacy, token.CodeValid, "orders:read")
	f.wantCode(legacy, token.CodeInsufficientScope, "orders:write")
}
