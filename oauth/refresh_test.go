package oauth_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/oauth"
	"github.com/latchkey/latchkey/seal"
	"github.com/latchkey/latchkey/signer"
	"github.com/latchkey/latchkey/store/sqlstore"
	"github.com/latchkey/latchkey/token"
)

// faultGrants is the real grant store with a fault injected into one
// step of its choice.
type faultGrants struct {
	*sqlstore.DB
	failRotate atomic.Bool // RotateRefresh fails before it changes anything
	failGet    atomic.Bool // RefreshToken fails
	failCreate atomic.Bool // CreateGrant fails
}

var errInjected = errors.New("injected: database is gone")

func (f *faultGrants) RotateRefresh(ctx context.Context, old []byte, now time.Time, successor []byte, next *oauth.RefreshToken) error {
	if f.failRotate.Load() {
		return errInjected
	}
	return f.DB.RotateRefresh(ctx, old, now, successor, next)
}

func (f *faultGrants) RefreshToken(ctx context.Context, d []byte) (*oauth.RefreshToken, error) {
	if f.failGet.Load() {
		return nil, errInjected
	}
	return f.DB.RefreshToken(ctx, d)
}

func (f *faultGrants) CreateGrant(ctx context.Context, g *oauth.Grant, rt *oauth.RefreshToken) error {
	if f.failCreate.Load() {
		return errInjected
	}
	return f.DB.CreateGrant(ctx, g, rt)
}

// keyFaultStore is the real token store whose key updates (revocations
// among them) fail while failUpdate is set, and whose reads by digest
// fail while failRead is set.
type keyFaultStore struct {
	token.Store
	failUpdate atomic.Bool
	failRead   atomic.Bool
}

func (s *keyFaultStore) UpdateKey(ctx context.Context, id string, fn func(*token.Key) error, ev *token.AuditEvent) (*token.Key, error) {
	if s.failUpdate.Load() {
		return nil, errInjected
	}
	return s.Store.UpdateKey(ctx, id, fn, ev)
}

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// codeFixture is an authorization server over real SQLite with a code
// client "web" (secret in secret) and a user "alice".
type codeFixture struct {
	svc    *oauth.Service
	grants *faultGrants
	keys   *keyFaultStore
	ts     *token.Service
	clock  *clock
	secret string
}

func newCodeFixture(t testing.TB, cfg oauth.Config) *codeFixture {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "latchkey.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clk := &clock{now: time.Now().UTC()}
	keys := &keyFaultStore{Store: db}
	tokens := token.NewService(token.Config{Store: keys, Now: clk.Now})
	if _, err := tokens.Bootstrap(ctx, ""); err != nil {
		t.Fatal(err)
	}
	m, err := signer.NewManager(signer.ManagerConfig{Store: db, MasterKey: [32]byte{9}, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	box, err := seal.New([32]byte{7})
	if err != nil {
		t.Fatal(err)
	}
	f := &codeFixture{grants: &faultGrants{DB: db}, keys: keys, ts: tokens, clock: clk}
	cfg.Store, cfg.Grants, cfg.Box, cfg.Tokens, cfg.Signer, cfg.Issuer = db, f.grants, box, tokens, m, testIssuer
	f.svc = oauth.New(cfg)
	_, _, f.secret, err = f.svc.CreateApp(ctx, token.SystemActor,
		token.CreatePrincipalParams{ID: "web", Name: "Web", Permissions: []string{"orders:read"}},
		oauth.Settings{RedirectURIs: []string{"https://web.example/cb"}, TokenEndpointAuthMethod: oauth.AuthSecretPost})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tokens.CreatePrincipal(ctx, token.SystemActor, token.CreatePrincipalParams{Type: token.User, ID: "alice",
		Permissions: []string{"orders:read"}}); err != nil {
		t.Fatal(err)
	}
	return f
}

// tokens runs the code flow for alice and returns the token answer.
func (f *codeFixture) tokens(t *testing.T) answer {
	t.Helper()
	const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	sum := sha256.Sum256([]byte(verifier))
	req, err := f.svc.ParseAuthorize(context.Background(), url.Values{"response_type": {"code"}, "client_id": {"web"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}})
	if err != nil {
		t.Fatal(err)
	}
	back, err := f.svc.Approve(context.Background(), req, oauth.SignIn{UserID: "alice", SessionID: "ses_1", AuthTime: f.clock.Now()}, true)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(back)
	a := f.post("/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {u.Query().Get("code")},
		"code_verifier": {verifier}, "client_id": {"web"}, "client_secret": {f.secret}}, f.svc.HandleToken)
	if !a.ok() {
		t.Fatalf("code redemption: %v", a)
	}
	return a
}

func (f *codeFixture) post(path string, form url.Values, h func(w http.ResponseWriter, r *http.Request) error) answer {
	p := &pkjwtFixture{svc: f.svc}
	return p.post(path, form, h)
}

func (f *codeFixture) refresh(rt string) answer {
	return f.post("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt},
		"client_id": {"web"}, "client_secret": {f.secret}}, f.svc.HandleToken)
}

