package token_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/latchkey/latchkey/ratelimit"
	"github.com/latchkey/latchkey/token"
)

// TestSEC_KEY04_SelfServiceOnlyNarrows: a personal credential may narrow
// its owner's keys but never widen or re-enable them; an administrator's
// (non-personal) credential may. Each widening attempt is 403
// owner_may_only_narrow and changes nothing.
func TestSEC_KEY04_SelfServiceOnlyNarrows(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.user("alice", "keys:read", "keys:write", "orders:read", "orders:write", "orders:admin")
	alice := f.personal("alice", "keys:read", "keys:write")
	five := int64(5)
	exp := f.clock.Now().Add(30 * 24 * time.Hour)
	limits := []ratelimit.Limit{{Name: "burst", Limit: 10, Window: time.Minute}}
	newKey := func(refill bool) *token.Key {
		p := token.CreateKeyParams{
			Owner: &token.Owner{Type: token.User, ID: "alice"}, Scopes: []string{"orders:read", "orders:write"},
			ExpiresAt: exp, Remaining: &five, RateLimits: limits, IPAllow: []string{"10.0.0.0/8"},
		}
		if refill {
			p.Refill = &token.Refill{Interval: "daily", Amount: 5}
		}
		ck := f.create(p)
		off := false
		if _, err := f.svc.UpdateKey(ctx, f.root, ck.Key.ID, token.UpdateKeyParams{Enabled: &off}); err != nil {
			t.Fatal(err)
		}
		return ck.Key
	}
	k := newKey(false)
	later, never := exp.Add(time.Hour), time.Time{}
	yes, six := true, int64(6)
	wider := []string{"orders:read", "orders:write", "orders:admin"}
	none, foreign := []ratelimit.Limit{}, []string{"192.0.2.0/24"}
	superset, all := []string{"0.0.0.0/0"}, []string{}
	looser := []ratelimit.Limit{{Name: "burst", Limit: 11, Window: time.Minute}}
	shorter := []ratelimit.Limit{{Name: "burst", Limit: 10, Window: time.Second}}
	for name, p := range map[string]token.UpdateKeyParams{
		"re-enable":               {Enabled: &yes},
		"add a scope":             {Scopes: &wider},
		"later expiry":            {ExpiresAt: &later},
		"permanent":               {ExpiresAt: &never},
		"lift credits":            {ClearRemaining: true},
		"more credits":            {Remaining: &six},
		"add a refill":            {Refill: &token.Refill{Interval: "daily", Amount: 1}},
		"empty ip_allow":          {IPAllow: &all},
		"foreign ip_allow":        {IPAllow: &foreign},
		"wider ip_allow":          {IPAllow: &superset},
		"ratelimits []":           {RateLimits: &none},
		"looser limit":            {RateLimits: &looser},
		"limit on another window": {RateLimits: &shorter},
	} {
		t.Run("403/"+name, func(t *testing.T) {
			_, err := f.svc.UpdateKey(ctx, alice, k.ID, p)
			wantKind(t, err, token.PermissionDenied)
			var te *token.Error
			if !errors.As(err, &te) || te.Code != "owner_may_only_narrow" {
				t.Fatalf("error %v, want code owner_may_only_narrow", err)
			}
		})
	}
	got, err := f.svc.Key(ctx, f.root, k.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Disabled || *got.Remaining != 5 || len(got.RateLimits) != 1 || len(got.IPAllow) != 1 || len(got.Scopes) != 2 || !got.ExpiresAt.Equal(exp) {
		t.Fatalf("a refused widening changed the key: %+v", got)
	}

	// Each narrowing is allowed.
	earlier, three, off := exp.Add(-time.Hour), int64(3), false
	fewer, smaller := []string{"orders:read"}, []string{"10.1.0.0/16", "10.2.3.4"}
	tighter := []ratelimit.Limit{{Name: "burst", Limit: 5, Window: time.Minute}, {Name: "daily", Limit: 100, Window: 24 * time.Hour}}
	name := "renamed"
	for what, p := range map[string]token.UpdateKeyParams{
		"rename":         {Name: &name},
		"disable":        {Enabled: &off},
		"fewer scopes":   {Scopes: &fewer},
		"earlier expiry": {ExpiresAt: &earlier},
		"fewer credits":  {Remaining: &three},
		"subset ip":      {IPAllow: &smaller},
		"tighter limits": {RateLimits: &tighter},
	} {
		if _, err := f.svc.UpdateKey(ctx, alice, k.ID, p); err != nil {
			t.Errorf("narrowing %q refused: %v", what, err)
		}
	}
	r := newKey(true)
	lower := token.Refill{Interval: "daily", Amount: 2}
	if _, err := f.svc.UpdateKey(ctx, alice, r.ID, token.UpdateKeyParams{Refill: &lower}); err != nil {
		t.Errorf("lowering the refill refused: %v", err)
	}
	higher := token.Refill{Interval: "daily", Amount: 6}
	_, err = f.svc.UpdateKey(ctx, alice, r.ID, token.UpdateKeyParams{Refill: &higher})
	wantKind(t, err, token.PermissionDenied)

	// An administrator's credential may widen and re-enable.
	if _, err := f.svc.UpdateKey(ctx, f.root, k.ID, token.UpdateKeyParams{Enabled: &yes, RateLimits: &none, IPAllow: &all, ClearRemaining: true}); err != nil {
		t.Fatalf("admin widening refused: %v", err)
	}
}
