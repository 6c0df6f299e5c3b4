package token_test

import (
	"context"
	"testing"
	"time"

	"github.com/latchkey/latchkey/ratelimit"
	"github.com/latchkey/latchkey/token"
)

func (f *fixture) verifyReq(r token.VerifyRequest) *token.VerifyResult {
	f.t.Helper()
	res, err := f.svc.Verify(context.Background(), r)
	if err != nil {
		f.t.Fatalf("verify: %v", err)
	}
	return res
}

// TestSEC_KEY06_IPAllowlist: only addresses inside the allowlist verify;
// IPv4-mapped IPv6 addresses count as IPv4.
func TestSEC_KEY06_IPAllowlist(t *testing.T) {
	f := newFixture(t)
	k := f.create(token.CreateKeyParams{IPAllow: []string{"203.0.113.0/24", "2001:db8::/32", "198.51.100.7", "::ffff:192.0.2.0/120"}})
	if got := len(k.Key.IPAllow); got != 4 {
		t.Fatalf("allowlist %v", k.Key.IPAllow)
	}
	for _, c := range []struct {
		ip   string
		want token.Code
	}{
		{"203.0.113.9", token.CodeValid},
		{"::ffff:203.0.113.5", token.CodeValid},
		{"2001:db8:1::1", token.CodeValid},
		{"198.51.100.7", token.CodeValid},
		{"192.0.2.44", token.CodeValid},
		{"198.51.100.8", token.CodeForbiddenIP},
		{"203.0.114.1", token.CodeForbiddenIP},
		{"2001:db9::1", token.CodeForbiddenIP},
		{"", token.CodeForbiddenIP},
		{"not-an-ip", token.CodeForbiddenIP},
	} {
		t.Run(c.ip, func(t *testing.T) {
			if res := f.verifyReq(token.VerifyRequest{Key: k.Secret.Reveal(), IP: c.ip}); res.Code != c.want {
				t.Fatalf("code %s, want %s", res.Code, c.want)
			}
		})
	}
	for _, bad := range []string{"300.1.1.1", "10.0.0.0/33", "fe80::1%eth0", "::ffff:0:0/80"} {
		_, err := f.svc.CreateKey(context.Background(), f.root, token.CreateKeyParams{IPAllow: []string{bad}})
		wantKind(t, err, token.Invalid)
	}
}