// TestRT06_StorageFaultLeavesOldTokenUsable: a fault at any step of a
// rotation answers 5xx, rotates nothing, and the old refresh token works
// for the retry.
func TestRT06_StorageFaultLeavesOldTokenUsable(t *testing.T) {
	f := newCodeFixture(t, oauth.Config{RefreshGrace: -1})
	rt := f.tokens(t).body["refresh_token"].(string)
	for name, fault := range map[string]*atomic.Bool{"read": &f.grants.failGet, "rotate": &f.grants.failRotate} {
		fault.Store(true)
		a := f.refresh(rt)
		fault.Store(false)
		if a.status != http.StatusServiceUnavailable || a.body["error"] != "temporarily_unavailable" || a.body["refresh_token"] != nil {
			t.Fatalf("%s fault: %v", name, a)
		}
	}
	next := f.refresh(rt)
	if !next.ok() {
		t.Fatalf("retry with the old refresh token: %v", next)
	}
	// The rotation happened once: the old token is spent now.
	if a := f.refresh(rt); a.status != http.StatusBadRequest {
		t.Errorf("old token after the successful retry: %v", a)
	}
	// A fault when the grant is stored: no tokens, and the code's
	// half-made grant is dead.
	f.grants.failCreate.Store(true)
	defer f.grants.failCreate.Store(false)
	const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	sum := sha256.Sum256([]byte(verifier))
	req, err := f.svc.ParseAuthorize(context.Background(), url.Values{"response_type": {"code"}, "client_id": {"web"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}})
	if err != nil {
		t.Fatal(err)
	}
	back, _ := f.svc.Approve(context.Background(), req, oauth.SignIn{UserID: "alice", AuthTime: f.clock.Now()}, true)
	u, _ := url.Parse(back)
	a := f.post("/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {u.Query().Get("code")},
		"code_verifier": {verifier}, "client_id": {"web"}, "client_secret": {f.secret}}, f.svc.HandleToken)
	if a.status != http.StatusServiceUnavailable || a.body["access_token"] != nil {
		t.Errorf("grant store fault: %v", a)
	}
}

// TestRT07_IdleAndAbsoluteExpiry: a refresh token unused past the idle
// TTL, or any refresh token of a grant past its absolute TTL, is
// invalid_grant.
func TestRT07_IdleAndAbsoluteExpiry(t *testing.T) {
	f := newCodeFixture(t, oauth.Config{RefreshIdleTTL: 10 * time.Minute, RefreshTTL: 30 * time.Minute})
	rt := f.tokens(t).body["refresh_token"].(string)
	f.clock.Add(11 * time.Minute)
	if a := f.refresh(rt); a.status != http.StatusBadRequest || a.body["error"] != "invalid_grant" {
		t.Errorf("idle refresh token: %v", a)
	}
	// Used every 8 minutes, a grant still ends 30 minutes after the
	// sign-in.
	rt = f.tokens(t).body["refresh_token"].(string)
	start := f.clock.Now()
	for f.clock.Now().Sub(start) < 30*time.Minute {
		f.clock.Add(8 * time.Minute)
		a := f.refresh(rt)
		past := f.clock.Now().Sub(start) >= 30*time.Minute
		switch {
		case past && a.status == http.StatusOK:
			t.Fatalf("refresh %s after the sign-in succeeded", f.clock.Now().Sub(start))
		case !past && !a.ok():
			t.Fatalf("refresh %s after the sign-in: %v", f.clock.Now().Sub(start), a)
		case a.ok():
			rt = a.body["refresh_token"].(string)
		}
	}
}

// TestRedirectURIAtTokenWhenAuthorizeNamedNone: an authorization request
// without redirect_uri went to the only registered one; the token request
// may leave it out or name exactly that one, nothing else.
func TestRedirectURIAtTokenWhenAuthorizeNamedNone(t *testing.T) {
	f := newCodeFixture(t, oauth.Config{})
	const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	sum := sha256.Sum256([]byte(verifier))
	for ru, ok := range map[string]bool{"https://web.example/cb": true, "https://web.example/other": false, "https://web.example/cb/": false} {
		req, err := f.svc.ParseAuthorize(context.Background(), url.Values{"response_type": {"code"}, "client_id": {"web"},
			"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}})
		if err != nil {
			t.Fatal(err)
		}
		back, err := f.svc.Approve(context.Background(), req, oauth.SignIn{UserID: "alice", AuthTime: f.clock.Now()}, true)
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(back)
		a := f.post("/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {u.Query().Get("code")}, "redirect_uri": {ru},
			"code_verifier": {verifier}, "client_id": {"web"}, "client_secret": {f.secret}}, f.svc.HandleToken)
		if a.ok() != ok {
			t.Errorf("redirect_uri %q at the token endpoint: %v", ru, a)
		}
	}
}
