package web

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/latchkey/latchkey/people"
	"github.com/latchkey/latchkey/seal"
	"github.com/latchkey/latchkey/store/sqlstore"
	"github.com/latchkey/latchkey/token"
)

// testClock is a clock the test moves.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newConsoleStack is newStack with a clock the people service (sessions,
// step-up, TOTP) reads.
func newConsoleStack(t *testing.T, clock *testClock) *stack {
	t.Helper()
	return newStackAt(t, clock.Now)
}

// TestConsoleStepUp: creating a management credential and rotating the
// signing key at once need a second factor used in the last 5 minutes
// (SPEC §3.5); after a step-up the console goes back to the page and the
// change is made.
func TestConsoleStepUp(t *testing.T) {
	clock := &testClock{t: time.Now()}
	s := newConsoleStack(t, clock)
	s.must(201, "POST", "/v1/users", `{"id":"ada","permissions":["admin"]}`)
	s.must(204, "PUT", "/v1/users/ada/password", `{"password":"`+testPassword+`"}`)
	var e struct {
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal(s.must(201, "POST", "/v1/users/ada/totp", ""), &e); err != nil || e.Secret == "" {
		t.Fatalf("enrol: %v", err)
	}
	code := func(at time.Time) string {
		c, err := totp.GenerateCode(e.Secret, at)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	s.must(200, "POST", "/v1/users/ada/totp/confirm", `{"code":"`+code(clock.Now())+`"}`)
	clock.Add(time.Minute)

	b := s.browser()
	b.get("/login")
	if p := b.post("/login", url.Values{"username": {"ada"}, "password": {testPassword}}); p.status != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", p.status)
	}
	b.get("/login/verify")
	if p := b.post("/login/verify", url.Values{"otp": {code(clock.Now())}}); p.status != http.StatusSeeOther {
		t.Fatalf("second factor: %d %.300s", p.status, p.body)
	}
	if p := b.get("/ui/keys"); p.status != http.StatusOK {
		t.Fatalf("GET /ui/keys: %d", p.status)
	}
	mgmtKeys := func() int {
		var l struct {
			Items []json.RawMessage `json:"items"`
		}
		if err := json.Unmarshal(s.must(200, "GET", "/v1/keys?keyspace=latchkey", ""), &l); err != nil {
			t.Fatal(err)
		}
		return len(l.Items)
	}
	before := mgmtKeys()

	clock.Add(6 * time.Minute)
	form := func() url.Values {
		return url.Values{"keyspace": {"latchkey"}, "name": {"ci"}, "scopes": {"keys:read"}}
	}
	p := b.post("/ui/keys", form())
	if p.status != http.StatusForbidden || !strings.Contains(p.body, "Confirm it is you") || !strings.Contains(p.body, `name="return_to" value="/ui/keys"`) {
		t.Fatalf("management key without a fresh factor: %d %.500s", p.status, p.body)
	}
	if n := mgmtKeys(); n != before {
		t.Fatalf("a management key was created without step-up: %d, want %d", n, before)
	}
	b.get("/ui/signing-keys")
	if p := b.post("/ui/signing-keys/rotate-at-once", url.Values{}); p.status != http.StatusForbidden || !strings.Contains(p.body, "Confirm it is you") {
		t.Fatalf("rotate at once without a fresh factor: %d", p.status)
	}
	// Rotating a management key makes a new management credential: the
	// same step-up as creating one.
	var mk struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(s.must(201, "POST", "/v1/keys", `{"keyspace":"latchkey","scopes":["keys:read"]}`), &mk); err != nil || mk.ID == "" {
		t.Fatalf("management key: %v", err)
	}
	b.get("/ui/keys/" + mk.ID)
	if p := b.post("/ui/keys/"+mk.ID+"/rotate", url.Values{"grace": {"1h"}}); p.status != http.StatusForbidden || !strings.Contains(p.body, "Confirm it is you") || strings.Contains(p.body, `id="secret"`) {
		t.Fatalf("rotating a management key without a fresh factor: %d %.300s", p.status, p.body)
	}
	if n := mgmtKeys(); n != before+1 {
		t.Fatalf("a management key was rotated without step-up: %d keys, want %d", n, before+1)
	}
	before++
	// Giving a management permission needs it too; other permissions do not.
	b.get("/ui/users")
	if p := b.post("/ui/users", url.Values{"id": {"mallory"}, "permissions": {"admin"}}); p.status != http.StatusForbidden || !strings.Contains(p.body, "Confirm it is you") {
		t.Fatalf("creating an admin without a fresh factor: %d %.300s", p.status, p.body)
	}
	s.must(404, "GET", "/v1/users/mallory", "")
	if p := b.post("/ui/users", url.Values{"id": {"bob"}, "permissions": {"orders:read"}}); p.status != http.StatusSeeOther {
		t.Fatalf("creating a plain user: %d %.300s", p.status, p.body)
	}
	b.get("/ui/users/bob")
	if p := b.post("/ui/users/bob", url.Values{"permissions": {"orders:read keys:write"}, "name": {"Bob"}}); p.status != http.StatusForbidden {
		t.Fatalf("granting keys:write without a fresh factor: %d %.300s", p.status, p.body)
	}
	if p := b.post("/ui/users/bob", url.Values{"permissions": {"orders:read orders:write"}, "name": {"Bob"}}); p.status != http.StatusOK {
		t.Fatalf("granting orders:write: %d %.300s", p.status, p.body)
	}
	// A plain rotation needs none.
	if p := b.post("/ui/signing-keys/rotate", url.Values{}); p.status != http.StatusOK || !strings.Contains(p.body, "was published") {
		t.Fatalf("rotate: %d %.300s", p.status, p.body)
	}

	b.get("/ui/keys")
	if p := b.post("/ui/me/step-up", url.Values{"otp": {code(clock.Now())}, "return_to": {"/ui/keys"}}); p.status != http.StatusSeeOther || p.loc != "/ui/keys" {
		t.Fatalf("step-up: %d %q", p.status, p.loc)
	}
	b.get("/ui/keys")
	if p := b.post("/ui/keys", form()); p.status != http.StatusCreated || !strings.Contains(p.body, `id="secret"`) {
		t.Fatalf("management key after step-up: %d %.300s", p.status, p.body)
	}
	if n := mgmtKeys(); n != before+1 {
		t.Fatalf("%d management keys, want %d", n, before+1)
	}
	b.get("/ui/keys/" + mk.ID)
	if p := b.post("/ui/keys/"+mk.ID+"/rotate", url.Values{"grace": {"1h"}}); p.status/100 != 2 || !strings.Contains(p.body, `id="secret"`) {
		t.Fatalf("rotating a management key after step-up: %d %.300s", p.status, p.body)
	}
	b.get("/ui/signing-keys")
	if p := b.post("/ui/signing-keys/rotate-at-once", url.Values{}); p.status != http.StatusOK || !strings.Contains(p.body, "signs now") {
		t.Fatalf("rotate at once after step-up: %d %.300s", p.status, p.body)
	}
	// The step-up page refuses to send the browser off the console.
	if p := b.post("/ui/me/step-up", url.Values{"otp": {code(clock.Now().Add(30 * time.Second))}, "return_to": {"//evil.example/"}}); p.status != http.StatusOK {
		t.Fatalf("step-up with a foreign return_to: %d %q", p.status, p.loc)
	}
}

// TestConsoleAppOAuth: an admin makes an app an OAuth client, sees its
// secret once, rotates it with a grace period; the new secret authenticates.
func TestConsoleAppOAuth(t *testing.T) {
	s := newStack(t)
	s.must(201, "POST", "/v1/users", `{"id":"ada","permissions":["admin"]}`)
	s.must(204, "PUT", "/v1/users/ada/password", `{"password":"`+testPassword+`"}`)
	var e struct {
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal(s.must(201, "POST", "/v1/users/ada/totp", ""), &e); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	c, _ := totp.GenerateCode(e.Secret, now)
	s.must(200, "POST", "/v1/users/ada/totp/confirm", `{"code":"`+c+`"}`)
	b := s.browser()
	b.get("/login")
	b.post("/login", url.Values{"username": {"ada"}, "password": {testPassword}})
	b.get("/login/verify")
	c, _ = totp.GenerateCode(e.Secret, now.Add(30*time.Second))
	if p := b.post("/login/verify", url.Values{"otp": {c}}); p.status != http.StatusSeeOther {
		t.Fatalf("second factor: %d", p.status)
	}
	b.get("/ui/apps")
	if p := b.post("/ui/apps", url.Values{"id": {"billing"}, "permissions": {"orders:read"}}); p.status != http.StatusSeeOther || p.loc != "/ui/apps/billing?created=1" {
		t.Fatalf("create app: %d %q", p.status, p.loc)
	}
	b.get("/ui/apps/billing")
	p := b.post("/ui/apps/billing/oauth", url.Values{"grant_types": {"client_credentials"}, "token_endpoint_auth_method": {"client_secret_basic"}})
	first := secretOf(t, p)
	if strings.Count(p.body, first) != 1 {
		t.Fatal("the client secret is shown more than once")
	}
	p = b.post("/ui/apps/billing/secret", url.Values{"grace": {"1h"}})
	second := secretOf(t, p)
	if second == first || !strings.Contains(p.body, "keeps working until") {
		t.Fatalf("rotation: %.300s", p.body)
	}
	for _, sec := range []string{first, second} {
		req, _ := http.NewRequest("POST", s.url+"/oauth2/token", strings.NewReader("grant_type=client_credentials"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("billing", sec)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("client_credentials with a console secret: %d", resp.StatusCode)
		}
	}
	if p := b.get("/ui/apps/billing"); strings.Contains(p.body, second) || strings.Contains(p.body, first) {
		t.Fatal("the app's page shows a secret again")
	}
}

func secretOf(t *testing.T, p page) string {
	t.Helper()
	_, after, ok := strings.Cut(p.body, `id="secret">`)
	sec, _, ok2 := strings.Cut(after, "<")
	if p.status != http.StatusOK || !ok || !ok2 || sec == "" {
		t.Fatalf("no secret shown: %d %.400s", p.status, p.body)
	}
	return sec
}

// TestSetupCodeSingleUse: two setup forms sent at once with one code make
// one administrator; the code is refused once used.
func TestSetupCodeSingleUse(t *testing.T) {
	ctx := context.Background()
	db, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "latchkey.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var mk [32]byte
	rand.Read(mk[:])
	box, err := seal.New(mk)
	if err != nil {
		t.Fatal(err)
	}
	svc := token.NewService(token.Config{Store: db, Secrets: box})
	ppl, err := people.New(people.Config{Store: db, Tokens: svc, Box: box, Pepper: []byte("test pepper"), Issuer: "latchkey"})
	if err != nil {
		t.Fatal(err)
	}
	pages, err := New(Config{People: ppl, Tokens: svc})
	if err != nil {
		t.Fatal(err)
	}
	code, err := pages.NewSetupCode(ctx)
	if err != nil || code == "" {
		t.Fatalf("setup code: %q %v", code, err)
	}
	csrf := strings.Repeat("c", 43)
	post := func(user string) int {
		form := url.Values{"csrf": {csrf}, "code": {code}, "username": {user}, "password": {testPassword}, "confirm": {testPassword}}
		req := httptest.NewRequest("POST", "/ui/setup", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.AddCookie(&http.Cookie{Name: "latchkey_csrf", Value: csrf})
		rec := httptest.NewRecorder()
		pages.ServeHTTP(rec, req)
		return rec.Code
	}
	var wg sync.WaitGroup
	codes := make([]int, 4)
	for i := range codes {
		wg.Add(1)
		go func() { defer wg.Done(); codes[i] = post("admin" + string(rune('a'+i))) }()
	}
	wg.Wait()
	ok := 0
	for _, c := range codes {
		if c == http.StatusOK {
			ok++
		} else if c != http.StatusForbidden && c != http.StatusConflict {
			t.Fatalf("setup answers %v", codes)
		}
	}
	users, _, err := svc.Principals(ctx, token.SystemActor, token.PrincipalFilter{Type: token.User, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if ok != 1 || len(users) != 1 {
		t.Fatalf("%d setups succeeded, %d users exist; want one of each (answers %v)", ok, len(users), codes)
	}
	if c := post("late"); c != http.StatusForbidden {
		t.Fatalf("the used code: %d", c)
	}
	if again, err := pages.NewSetupCode(ctx); err != nil || again != "" {
		t.Fatalf("a setup code with an administrator: %q %v", again, err)
	}
}
