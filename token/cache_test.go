package token_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/apitoken"
	"github.com/latchkey/latchkey/token"
)

// countingStore counts digest lookups and can hold one lookup after it has
// read the store, to stage a fill racing an invalidation.
type countingStore struct {
	token.Store
	lookups atomic.Int64
	hold    chan chan struct{} // if non-nil, a lookup sends a release channel and waits on it
}

func (c *countingStore) KeyByDigest(ctx context.Context, d apitoken.Digest) (*token.Key, error) {
	c.lookups.Add(1)
	k, err := c.Store.KeyByDigest(ctx, d)
	if c.hold != nil {
		release := make(chan struct{})
		c.hold <- release
		<-release
	}
	return k, err
}

func newCountingFixture(t *testing.T) (*fixture, *countingStore) {
	t.Helper()
	f := newFixture(t)
	cs := &countingStore{Store: f.store}
	f.svc = token.NewService(token.Config{Store: cs, Now: f.clock.Now})
	if _, err := f.svc.Bootstrap(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	return f, cs
}

func TestCacheHitTouchesNoStorage(t *testing.T) {
	f, cs := newCountingFixture(t)
	k := f.create(token.CreateKeyParams{Scopes: []string{"a:b"}})
	f.wantCode(k.Secret.Reveal(), token.CodeValid)
	before := cs.lookups.Load()
	for range 100 {
		f.wantCode(k.Secret.Reveal(), token.CodeValid, "a:b")
	}
	if n := cs.lookups.Load() - before; n != 0 {
		t.Fatalf("cached key looked up in storage %d times", n)
	}
}

func TestUnknownAndMistypedKeysSpareStorage(t *testing.T) {
	f, cs := newCountingFixture(t)
	k := f.create(token.CreateKeyParams{})
	typo := []byte(k.Secret.Reveal())
	typo[10] ^= 0x01
	before := cs.lookups.Load()
	for range 50 {
		f.wantCode(string(typo), token.CodeNotFound)
		f.wantCode("", token.CodeNotFound)
		f.wantCode("not a key at all", token.CodeNotFound)
	}
	if n := cs.lookups.Load() - before; n != 0 {
		t.Fatalf("bad checksums reached storage %d times", n)
	}
	unknown, err := apitoken.New("lk")
	if err != nil {
		t.Fatal(err)
	}
	for range 50 {
		f.wantCode(unknown.Reveal(), token.CodeNotFound)
	}
	if n := cs.lookups.Load() - before; n != 1 {
		t.Fatalf("an unknown well-formed key reached storage %d times, want 1 (then negative cache)", n)
	}
}

func TestCachedKeySeesEveryChangeAtOnce(t *testing.T) {
	f, _ := newCountingFixture(t)
	ctx := context.Background()
	f.user("u", "a:b", "c:d")
	k := f.create(token.CreateKeyParams{Owner: &token.Owner{Type: token.User, ID: "u"}, Scopes: []string{"a:b", "c:d"}})
	s := k.Secret.Reveal()
	f.wantCode(s, token.CodeValid, "c:d") // cached now

	perms := []string{"a:b"}
	if _, err := f.svc.UpdatePrincipal(ctx, f.root, token.User, "u", token.UpdatePrincipalParams{Permissions: &perms}); err != nil {
		t.Fatal(err)
	}
	f.wantCode(s, token.CodeInsufficientScope, "c:d")
	scopes := []string{}
	if _, err := f.svc.UpdateKey(ctx, f.root, k.Key.ID, token.UpdateKeyParams{Scopes: &scopes}); err != nil {
		t.Fatal(err)
	}
	f.wantCode(s, token.CodeInsufficientScope, "a:b")
	off := false
	if _, err := f.svc.UpdateKey(ctx, f.root, k.Key.ID, token.UpdateKeyParams{Enabled: &off}); err != nil {
		t.Fatal(err)
	}
	f.wantCode(s, token.CodeDisabled)
	on, yes := true, true
	f.svc.UpdateKey(ctx, f.root, k.Key.ID, token.UpdateKeyParams{Enabled: &on})
	f.svc.UpdatePrincipal(ctx, f.root, token.User, "u", token.UpdatePrincipalParams{Disabled: &yes})
	f.wantCode(s, token.CodeOwnerDisabled)
	f.svc.UpdatePrincipal(ctx, f.root, token.User, "u", token.UpdatePrincipalParams{Disabled: &off})
	f.wantCode(s, token.CodeInsufficientScope, "c:d")

	ck, _, err := f.svc.RotateKey(ctx, f.root, k.Key.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.wantCode(s, token.CodeRevoked)
	f.wantCode(ck.Secret.Reveal(), token.CodeInsufficientScope, "c:d")

	// Expiry is judged by the clock at verification, not at cache fill.
	e := f.create(token.CreateKeyParams{ExpiresIn: time.Minute})
	f.wantCode(e.Secret.Reveal(), token.CodeValid)
	f.clock.Advance(time.Minute)
	f.wantCode(e.Secret.Reveal(), token.CodeExpired)
}

// TestCacheFillCannotResurrectRevokedKey stages the race: a verification
// reads the key before the revoke commits and stores it in the cache after
// the revoke returned. The stale fill must be dropped.
func TestCacheFillCannotResurrectRevokedKey(t *testing.T) {
	f, cs := newCountingFixture(t)
	ctx := context.Background()
	k := f.create(token.CreateKeyParams{})
	cs.hold = make(chan chan struct{})
	done := make(chan *token.VerifyResult)
	go func() {
		res, _ := f.svc.Verify(ctx, token.VerifyRequest{Key: k.Secret.Reveal()})
		done <- res
	}()
	release := <-cs.hold // the verification has read the active key
	cs.hold = nil
	if _, err := f.svc.RevokeKey(ctx, f.root, k.Key.ID, "race"); err != nil {
		t.Fatal(err)
	}
	close(release)
	<-done // it may answer VALID: it began before the revoke
	f.wantCode(k.Secret.Reveal(), token.CodeRevoked)
}

// TestRevokeWhileVerifying: under concurrent verification, no verification
// that starts after RevokeKey returned answers VALID.
func TestRevokeWhileVerifying(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for round := range 20 {
		k := f.create(token.CreateKeyParams{})
		var revoked atomic.Bool
		var bad atomic.Int64
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for range 8 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					after := revoked.Load()
					res, err := f.svc.Verify(ctx, token.VerifyRequest{Key: k.Secret.Reveal()})
					if err == nil && after && res.Valid {
						bad.Add(1)
					}
				}
			})
		}
		time.Sleep(time.Millisecond)
		if _, err := f.svc.RevokeKey(ctx, f.root, k.Key.ID, ""); err != nil {
			t.Fatal(err)
		}
		revoked.Store(true)
		time.Sleep(2 * time.Millisecond)
		close(stop)
		wg.Wait()
		if n := bad.Load(); n > 0 {
			t.Fatalf("round %d: %d verifications answered VALID after the revoke returned", round, n)
		}
	}
}

