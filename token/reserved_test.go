package token_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/latchkey/latchkey/apitoken"
	"github.com/latchkey/latchkey/token"
)

// TestSEC_OAuthKeyspacesReserved: keys in the OAuth server's keyspaces
// ("oauth", "oauth-grants") are created only by the OAuth issuer; neither
// an owner-bound personal actor (the portal's) nor an admin API actor may
// create, rotate, renew, update or import one — a rotation would clone the
// token's client_id/aud/grant_id into a new token the app never asked for
// — while both may still revoke one.
func TestSEC_OAuthKeyspacesReserved(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.user("alice", "orders:read", "keys:read", "keys:write")
	issuer := token.OAuthIssuer("token endpoint")
	maxTTL, permanent := time.Hour, false
	for _, name := range []string{"oauth", "oauth-grants"} {
		prefix := map[string]string{"oauth": "lka", "oauth-grants": "lkg"}[name]
		if _, err := f.svc.CreateKeyspace(ctx, issuer, token.KeyspaceParams{Name: name, Prefix: &prefix, AllowPermanent: &permanent, DefaultTTL: &maxTTL, MaxTTL: &maxTTL}); err != nil {
			t.Fatal(err)
		}
	}
	alice := f.personal("alice", "keys:read", "keys:write")
	owner := &token.Owner{Type: token.User, ID: "alice"}
	meta := json.RawMessage(`{"client_id":"web","aud":["api"]}`)
	for _, ks := range []string{"oauth", "oauth-grants"} {
		t.Run(ks, func(t *testing.T) {
			issued := func() *token.Key {
				t.Helper()
				ck, err := f.svc.CreateKey(ctx, issuer, token.CreateKeyParams{Keyspace: ks, Name: "OAuth access token", Owner: owner, Scopes: []string{"orders:read"}, Metadata: meta})
				if err != nil {
					t.Fatalf("the issuer creates in %s: %v", ks, err)
				}
				return ck.Key
			}
			k := issued()
			for name, a := range map[string]*token.Actor{"owner-bound": alice, "admin": f.root} {
				_, err := f.svc.CreateKey(ctx, a, token.CreateKeyParams{Keyspace: ks, Name: "forged", Owner: owner, Metadata: meta})
				wantKind(t, err, token.PermissionDenied)
				_, _, err = f.svc.RotateKey(ctx, a, k.ID, 0)
				wantKind(t, err, token.PermissionDenied)
				_, err = f.svc.RenewKey(ctx, a, k.ID)
				wantKind(t, err, token.PermissionDenied)
				newName := "renamed"
				_, err = f.svc.UpdateKey(ctx, a, k.ID, token.UpdateKeyParams{Name: &newName})
				wantKind(t, err, token.PermissionDenied)
				_, err = f.svc.ImportKeys(ctx, a, ks, []token.ImportKey{{Digest: apitoken.FromString("imported-" + name).Digest(), Name: "forged", Owner: owner}})
				wantKind(t, err, token.PermissionDenied)
				_, _, err = f.svc.RotateKey(ctx, issuer, k.ID, 0) // not even the issuer rotates
				wantKind(t, err, token.PermissionDenied)
				keys, _, err := f.svc.Keys(ctx, a, token.KeyFilter{Keyspace: ks})
				if err != nil || len(keys) != 1 {
					t.Fatalf("%s lists %s: %d keys, %v; want only the issued one", name, ks, len(keys), err)
				}
				if _, err := f.svc.Key(ctx, a, k.ID); err != nil {
					t.Fatalf("%s reads its OAuth key: %v", name, err)
				}
			}
			for name, a := range map[string]*token.Actor{"owner-bound": alice, "admin": f.root} {
				k := issued()
				rk, err := f.svc.RevokeKey(ctx, a, k.ID, "revoked by me")
				if err != nil || rk.RevokedAt.IsZero() {
					t.Fatalf("%s revokes its OAuth key: %v", name, err)
				}
			}
		})
	}
}
