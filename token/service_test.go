package token_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/scope"
	"github.com/latchkey/latchkey/store/sqlstore"
	"github.com/latchkey/latchkey/token"
)

// clock is an injected clock tests move by hand; nothing sleeps.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	t     *testing.T
	svc   *token.Service
	store *sqlstore.DB
	clock *clock
	root  *token.Actor
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.OpenSQLite(ctx, t.TempDir()+"/latchkey.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c := &clock{now: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	svc := token.NewService(token.Config{Store: db, Now: c.Now})
	root, err := svc.Bootstrap(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if root.IsZero() {
		t.Fatal("bootstrap of an empty store generated no root key")
	}
	actor, err := svc.Authenticate(ctx, root.Reveal(), "127.0.0.1", "test")
	if err != nil {
		t.Fatalf("authenticate root: %v", err)
	}
	return &fixture{t: t, svc: svc, store: db, clock: c, root: actor}
}

func (f *fixture) create(p token.CreateKeyParams) *token.CreatedKey {
	f.t.Helper()
	ck, err := f.svc.CreateKey(context.Background(), f.root, p)
	if err != nil {
		f.t.Fatalf("create key: %v", err)
	}
	return ck
}

func (f *fixture) verify(secret string, scopes ...string) *token.VerifyResult {
	f.t.Helper()
	res, err := f.svc.Verify(context.Background(), token.VerifyRequest{Key: secret, Scopes: scopes})
	if err != nil {
		f.t.Fatalf("verify: %v", err)
	}
	return res
}

func (f *fixture) wantCode(secret string, want token.Code, scopes ...string) *token.VerifyResult {
	f.t.Helper()
	res := f.verify(secret, scopes...)
	if res.Code != want || res.Valid != (want == token.CodeValid) {
		f.t.Fatalf("verify: code %s valid %v, want %s", res.Code, res.Valid, want)
	}
	return res
}

func (f *fixture) user(id string, perms ...string) {
	f.t.Helper()
	_, err := f.svc.CreatePrincipal(context.Background(), f.root, token.CreatePrincipalParams{Type: token.User, ID: id, Permissions: perms})
	if err != nil {
		f.t.Fatal(err)
	}
}

// setPerms replaces user id's permissions.
func (f *fixture) setPerms(id string, perms ...string) {
	f.t.Helper()
	if perms == nil {
		perms = []string{}
	}
	_, err := f.svc.UpdatePrincipal(context.Background(), f.root, token.User, id, token.UpdatePrincipalParams{Permissions: &perms})
	if err != nil {
		f.t.Fatal(err)
	}
}

func wantKind(t *testing.T, err error, want token.Kind) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", want)
	}
	if got := token.KindOf(err); got != want {
		t.Fatalf("error kind %s (%v), want %s", got, err, want)
	}
}

func TestVerifyCodes(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	five := int64(1)
	f.user("u1", "orders:read")
	f.user("u2", "orders:*")

	valid := f.create(token.CreateKeyParams{Name: "v", Scopes: []string{"orders:read", "billing:read"}})
	expiring := f.create(token.CreateKeyParams{ExpiresIn: time.Hour})
	revoked := f.create(token.CreateKeyParams{})
	disabled := f.create(token.CreateKeyParams{})
	owned := f.create(token.CreateKeyParams{Owner: &token.Owner{Type: token.User, ID: "u2"}, Scopes: []string{"orders:write"}})
	credit := f.create(token.CreateKeyParams{Remaining: &five})
	if _, err := f.svc.RevokeKey(ctx, f.root, revoked.Key.ID, "test"); err != nil {
		t.Fatal(err)
	}
	off := false
	if _, err := f.svc.UpdateKey(ctx, f.root, disabled.Key.ID, token.UpdateKeyParams{Enabled: &off}); err != nil {
		t.Fatal(err)
	}
	tru := true
	if _, err := f.svc.UpdatePrincipal(ctx, f.root, token.User, "u2", token.UpdatePrincipalParams{Disabled: &tru}); err != nil {
		t.Fatal(err)
	}
	bad := []byte(valid.Secret.Reveal())
	bad[len(bad)-1] ^= 1

	f.wantCode(valid.Secret.Reveal(), token.CodeValid, "orders:read")
	f.wantCode(valid.Secret.Reveal(), token.CodeInsufficientScope, "orders:write")
	f.wantCode(string(bad), token.CodeNotFound)
	f.wantCode("lk_"+string(make([]byte, 10)), token.CodeNotFound)
	f.wantCode("some-foreign-token-that-was-never-issued-here", token.CodeNotFound)
	f.wantCode(revoked.Secret.Reveal(), token.CodeRevoked)
	f.wantCode(disabled.Secret.Reveal(), token.CodeDisabled)
	f.wantCode(owned.Secret.Reveal(), token.CodeOwnerDisabled)
	f.wantCode(credit.Secret.Reveal(), token.CodeValid)
	f.wantCode(credit.Secret.Reveal(), token.CodeUsageExceeded)
	f.wantCode(expiring.Secret.Reveal(), token.CodeValid)
	f.clock.Advance(time.Hour)
	f.wantCode(expiring.Secret.Reveal(), token.CodeExpired)

	q, err := scope.ParseExpr("orders:read AND (billing:read OR admin)")
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.svc.Verify(ctx, token.VerifyRequest{Key: valid.Secret.Reveal(), Query: q})
	if err != nil || !res.Valid {
		t.Fatalf("scope query: %+v %v", res, err)
	}
	q, _ = scope.ParseExpr("orders:read AND admin")
	res, _ = f.svc.Verify(ctx, token.VerifyRequest{Key: valid.Secret.Reveal(), Query: q})
	if res.Code != token.CodeInsufficientScope {
		t.Fatalf("scope query without admin: %s", res.Code)
	}
}

