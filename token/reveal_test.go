package token_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/apitoken"
	"github.com/latchkey/latchkey/scope"
	"github.com/latchkey/latchkey/seal"
	"github.com/latchkey/latchkey/store/sqlstore"
	"github.com/latchkey/latchkey/token"
)

// revealFixture is a service with a master key, a recoverable keyspace
// "vault" and an admin actor.
type revealFixture struct {
	t     *testing.T
	svc   *token.Service
	store *sqlstore.DB
	admin *token.Actor
}

func newRevealFixture(t *testing.T) *revealFixture {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.OpenSQLite(ctx, t.TempDir()+"/latchkey.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	box, err := seal.New([32]byte{9})
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{now: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	svc := token.NewService(token.Config{Store: db, Now: c.Now, Secrets: box})
	root, err := svc.Bootstrap(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	admin, err := svc.Authenticate(ctx, root.Reveal(), "127.0.0.1", "test")
	if err != nil {
		t.Fatal(err)
	}
	f := &revealFixture{t: t, svc: svc, store: db, admin: admin}
	f.keyspace("vault", true)
	return f
}

func (f *revealFixture) keyspace(name string, recoverable bool) {
	f.t.Helper()
	if _, err := f.svc.CreateKeyspace(context.Background(), f.admin, token.KeyspaceParams{Name: name, Recoverable: &recoverable}); err != nil {
		f.t.Fatal(err)
	}
}

func (f *revealFixture) create(keyspace string) *token.CreatedKey {
	f.t.Helper()
	ck, err := f.svc.CreateKey(context.Background(), f.admin, token.CreateKeyParams{Keyspace: keyspace, Name: "k"})
	if err != nil {
		f.t.Fatal(err)
	}
	if ck.Key.SealedSecret != nil {
		f.t.Fatal("CreateKey returned a key with its SealedSecret: it is write-only")
	}
	return ck
}

// actor returns a management credential with scopes.
func (f *revealFixture) actor(scopes ...string) *token.Actor {
	f.t.Helper()
	ctx := context.Background()
	ck, err := f.svc.CreateKey(ctx, f.admin, token.CreateKeyParams{Keyspace: token.ManagementKeyspace, Name: "m", Scopes: scopes})
	if err != nil {
		f.t.Fatal(err)
	}
	a, err := f.svc.Authenticate(ctx, ck.Secret.Reveal(), "127.0.0.1", "req")
	if err != nil {
		f.t.Fatal(err)
	}
	return a
}

// wantReveal reveals id as a and checks the secret.
func (f *revealFixture) wantReveal(a *token.Actor, id, want string) {
	f.t.Helper()
	got, err := f.svc.RevealKey(context.Background(), a, id)
	if err != nil {
		f.t.Fatalf("reveal %s: %v", id, err)
	}
	if got.Reveal() != want {
		f.t.Fatalf("reveal %s: not the key's secret", id)
	}
}

// wantRefused reveals id as a and checks the error's kind and code.
func (f *revealFixture) wantRefused(a *token.Actor, id string, kind token.Kind, code string) {
	f.t.Helper()
	got, err := f.svc.RevealKey(context.Background(), a, id)
	var te *token.Error
	if !errors.As(err, &te) || te.Kind != kind || te.Code != code {
		f.t.Fatalf("reveal %s: %v, want %s %s", id, err, kind, code)
	}
	if !got.IsZero() {
		f.t.Fatal("a secret came back with the error")
	}
}

// lastReveal returns the newest key.reveal audit event of key id.
func (f *revealFixture) lastReveal(id string) *token.AuditEvent {
	f.t.Helper()
	evs, _, err := f.svc.Audit(context.Background(), f.admin, token.AuditFilter{Action: "key.reveal", TargetID: id, Limit: 10})
	if err != nil {
		f.t.Fatal(err)
	}
	if len(evs) == 0 {
		f.t.Fatalf("no key.reveal event for %s", id)
	}
	return evs[0]
}

func TestRevealKey(t *testing.T) {
	ctx := context.Background()
	t.Run("round trip, audited without the secret", func(t *testing.T) {
		f := newRevealFixture(t)
		ck := f.create("vault")
		a := f.actor(token.ScopeKeysReveal)
		f.wantReveal(a, ck.Key.ID, ck.Secret.Reveal())
		ev := f.lastReveal(ck.Key.ID)
		if ev.Outcome != token.OutcomeSuccess || ev.ActorKeyID != a.KeyID || ev.Detail["keyspace"] != "vault" {
			t.Errorf("audit event %+v", ev)
		}
		for k, v := range ev.Detail {
			if strings.Contains(v, ck.Secret.Reveal()[len(ck.Key.Start):]) {
				t.Errorf("audit detail %s holds the secret", k)
			}
		}
	})
	t.Run("403 without keys:reveal, audited as denied; keys:write does not imply it", func(t *testing.T) {
		f := newRevealFixture(t)
		ck := f.create("vault")
		a := f.actor(token.ScopeKeysRead, token.ScopeKeysWrite)
		f.wantRefused(a, ck.Key.ID, token.PermissionDenied, "insufficient_scope")
		ev := f.lastReveal(ck.Key.ID)
		if ev.Outcome != token.OutcomeDenied || ev.Detail["missing_scope"] != token.ScopeKeysReveal {
			t.Errorf("audit event %+v, want a denial naming keys:reveal", ev)
		}
		f.wantReveal(f.admin, ck.Key.ID, ck.Secret.Reveal()) // admin holds every scope
	})
	t.Run("404 not_recoverable for a key of a keyspace that is not recoverable, which keeps no row", func(t *testing.T) {
		f := newRevealFixture(t)
		ck := f.create(token.DefaultKeyspace)
		f.wantRefused(f.admin, ck.Key.ID, token.NotFound, "not_recoverable")
		if _, err := f.store.KeySecret(ctx, ck.Key.ID); !errors.Is(err, token.ErrNotFound) {
			t.Errorf("KeySecret of a key of default: %v, want ErrNotFound", err)
		}
		f.wantRefused(f.admin, "key_nope", token.NotFound, "key_not_found")
	})
	t.Run("rotation: the successor is revealable, the old key until it is revoked", func(t *testing.T) {
		f := newRevealFixture(t)
		ck := f.create("vault")
		next, _, err := f.svc.RotateKey(ctx, f.admin, ck.Key.ID, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if next.Key.SealedSecret != nil {
			t.Fatal("RotateKey returned a successor with its SealedSecret")
		}
		f.wantReveal(f.admin, next.Key.ID, next.Secret.Reveal())
		f.wantReveal(f.admin, ck.Key.ID, ck.Secret.Reveal()) // in its grace period
		third, _, err := f.svc.RotateKey(ctx, f.admin, next.Key.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.wantReveal(f.admin, third.Key.ID, third.Secret.Reveal())
		f.wantRefused(f.admin, next.Key.ID, token.Conflict, "key_revoked")
	})
	t.Run("revoked 409, deleted 404, disabled revealed", func(t *testing.T) {
		f := newRevealFixture(t)
		ck := f.create("vault")
		off := false
		if _, err := f.svc.UpdateKey(ctx, f.admin, ck.Key.ID, token.UpdateKeyParams{Enabled: &off}); err != nil {
			t.Fatal(err)
		}
		f.wantReveal(f.admin, ck.Key.ID, ck.Secret.Reveal())
		if _, err := f.svc.RevokeKey(ctx, f.admin, ck.Key.ID, "leaked"); err != nil {
			t.Fatal(err)
		}
		f.wantRefused(f.admin, ck.Key.ID, token.Conflict, "key_revoked")
		if _, err := f.store.KeySecret(ctx, ck.Key.ID); !errors.Is(err, token.ErrNotFound) {
			t.Errorf("KeySecret of a revoked key: %v, want ErrNotFound (dropped with the revocation)", err)
		}
		if err := f.svc.DeleteKey(ctx, f.admin, ck.Key.ID); err != nil {
			t.Fatal(err)
		}
		f.wantRefused(f.admin, ck.Key.ID, token.NotFound, "key_not_found")
	})
	t.Run("a personal credential reveals its owner's keys only", func(t *testing.T) {
		f := newRevealFixture(t)
		for _, id := range []string{"alice", "bob"} {
			if _, err := f.svc.CreatePrincipal(ctx, f.admin, token.CreatePrincipalParams{Type: token.User, ID: id, Permissions: []string{token.ScopeKeysReveal, "orders:read"}}); err != nil {
				t.Fatal(err)
			}
		}
		mine, err := f.svc.CreateKey(ctx, f.admin, token.CreateKeyParams{Keyspace: "vault", Owner: &token.Owner{Type: token.User, ID: "alice"}})
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := f.svc.CreateKey(ctx, f.admin, token.CreateKeyParams{Keyspace: "vault", Owner: &token.Owner{Type: token.User, ID: "bob"}})
		if err != nil {
			t.Fatal(err)
		}
		pc, err := f.svc.CreateKey(ctx, f.admin, token.CreateKeyParams{Keyspace: token.ManagementKeyspace, Owner: &token.Owner{Type: token.User, ID: "alice"}, Scopes: []string{token.ScopeKeysReveal}})
		if err != nil {
			t.Fatal(err)
		}
		a, err := f.svc.Authenticate(ctx, pc.Secret.Reveal(), "127.0.0.1", "req")
		if err != nil {
			t.Fatal(err)
		}
		f.wantReveal(a, mine.Key.ID, mine.Secret.Reveal())
		f.wantRefused(a, theirs.Key.ID, token.NotFound, "key_not_found")
	})
	t.Run("a session needs a second factor in the last 5 minutes", func(t *testing.T) {
		f := newRevealFixture(t)
		ck := f.create("vault")
		sess := &token.Actor{KeyID: "ses_x", Scopes: scope.Set{token.ScopeAdmin}, Session: true}
		f.wantRefused(sess, ck.Key.ID, token.PermissionDenied, "step_up_required")
		if ev := f.lastReveal(ck.Key.ID); ev.Outcome != token.OutcomeDenied || ev.Detail["step_up"] != "required" {
			t.Errorf("audit event %+v, want a denial for the step-up", ev)
		}
		if !errors.Is(errOf(f.svc.RevealKey(ctx, sess, ck.Key.ID)), token.ErrStepUpRequired) {
			t.Error("the refusal is not token.ErrStepUpRequired")
		}
		sess.SteppedUp = true
		f.wantReveal(sess, ck.Key.ID, ck.Secret.Reveal())
	})
	t.Run("turning recoverable off forgets the kept secrets; on again keeps new keys only", func(t *testing.T) {
		f := newRevealFixture(t)
		old := f.create("vault")
		off, on := false, true
		if _, err := f.svc.UpdateKeyspace(ctx, f.admin, token.KeyspaceParams{Name: "vault", Recoverable: &off}); err != nil {
			t.Fatal(err)
		}
		f.wantRefused(f.admin, old.Key.ID, token.NotFound, "not_recoverable")
		during := f.create("vault")
		f.wantRefused(f.admin, during.Key.ID, token.NotFound, "not_recoverable")
		if _, err := f.svc.UpdateKeyspace(ctx, f.admin, token.KeyspaceParams{Name: "vault", Recoverable: &on}); err != nil {
			t.Fatal(err)
		}
		f.wantRefused(f.admin, old.Key.ID, token.NotFound, "not_recoverable")
		after := f.create("vault")
		f.wantReveal(f.admin, after.Key.ID, after.Secret.Reveal())
	})
	t.Run("keys imported by hash into a recoverable keyspace keep nothing", func(t *testing.T) {
		f := newRevealFixture(t)
		ks, err := f.svc.ImportKeys(ctx, f.admin, "vault", []token.ImportKey{{Digest: apitoken.Hash("legacy-plaintext-of-another-system"), Name: "legacy"}})
		if err != nil {
			t.Fatal(err)
		}
		f.wantRefused(f.admin, ks[0].ID, token.NotFound, "not_recoverable")
	})
	t.Run("the management keyspace cannot be recoverable", func(t *testing.T) {
		f := newRevealFixture(t)
		on := true
		_, err := f.svc.UpdateKeyspace(ctx, f.admin, token.KeyspaceParams{Name: token.ManagementKeyspace, Recoverable: &on})
		wantKind(t, err, token.Invalid)
	})
	t.Run("the OAuth keyspaces cannot be recoverable", func(t *testing.T) {
		f := newRevealFixture(t)
		on := true
		for _, name := range []string{"oauth", "oauth-grants"} {
			if _, err := f.svc.CreateKeyspace(ctx, f.admin, token.KeyspaceParams{Name: name}); err != nil {
				t.Fatal(err)
			}
			_, err := f.svc.UpdateKeyspace(ctx, f.admin, token.KeyspaceParams{Name: name, Recoverable: &on})
			wantKind(t, err, token.Invalid)
		}
	})
	t.Run("without a master key recoverable keyspaces are refused", func(t *testing.T) {
		f := newFixture(t) // no Secrets
		on := true
		_, err := f.svc.CreateKeyspace(ctx, f.root, token.KeyspaceParams{Name: "vault", Recoverable: &on})
		wantKind(t, err, token.Invalid)
	})
}

// errOf returns the error of a two-valued call.
func errOf[T any](_ T, e error) error { return e }
