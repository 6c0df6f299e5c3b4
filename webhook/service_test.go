package webhook_test

import (
	"testing"
	"time"

	"github.com/latchkey/latchkey/scope"
	"github.com/latchkey/latchkey/token"
	"github.com/latchkey/latchkey/webhook"
)

// webhooks:read lists and reads; only webhooks:write (or admin) changes;
// other management scopes do neither. Secrets are sealed, never stored as
// given.
func TestWebhooks_ScopesAndSealedSecret(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	w, sec := f.create(t, "https://example.com/hook", webhook.KeyRevoked)
	reader := &token.Actor{KeyID: "key_r", Scopes: scope.Set{token.ScopeWebhooksRead}}
	writer := &token.Actor{KeyID: "key_w", Scopes: scope.Set{token.ScopeWebhooksWrite}}
	other := &token.Actor{KeyID: "key_o", Scopes: scope.Set{token.ScopeKeysWrite, token.ScopeAuditRead}}
	u := "https://example.com/other"
	evs := []string{webhook.KeyCreated}
	if _, err := f.hooks.List(ctx, reader); err != nil {
		t.Errorf("webhooks:read cannot list: %v", err)
	}
	if _, _, err := f.hooks.Deliveries(ctx, reader, w.ID, 0, 10); err != nil {
		t.Errorf("webhooks:read cannot list deliveries: %v", err)
	}
	for _, a := range []*token.Actor{reader, other} {
		if _, _, err := f.hooks.Create(ctx, a, webhook.Params{URL: &u, Events: &evs}); token.KindOf(err) != token.PermissionDenied {
			t.Errorf("%v create: %v, want PermissionDenied", a.Scopes, err)
		}
		if _, err := f.hooks.Update(ctx, a, w.ID, webhook.Params{URL: &u}); token.KindOf(err) != token.PermissionDenied {
			t.Errorf("%v update: %v, want PermissionDenied", a.Scopes, err)
		}
		if _, _, err := f.hooks.RotateSecret(ctx, a, w.ID, -1); token.KindOf(err) != token.PermissionDenied {
			t.Errorf("%v rotate: %v, want PermissionDenied", a.Scopes, err)
		}
		if err := f.hooks.Delete(ctx, a, w.ID); token.KindOf(err) != token.PermissionDenied {
			t.Errorf("%v delete: %v, want PermissionDenied", a.Scopes, err)
		}
	}
	// KEY-03: a personal credential (owned by a user) with the webhook
	// scopes but without admin reads and changes no webhook: they carry
	// every owner's changes.
	personal := &token.Actor{KeyID: "key_p", Scopes: scope.Set{token.ScopeWebhooksRead, token.ScopeWebhooksWrite},
		Owner: &token.Owner{Type: token.User, ID: "alice"}}
	if _, err := f.hooks.List(ctx, personal); token.KindOf(err) != token.PermissionDenied {
		t.Errorf("a personal credential lists webhooks: %v", err)
	}
	if _, _, err := f.hooks.Create(ctx, personal, webhook.Params{URL: &u, Events: &evs}); token.KindOf(err) != token.PermissionDenied {
		t.Errorf("a personal credential creates a webhook: %v", err)
	}
	personal.Scopes = scope.Set{token.ScopeAdmin}
	if _, err := f.hooks.List(ctx, personal); err != nil {
		t.Errorf("a personal admin credential cannot list webhooks: %v", err)
	}
	if _, err := f.hooks.List(ctx, other); token.KindOf(err) != token.PermissionDenied {
		t.Errorf("keys:write lists webhooks: %v", err)
	}
	if _, err := f.hooks.Update(ctx, writer, w.ID, webhook.Params{Events: &evs}); err != nil {
		t.Errorf("webhooks:write cannot update: %v", err)
	}
	for _, bad := range [][]string{{}, {"key.deleted"}, {"KEY.REVOKED"}} {
		if _, err := f.hooks.Update(ctx, writer, w.ID, webhook.Params{Events: &bad}); token.KindOf(err) != token.Invalid {
			t.Errorf("events %v: %v, want Invalid", bad, err)
		}
	}
	if _, err := f.hooks.Get(ctx, writer, "wh_missing"); token.KindOf(err) != token.NotFound {
		t.Errorf("unknown webhook: %v, want NotFound", err)
	}
	if _, _, err := f.hooks.RotateSecret(ctx, writer, w.ID, 8*24*time.Hour); token.KindOf(err) != token.Invalid {
		t.Errorf("a grace of 8 days: %v, want Invalid", err)
	}
	stored, err := f.db.Webhook(ctx, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	if string(stored.Secret) == sec || len(stored.Secret) == 0 {
		t.Fatal("the secret is stored as given")
	}
	if plain, err := f.box.Open(stored.Secret, "webhook:"+w.ID); err != nil || string(plain) != sec {
		t.Fatalf("the sealed secret does not open to the one shown (%v)", err)
	}
	if _, err := f.box.Open(stored.Secret, "webhook:wh_other"); err == nil {
		t.Fatal("the sealed secret opens under another webhook's context")
	}
	if err := f.hooks.Delete(ctx, writer, w.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.hooks.Delete(ctx, writer, w.ID); token.KindOf(err) != token.NotFound {
		t.Errorf("second delete: %v, want NotFound", err)
	}
}
