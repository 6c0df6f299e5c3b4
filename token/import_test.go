package token_test

import (
	"context"
	"errors"
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

// TestRevokedDigestNeverReturns: a revocation is final. Found by a
// penetration test: a key's owner deleted an admin-revoked key and
// re-imported its SHA-256 digest, and the revoked secret verified VALID
// again. The digest stays tombstoned after delete; importing it is refused
// (409 digest_revoked) for the owner and for an administrator alike.
func TestRevokedDigestNeverReturns(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.user("alice", "keys:read", "keys:write", "orders:read")
	alice := f.personal("alice", "keys:read", "keys:write")
	k := f.create(token.CreateKeyParams{Owner: &token.Owner{Type: token.User, ID: "alice"}, Scopes: []string{"orders:read"}})
	if _, err := f.svc.RevokeKey(ctx, f.root, k.Key.ID, "compromised"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeleteKey(ctx, alice, k.Key.ID); err != nil {
		t.Fatalf("owner deletes the revoked key: %v", err)
	}
	for name, a := range map[string]*token.Actor{"owner": alice, "administrator": f.root} {
		_, err := f.svc.ImportKeys(ctx, a, "", []token.ImportKey{{Digest: k.Key.Digest, Name: "back again", Scopes: []string{"orders:read"}}})
		var te *token.Error
		if !errors.As(err, &te) || te.Kind != token.Conflict || te.Code != "digest_revoked" {
			t.Fatalf("%s imports the revoked digest: %v, want a conflict with code digest_revoked", name, err)
		}
	}
	f.wantCode(k.Secret.Reveal(), token.CodeNotFound, "orders:read")
}