func TestEffectiveScopesFollowTheUser(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.user("alice", "orders:*", "billing:*", "admin")
	k := f.create(token.CreateKeyParams{Owner: &token.Owner{Type: token.User, ID: "alice"}, Scopes: []string{"orders:*", "billing:read", "admin"}})
	f.setPerms("alice", "orders:read", "billing:*") // the key keeps scopes alice no longer holds
	res := f.wantCode(k.Secret.Reveal(), token.CodeValid, "orders:read")
	if got, want := res.Scopes, []string{"billing:read", "orders:read"}; !equal(got, want) {
		t.Fatalf("effective scopes %v, want %v", got, want)
	}
	f.wantCode(k.Secret.Reveal(), token.CodeInsufficientScope, "admin")
	f.wantCode(k.Secret.Reveal(), token.CodeInsufficientScope, "orders:write")

	perms := []string{"billing:read"}
	if _, err := f.svc.UpdatePrincipal(ctx, f.root, token.User, "alice", token.UpdatePrincipalParams{Permissions: &perms}); err != nil {
		t.Fatal(err)
	}
	f.wantCode(k.Secret.Reveal(), token.CodeInsufficientScope, "orders:read")
	f.wantCode(k.Secret.Reveal(), token.CodeValid, "billing:read")
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRotateGracePeriod(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	old := f.create(token.CreateKeyParams{Name: "svc", Scopes: []string{"a:b"}, ExpiresIn: 2 * time.Hour})
	ck, prev, err := f.svc.RotateKey(ctx, f.root, old.Key.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Key.RotatedFrom != old.Key.ID || prev.RotatedTo != ck.Key.ID {
		t.Fatalf("rotation links: from %q to %q", ck.Key.RotatedFrom, prev.RotatedTo)
	}
	if ck.Key.Name != "svc" || !equal(ck.Key.Scopes, []string{"a:b"}) {
		t.Fatalf("successor lost settings: %+v", ck.Key)
	}
	f.wantCode(old.Secret.Reveal(), token.CodeValid)
	f.wantCode(ck.Secret.Reveal(), token.CodeValid)
	_, _, err = f.svc.RotateKey(ctx, f.root, old.Key.ID, time.Hour)
	wantKind(t, err, token.Conflict)

	f.clock.Advance(time.Hour)
	f.wantCode(old.Secret.Reveal(), token.CodeExpired)
	f.wantCode(ck.Secret.Reveal(), token.CodeValid)

	// A grace period longer than the key's own life ends with the key.
	short := f.create(token.CreateKeyParams{ExpiresIn: 10 * time.Minute})
	_, prev, err = f.svc.RotateKey(ctx, f.root, short.Key.ID, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !prev.ExpiresAt.Equal(short.Key.ExpiresAt) {
		t.Fatalf("grace extended the old key's life: %v > %v", prev.ExpiresAt, short.Key.ExpiresAt)
	}

	// Zero grace: the old key dies at once.
	now := f.create(token.CreateKeyParams{})
	if _, _, err := f.svc.RotateKey(ctx, f.root, now.Key.ID, 0); err != nil {
		t.Fatal(err)
	}
	f.wantCode(now.Secret.Reveal(), token.CodeRevoked)
}

func TestRenewCappedByMaxTTL(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	maxTTL, def := 3*time.Hour, time.Hour
	if _, err := f.svc.CreateKeyspace(ctx, f.root, token.KeyspaceParams{Name: "short", MaxTTL: &maxTTL, DefaultTTL: &def}); err != nil {
		t.Fatal(err)
	}
	k := f.create(token.CreateKeyParams{Keyspace: "short"})
	if got := k.Key.ExpiresAt.Sub(k.Key.CreatedAt); got != time.Hour {
		t.Fatalf("default ttl: %v", got)
	}
	_, err := f.svc.CreateKey(ctx, f.root, token.CreateKeyParams{Keyspace: "short", ExpiresIn: 4 * time.Hour})
	wantKind(t, err, token.Invalid)
	_, err = f.svc.CreateKey(ctx, f.root, token.CreateKeyParams{Keyspace: "short", ExpiresAt: f.clock.Now().Add(-time.Minute)})
	wantKind(t, err, token.Invalid)

	f.clock.Advance(50 * time.Minute)
	r, err := f.svc.RenewKey(ctx, f.root, k.Key.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := f.clock.Now().Add(time.Hour); !r.ExpiresAt.Equal(want) {
		t.Fatalf("renewed to %v, want %v", r.ExpiresAt, want)
	}
	f.clock.Advance(50 * time.Minute) // 1h40m after creation
	if _, err = f.svc.RenewKey(ctx, f.root, k.Key.ID); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(50 * time.Minute) // 2h30m: now+1h is past the 3h cap
	r, err = f.svc.RenewKey(ctx, f.root, k.Key.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := k.Key.CreatedAt.Add(maxTTL); !r.ExpiresAt.Equal(want) {
		t.Fatalf("renewal not capped: %v, want %v", r.ExpiresAt, want)
	}
	_, err = f.svc.RenewKey(ctx, f.root, k.Key.ID)
	wantKind(t, err, token.Conflict)

	perm := f.create(token.CreateKeyParams{})
	_, err = f.svc.RenewKey(ctx, f.root, perm.Key.ID)
	wantKind(t, err, token.Conflict)
}

// TestREL06_ExpiryWhileDown: a key whose lifetime ended while latchkey was
// stopped is rejected at the first verification after start.
func TestREL06_ExpiryWhileDown(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	c := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	db, err := sqlstore.OpenSQLite(ctx, dir+"/db")
	if err != nil {
		t.Fatal(err)
	}
	svc := token.NewService(token.Config{Store: db, Now: c.Now})
	if _, err := svc.Bootstrap(ctx, ""); err != nil {
		t.Fatal(err)
	}
	ck, err := svc.CreateKey(ctx, token.SystemActor, token.CreateKeyParams{ExpiresIn: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	c.Advance(time.Minute + time.Nanosecond)
	db, err = sqlstore.OpenSQLite(ctx, dir+"/db")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc = token.NewService(token.Config{Store: db, Now: c.Now})
	res, err := svc.Verify(ctx, token.VerifyRequest{Key: ck.Secret.Reveal()})
	if err != nil || res.Code != token.CodeExpired {
		t.Fatalf("after restart: %+v %v, want EXPIRED", res, err)
	}
}

func TestCreateValidation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	neg := int64(-1)
	for name, p := range map[string]token.CreateKeyParams{
		"unknown keyspace":           {Keyspace: "nope"},
		"bad scope":                  {Scopes: []string{"Orders:Read"}},
		"unknown owner":              {Owner: &token.Owner{Type: token.User, ID: "ghost"}},
		"bad owner type":             {Owner: &token.Owner{Type: "robot", ID: "x"}},
		"negative credits":           {Remaining: &neg},
		"metadata not object":        {Metadata: []byte(`[1,2]`)},
		"both expiries":              {ExpiresIn: time.Hour, ExpiresAt: time.Now().Add(time.Hour)},
		"management scope elsewhere": {Keyspace: token.ManagementKeyspace, Scopes: []string{"orders:read"}},
		"control char in name":       {Name: "a\x00b"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := f.svc.CreateKey(ctx, f.root, p)
			wantKind(t, err, token.Invalid)
		})
	}
}

func TestStoreFailureIsUnavailable(t *testing.T) {
	f := newFixture(t)
	k := f.create(token.CreateKeyParams{})
	f.store.Close()
	_, err := f.svc.Verify(context.Background(), token.VerifyRequest{Key: k.Secret.Reveal()})
	wantKind(t, err, token.Unavailable)
	if errors.Is(err, token.ErrNotFound) {
		t.Fatal("a store failure must not read as not found")
	}
}
