package token_test

import (
	"context"
	"testing"

	"github.com/latchkey/latchkey/token"
)

// personal returns an actor for a personal management key of user id.
func (f *fixture) personal(id string, scopes ...string) *token.Actor {
	f.t.Helper()
	ck := f.create(token.CreateKeyParams{Keyspace: token.ManagementKeyspace, Owner: &token.Owner{Type: token.User, ID: id}, Scopes: scopes})
	a, err := f.svc.Authenticate(context.Background(), ck.Secret.Reveal(), "127.0.0.1", "t")
	if err != nil {
		f.t.Fatal(err)
	}
	return a
}

// personalLosing is personal for a key made while its owner held its scopes,
// after which the owner's permissions become perms: the actor of a key with
// scopes its owner has since lost.
func (f *fixture) personalLosing(id string, perms []string, scopes ...string) *token.Actor {
	f.t.Helper()
	ck := f.create(token.CreateKeyParams{Keyspace: token.ManagementKeyspace, Owner: &token.Owner{Type: token.User, ID: id}, Scopes: scopes})
	f.setPerms(id, perms...)
	a, err := f.svc.Authenticate(context.Background(), ck.Secret.Reveal(), "127.0.0.1", "t")
	if err != nil {
		f.t.Fatal(err)
	}
	return a
}

// TestSEC_KEY03_BOLA: a personal credential of user A cannot see, change,
// rotate, renew, revoke or delete user B's keys; it gets the same 404 as for
// a key that does not exist, and nothing changes.
func TestSEC_KEY03_BOLA(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.user("alice", "keys:read", "keys:write", "orders:read")
	f.user("bob", "keys:read", "keys:write", "orders:read")
	alice := f.personal("alice", "keys:read", "keys:write")
	bobs := f.create(token.CreateKeyParams{Owner: &token.Owner{Type: token.User, ID: "bob"}, Scopes: []string{"orders:read"}})
	own, err := f.svc.CreateKey(ctx, alice, token.CreateKeyParams{Scopes: []string{"orders:read"}})
	if err != nil {
		t.Fatal(err)
	}
	if own.Key.Owner == nil || own.Key.Owner.ID != "alice" {
		t.Fatalf("personal create not bound to its owner: %+v", own.Key.Owner)
	}
	name := "pwned"
	id := bobs.Key.ID
	for op, call := range map[string]func() error{
		"get": func() error { _, err := f.svc.Key(ctx, alice, id); return err },
		"update": func() error {
			_, err := f.svc.UpdateKey(ctx, alice, id, token.UpdateKeyParams{Name: &name})
			return err
		},
		"revoke": func() error { _, err := f.svc.RevokeKey(ctx, alice, id, ""); return err },
		"rotate": func() error { _, _, err := f.svc.RotateKey(ctx, alice, id, 0); return err },
		"renew":  func() error { _, err := f.svc.RenewKey(ctx, alice, id); return err },
		"delete": func() error { return f.svc.DeleteKey(ctx, alice, id) },
	} {
		t.Run("404/"+op+" of another user's key", func(t *testing.T) {
			err := call()
			wantKind(t, err, token.NotFound)
			_, errMissing := f.svc.Key(ctx, alice, "key_doesnotexist")
			if err.Error() != errMissingFor(errMissing, id).Error() {
				t.Fatalf("distinguishable: %q vs %q", err, errMissing)
			}
		})
	}
	t.Run("list filtered to own keys", func(t *testing.T) {
		keys, _, err := f.svc.Keys(ctx, alice, token.KeyFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if k.Owner == nil || k.Owner.ID != "alice" {
				t.Fatalf("listed a key of %+v", k.Owner)
			}
		}
		keys, _, err = f.svc.Keys(ctx, alice, token.KeyFilter{OwnerType: token.User, OwnerID: "bob"})
		if err != nil || len(keys) != 0 {
			t.Fatalf("list owner=bob: %d keys, %v", len(keys), err)
		}
	})
	t.Run("bob's key untouched", func(t *testing.T) {
		f.wantCode(bobs.Secret.Reveal(), token.CodeValid, "orders:read")
		k, err := f.svc.Key(ctx, f.root, id)
		if err != nil || k.Name != "" || k.Version != 1 {
			t.Fatalf("bob's key changed: %+v %v", k, err)
		}
	})
	t.Run("cannot create for another owner", func(t *testing.T) {
		_, err := f.svc.CreateKey(ctx, alice, token.CreateKeyParams{Owner: &token.Owner{Type: token.User, ID: "bob"}})
		wantKind(t, err, token.PermissionDenied)
	})
}

// errMissingFor rewrites the not-found error of a missing id into the one
// expected for id, so the two messages can be compared.
func errMissingFor(err error, id string) error {
	e := *err.(*token.Error)
	e.Msg = `key "` + id + `" not found`
	return &e
}

