package token_test

import (
	"context"
	"testing"
	"time"

	"github.com/latchkey/latchkey/apitoken"
	"github.com/latchkey/latchkey/token"
)

// TestSEC_KEY04_NoEscalationThroughPrincipals: credentials without admin
// cannot raise their own owner, grant management permissions, or disable a
// principal that owns management keys.
func TestSEC_KEY04_NoEscalationThroughPrincipals(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.user("alice", "principals:write", "orders:read", "admin")
	f.user("boss", "admin")
	f.user("carol", "orders:read")
	alice := f.personalLosing("alice", []string{"principals:write", "orders:read"}, "principals:write", "admin") // effective: principals:write
	if alice.May(token.ScopeAdmin) {
		t.Fatal("effective scopes not capped by the owner's permissions")
	}
	f.personal("boss", "admin")
	ops := map[string]func() error{
		"raise own permissions": func() error {
			perms := []string{"principals:write", "admin"}
			_, err := f.svc.UpdatePrincipal(ctx, alice, token.User, "alice", token.UpdatePrincipalParams{Permissions: &perms})
			return err
		},
		"grant management permissions to another": func() error {
			perms := []string{"keys:write"}
			_, err := f.svc.UpdatePrincipal(ctx, alice, token.User, "carol", token.UpdatePrincipalParams{Permissions: &perms})
			return err
		},
		"create a principal with management permissions": func() error {
			_, err := f.svc.CreatePrincipal(ctx, alice, token.CreatePrincipalParams{Type: token.User, ID: "mallory", Permissions: []string{"admin"}})
			return err
		},
		"disable an admin's owner": func() error {
			yes := true
			_, err := f.svc.UpdatePrincipal(ctx, alice, token.User, "boss", token.UpdatePrincipalParams{Disabled: &yes})
			return err
		},
	}
	for name, op := range ops {
		t.Run("403/"+name, func(t *testing.T) { wantKind(t, op(), token.PermissionDenied) })
	}
	p, err := f.svc.Principal(ctx, f.root, token.User, "boss")
	if err != nil || p.Disabled {
		t.Fatalf("boss changed: %+v %v", p, err)
	}
	// An ordinary principal stays manageable.
	perms := []string{"orders:write"}
	if _, err := f.svc.UpdatePrincipal(ctx, alice, token.User, "carol", token.UpdatePrincipalParams{Permissions: &perms}); err != nil {
		t.Fatalf("principals:write on an ordinary user: %v", err)
	}
}

// TestSEC_KEY04_PersonalKeysCannotMintDormantScopes: a personal credential
// may only give its keys scopes its owner holds now.
func TestSEC_KEY04_PersonalKeysCannotMintDormantScopes(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.user("alice", "keys:read", "keys:write", "orders:read")
	alice := f.personal("alice", "keys:read", "keys:write")
	_, err := f.svc.CreateKey(ctx, alice, token.CreateKeyParams{Scopes: []string{"orders:read", "billing:*"}})
	wantKind(t, err, token.PermissionDenied)
	k, err := f.svc.CreateKey(ctx, alice, token.CreateKeyParams{Scopes: []string{"orders:read"}})
	if err != nil {
		t.Fatal(err)
	}
	wider := []string{"orders:*"}
	_, err = f.svc.UpdateKey(ctx, alice, k.Key.ID, token.UpdateKeyParams{Scopes: &wider})
	wantKind(t, err, token.PermissionDenied)
	_, err = f.svc.ImportKeys(ctx, alice, "", []token.ImportKey{{Digest: apitoken.Hash("legacy-key-of-alice-0123456789"), Scopes: []string{"billing:read"}}})
	wantKind(t, err, token.PermissionDenied)
	_, _, err = f.svc.Audit(ctx, alice, token.AuditFilter{})
	wantKind(t, err, token.PermissionDenied)
}

func TestSEC_KEY04_ManagementKeyspaceNeedsAdmin(t *testing.T) {
	f := newFixture(t)
	ck := f.create(token.CreateKeyParams{Keyspace: token.ManagementKeyspace, Scopes: []string{"keyspaces:write"}})
	a, err := f.svc.Authenticate(context.Background(), ck.Secret.Reveal(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	short := time.Second
	_, err = f.svc.UpdateKeyspace(context.Background(), a, token.KeyspaceParams{Name: token.ManagementKeyspace, MaxTTL: &short})
	wantKind(t, err, token.PermissionDenied)
}

func TestRotatedKeyOnlyLivesOutItsGrace(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	k := f.create(token.CreateKeyParams{IdempotencyKey: "once"})
	ck, _, err := f.svc.RotateKey(ctx, f.root, k.Key.ID, time.Minute)
	if err != nil {
		t.Fatalf("rotating a key made with an Idempotency-Key: %v", err)
	}
	if ck.Key.IdempotencyKey != "" {
		t.Fatal("successor inherited the idempotency key")
	}
	never := time.Time{}
	_, err = f.svc.UpdateKey(ctx, f.root, k.Key.ID, token.UpdateKeyParams{ExpiresAt: &never})
	wantKind(t, err, token.Conflict)
	f.clock.Advance(time.Minute)
	f.wantCode(k.Secret.Reveal(), token.CodeExpired)
}

func TestVerifyIsBoundToKeyspace(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.svc.CreateKeyspace(ctx, f.root, token.KeyspaceParams{Name: "staging"}); err != nil {
		t.Fatal(err)
	}
	staging := f.create(token.CreateKeyParams{Keyspace: "staging"})
	mgmt := f.create(token.CreateKeyParams{Keyspace: token.ManagementKeyspace, Scopes: []string{"keys:verify"}})
	for _, c := range []struct {
		name, key, keyspace string
		want                token.Code
	}{
		{"own keyspace", staging.Secret.Reveal(), "staging", token.CodeValid},
		{"other keyspace", staging.Secret.Reveal(), "default", token.CodeNotFound},
		{"any keyspace", staging.Secret.Reveal(), "", token.CodeValid},
		{"management key, unnamed", mgmt.Secret.Reveal(), "", token.CodeNotFound},
		{"management key, named", mgmt.Secret.Reveal(), token.ManagementKeyspace, token.CodeValid},
	} {
		t.Run(c.name, func(t *testing.T) {
			res, err := f.svc.Verify(ctx, token.VerifyRequest{Key: c.key, Keyspace: c.keyspace})
			if err != nil || res.Code != c.want {
				t.Fatalf("code %v (%v), want %s", res, err, c.want)
			}
		})
	}
}

// TestImportedKeyWithOurShapeButForeignChecksum: another system's key may
// happen to look like ours; once imported it verifies.
func TestImportedKeyWithOurShapeButForeignChecksum(t *testing.T) {
	f := newFixture(t)
	own, _ := apitoken.New("lk")
	lookalike := []byte(own.Reveal())
	if last := &lookalike[len(lookalike)-1]; *last == 'A' { // same shape, wrong checksum
		*last = 'B'
	} else {
		*last = 'A'
	}
	if apitoken.Check(string(lookalike)) != apitoken.BadChecksum {
		t.Fatal("test key is not a bad-checksum lookalike")
	}
	if _, err := f.svc.ImportKeys(context.Background(), f.root, "", []token.ImportKey{{Digest: apitoken.Hash(string(lookalike))}}); err != nil {
		t.Fatal(err)
	}
	f.wantCode(string(lookalike), token.CodeValid)
}