// TestSEC_KEY05_CreditsExactUnderConcurrency: a key with remaining k
// verifies exactly k times under 50 concurrent verifiers.
func TestSEC_KEY05_CreditsExactUnderConcurrency(t *testing.T) {
	f := newFixture(t)
	const k = 40
	credits := int64(k)
	key := f.create(token.CreateKeyParams{Remaining: &credits})
	var valid, exceeded atomic.Int64
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			for range 4 {
				res, err := f.svc.Verify(context.Background(), token.VerifyRequest{Key: key.Secret.Reveal()})
				if err != nil {
					t.Error(err)
					return
				}
				switch res.Code {
				case token.CodeValid:
					valid.Add(1)
				case token.CodeUsageExceeded:
					exceeded.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if valid.Load() != k || exceeded.Load() != 200-k {
		t.Fatalf("valid %d, exceeded %d; want exactly %d valid", valid.Load(), exceeded.Load(), k)
	}
}

func TestFlushRecordsUsage(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	k := f.create(token.CreateKeyParams{})
	for range 3 {
		if _, err := f.svc.Verify(ctx, token.VerifyRequest{Key: k.Secret.Reveal(), IP: "203.0.113.7"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.svc.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := f.store.KeyByID(ctx, k.Key.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.LastUsedIP != "203.0.113.7" || !got.LastUsedAt.Equal(f.clock.Now()) {
		t.Fatalf("last used %v from %q", got.LastUsedAt, got.LastUsedIP)
	}
	f.svc.Verify(ctx, token.VerifyRequest{Key: k.Secret.Reveal(), Scopes: []string{"x:y"}})
	if err := f.svc.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	counts, err := f.svc.KeyUsage(ctx, f.root, k.Key.ID)
	if err != nil {
		t.Fatal(err)
	}
	if counts[token.CodeValid] != 3 || counts[token.CodeInsufficientScope] != 1 || len(counts) != 2 {
		t.Fatalf("usage counts %v, want 3 VALID and 1 INSUFFICIENT_SCOPE", counts)
	}
}

// TestRotationDoesNotDoubleCredits: during a rotation's grace period the old
// and the new secret spend one shared balance.
func TestRotationDoesNotDoubleCredits(t *testing.T) {
	f := newFixture(t)
	credits := int64(3)
	old := f.create(token.CreateKeyParams{Remaining: &credits})
	ck, _, err := f.svc.RotateKey(context.Background(), f.root, old.Key.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	f.wantCode(old.Secret.Reveal(), token.CodeValid)
	f.wantCode(ck.Secret.Reveal(), token.CodeValid)
	f.wantCode(old.Secret.Reveal(), token.CodeValid)
	f.wantCode(ck.Secret.Reveal(), token.CodeUsageExceeded)
	f.wantCode(old.Secret.Reveal(), token.CodeUsageExceeded)
}