// TestSEC_KEY04_NonAdminRefused: management keys without the needed scope
// get PermissionDenied (403), and the refusal is audited.
func TestSEC_KEY04_NonAdminRefused(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ck := f.create(token.CreateKeyParams{Keyspace: token.ManagementKeyspace, Scopes: []string{"keys:verify"}})
	verifier, err := f.svc.Authenticate(ctx, ck.Secret.Reveal(), "127.0.0.1", "t")
	if err != nil {
		t.Fatal(err)
	}
	reader := f.create(token.CreateKeyParams{Keyspace: token.ManagementKeyspace, Scopes: []string{"keys:read", "keys:write"}})
	writer, err := f.svc.Authenticate(ctx, reader.Secret.Reveal(), "127.0.0.1", "t")
	if err != nil {
		t.Fatal(err)
	}
	for name, call := range map[string]func() error{
		"create key without keys:write": func() error { _, err := f.svc.CreateKey(ctx, verifier, token.CreateKeyParams{}); return err },
		"list keys without keys:read":   func() error { _, _, err := f.svc.Keys(ctx, verifier, token.KeyFilter{}); return err },
		"read audit without audit:read": func() error { _, _, err := f.svc.Audit(ctx, writer, token.AuditFilter{}); return err },
		"create keyspace":               func() error { _, err := f.svc.CreateKeyspace(ctx, writer, token.KeyspaceParams{Name: "x"}); return err },
		"create user": func() error {
			_, err := f.svc.CreatePrincipal(ctx, writer, token.CreatePrincipalParams{Type: token.User, ID: "x"})
			return err
		},
		"mint a management key": func() error {
			_, err := f.svc.CreateKey(ctx, writer, token.CreateKeyParams{Keyspace: token.ManagementKeyspace, Scopes: []string{"admin"}})
			return err
		},
		"revoke the root key": func() error { _, err := f.svc.RevokeKey(ctx, writer, f.root.KeyID, ""); return err },
	} {
		t.Run("403/"+name, func(t *testing.T) {
			wantKind(t, call(), token.PermissionDenied)
		})
	}
	evs, _, err := f.svc.Audit(ctx, f.root, token.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	denied := 0
	for _, e := range evs {
		if e.Outcome == token.OutcomeDenied {
			denied++
		}
	}
	if denied < 5 {
		t.Fatalf("only %d denied actions audited", denied)
	}
	f.wantCode(f.create(token.CreateKeyParams{}).Secret.Reveal(), token.CodeValid)
}

// TestSEC_AUD01_OneAuditRecordPerChange: every state change writes exactly
// one audit event naming actor, action, target and outcome.
func TestSEC_AUD01_OneAuditRecordPerChange(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	count := func() int {
		t.Helper()
		n, cursor := 0, ""
		for {
			evs, next, err := f.svc.Audit(ctx, f.root, token.AuditFilter{Before: cursor, Limit: 500})
			if err != nil {
				t.Fatal(err)
			}
			n += len(evs)
			if next == "" {
				return n
			}
			cursor = next
		}
	}
	var id string
	name := "n"
	perms := []string{"a:b"}
	steps := []struct {
		action string
		do     func() error
	}{
		{"keyspace.create", func() error {
			_, err := f.svc.CreateKeyspace(ctx, f.root, token.KeyspaceParams{Name: "ks"})
			return err
		}},
		{"keyspace.update", func() error {
			_, err := f.svc.UpdateKeyspace(ctx, f.root, token.KeyspaceParams{Name: "ks", Scopes: &perms})
			return err
		}},
		{"user.create", func() error {
			_, err := f.svc.CreatePrincipal(ctx, f.root, token.CreatePrincipalParams{Type: token.User, ID: "u"})
			return err
		}},
		{"user.update", func() error {
			_, err := f.svc.UpdatePrincipal(ctx, f.root, token.User, "u", token.UpdatePrincipalParams{Permissions: &perms})
			return err
		}},
		{"key.create", func() error {
			ck, err := f.svc.CreateKey(ctx, f.root, token.CreateKeyParams{ExpiresIn: 1e12})
			if ck != nil {
				id = ck.Key.ID
			}
			return err
		}},
		{"key.update", func() error {
			_, err := f.svc.UpdateKey(ctx, f.root, id, token.UpdateKeyParams{Name: &name})
			return err
		}},
		{"key.renew", func() error { f.clock.Advance(1e9); _, err := f.svc.RenewKey(ctx, f.root, id); return err }},
		{"key.rotate", func() error {
			ck, _, err := f.svc.RotateKey(ctx, f.root, id, 0)
			if ck != nil {
				id = ck.Key.ID
			}
			return err
		}},
		{"key.revoke", func() error { _, err := f.svc.RevokeKey(ctx, f.root, id, "done"); return err }},
		{"key.delete", func() error { return f.svc.DeleteKey(ctx, f.root, id) }},
	}
	for _, s := range steps {
		before := count()
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.action, err)
		}
		evs, _, err := f.svc.Audit(ctx, f.root, token.AuditFilter{Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if got := count() - before; got != 1 {
			t.Fatalf("%s wrote %d audit records, want 1", s.action, got)
		}
		e := evs[0]
		if e.Action != s.action || e.Outcome != token.OutcomeSuccess || e.ActorKeyID != f.root.KeyID || e.TargetID == "" || e.RequestID != "test" || e.Time.IsZero() {
			t.Fatalf("%s: audit event %+v", s.action, e)
		}
	}
	// A revoke of a revoked key changes nothing and records nothing.
	before := count()
	k := f.create(token.CreateKeyParams{})
	f.svc.RevokeKey(ctx, f.root, k.Key.ID, "")
	f.svc.RevokeKey(ctx, f.root, k.Key.ID, "")
	if got := count() - before; got != 2 {
		t.Fatalf("create + double revoke wrote %d records, want 2", got)
	}
}
