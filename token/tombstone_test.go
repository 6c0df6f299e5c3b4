package token_test

import (
	"context"
	"errors"
	"testing"

	"github.com/latchkey/latchkey/token"
)

// TestSEC_REL02_RevokedDigestNeverReimported: the owner of an admin-revoked
// key deletes it and re-imports its digest; the import is refused with 409
// digest_revoked (for an administrator too) and the secret stays invalid.
func TestSEC_REL02_RevokedDigestNeverReimported(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.user("alice", "keys:read", "keys:write", "orders:read")
	alice := f.personal("alice", "keys:read", "keys:write")
	ck := f.create(token.CreateKeyParams{Owner: &token.Owner{Type: token.User, ID: "alice"}, Scopes: []string{"orders:read"}})
	if _, err := f.svc.RevokeKey(ctx, f.root, ck.Key.ID, "compromised"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeleteKey(ctx, alice, ck.Key.ID); err != nil {
		t.Fatalf("owner deletes the revoked key: %v", err)
	}
	for name, a := range map[string]*token.Actor{"owner": alice, "admin": f.root} {
		_, err := f.svc.ImportKeys(ctx, a, "", []token.ImportKey{{Digest: ck.Key.Digest, Owner: &token.Owner{Type: token.User, ID: "alice"}, Scopes: []string{"orders:read"}}})
		var te *token.Error
		if !errors.As(err, &te) || te.Kind != token.Conflict || te.Code != "digest_revoked" {
			t.Fatalf("%s re-imports a revoked digest: %v, want Conflict digest_revoked", name, err)
		}
	}
	f.wantCode(ck.Secret.Reveal(), token.CodeNotFound)
}