// TestSEC_KEY08_RateLimits: a key's limits refuse the request over budget
// and report remaining budget; the owner's limits are shared by its keys;
// keyspace defaults apply to keys without their own; cost counts.
func TestSEC_KEY08_RateLimits(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	k := f.create(token.CreateKeyParams{RateLimits: []ratelimit.Limit{{Name: "requests", Limit: 3, Window: time.Minute}}})
	var last int64 = 1 << 62
	for i := range 3 {
		res := f.verifyReq(token.VerifyRequest{Key: k.Secret.Reveal()})
		if res.Code != token.CodeValid || len(res.RateLimits) != 1 {
			t.Fatalf("request %d: %s %+v", i, res.Code, res.RateLimits)
		}
		if r := res.RateLimits[0].Remaining; r >= last {
			t.Fatalf("remaining went from %d to %d", last, r)
		} else {
			last = r
		}
	}
	res := f.verifyReq(token.VerifyRequest{Key: k.Secret.Reveal()})
	if res.Code != token.CodeRateLimited || res.RateLimits[0].Allowed || res.RateLimits[0].RetryAfter <= 0 {
		t.Fatalf("over the limit: %s %+v", res.Code, res.RateLimits)
	}
	f.clock.Advance(20 * time.Second) // one unit back
	if res := f.verifyReq(token.VerifyRequest{Key: k.Secret.Reveal(), Cost: 2}); res.Code != token.CodeRateLimited {
		t.Fatalf("cost 2 with 1 unit left: %s", res.Code)
	}
	if res := f.verifyReq(token.VerifyRequest{Key: k.Secret.Reveal(), DryRun: true}); res.Code != token.CodeValid {
		t.Fatalf("dry run with 1 unit left: %s", res.Code)
	}
	f.wantCode(k.Secret.Reveal(), token.CodeValid)

	t.Run("owner limits are shared", func(t *testing.T) {
		if _, err := f.svc.CreatePrincipal(ctx, f.root, token.CreatePrincipalParams{Type: token.App, ID: "svc", Permissions: []string{"a:b"},
			RateLimits: []ratelimit.Limit{{Name: "requests", Limit: 2, Window: time.Hour}}}); err != nil {
			t.Fatal(err)
		}
		owner := &token.Owner{Type: token.App, ID: "svc"}
		a, b := f.create(token.CreateKeyParams{Owner: owner}), f.create(token.CreateKeyParams{Owner: owner})
		f.wantCode(a.Secret.Reveal(), token.CodeValid)
		res := f.wantCode(b.Secret.Reveal(), token.CodeValid)
		if len(res.RateLimits) != 1 || res.RateLimits[0].Limit.Name != "owner_requests" {
			t.Fatalf("owner limit state %+v", res.RateLimits)
		}
		f.wantCode(a.Secret.Reveal(), token.CodeRateLimited)
	})
	t.Run("keyspace defaults", func(t *testing.T) {
		ls := []ratelimit.Limit{{Name: "requests", Limit: 1, Window: time.Hour}}
		if _, err := f.svc.CreateKeyspace(ctx, f.root, token.KeyspaceParams{Name: "limited", RateLimits: &ls}); err != nil {
			t.Fatal(err)
		}
		k := f.create(token.CreateKeyParams{Keyspace: "limited"})
		f.wantCode(k.Secret.Reveal(), token.CodeValid)
		f.wantCode(k.Secret.Reveal(), token.CodeRateLimited)
		own := f.create(token.CreateKeyParams{Keyspace: "limited", RateLimits: []ratelimit.Limit{}})
		for range 3 {
			f.wantCode(own.Secret.Reveal(), token.CodeValid)
		}
	})
	t.Run("bad limits", func(t *testing.T) {
		for name, ls := range map[string][]ratelimit.Limit{
			"zero limit":     {{Name: "r", Limit: 0, Window: time.Minute}},
			"tiny window":    {{Name: "r", Limit: 1, Window: time.Millisecond}},
			"duplicate name": {{Name: "r", Limit: 1, Window: time.Minute}, {Name: "r", Limit: 2, Window: time.Hour}},
			"bad name":       {{Name: "R R", Limit: 1, Window: time.Minute}},
		} {
			_, err := f.svc.CreateKey(ctx, f.root, token.CreateKeyParams{RateLimits: ls})
			if token.KindOf(err) != token.Invalid {
				t.Errorf("%s: %v", name, err)
			}
		}
	})
}

// TestCreditsRefill: a daily refill resets remaining at 00:00 UTC.
func TestCreditsRefill(t *testing.T) {
	f := newFixture(t) // clock: 2026-11-23 12:00 UTC
	k := f.create(token.CreateKeyParams{Refill: &token.Refill{Interval: token.RefillDaily, Amount: 2}})
	if k.Key.Remaining == nil || *k.Key.Remaining != 2 {
		t.Fatalf("remaining defaults to the refill amount: %v", k.Key.Remaining)
	}
	f.wantCode(k.Secret.Reveal(), token.CodeValid)
	f.wantCode(k.Secret.Reveal(), token.CodeValid)
	f.wantCode(k.Secret.Reveal(), token.CodeUsageExceeded)
	f.clock.Advance(11*time.Hour + 59*time.Minute)
	f.wantCode(k.Secret.Reveal(), token.CodeUsageExceeded)
	f.clock.Advance(time.Minute) // midnight
	res := f.wantCode(k.Secret.Reveal(), token.CodeValid)
	if *res.Remaining != 1 {
		t.Fatalf("after the refill: remaining %d, want 1", *res.Remaining)
	}
}
