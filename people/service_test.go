package people_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"

	"github.com/latchkey/latchkey/people"
	"github.com/latchkey/latchkey/seal"
	"github.com/latchkey/latchkey/store/sqlstore"
	"github.com/latchkey/latchkey/token"
)

// clock is a settable test clock shared by both services.
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

type fixture struct {
	t      *testing.T
	dir    string
	db     *sqlstore.DB
	tokens *token.Service
	svc    *people.Service
	clock  *clock
	root   *token.Actor
}

// cheap are argon2id parameters that keep the tests fast; one test checks
// the defaults.
var cheap = people.Argon2Params{Memory: 1024, Time: 1, Threads: 1}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureRP(t, "localhost", "http://localhost:8080")
}

// newFixtureRP is newFixture with passkeys for relying party rpID on origin.
func newFixtureRP(t *testing.T, rpID, origin string) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqlstore.OpenSQLite(ctx, filepath.Join(dir, "latchkey.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c := &clock{now: time.Date(2026, 12, 3, 12, 0, 10, 0, time.UTC)}
	tokens := token.NewService(token.Config{Store: db, Now: c.Now})
	root, err := tokens.Bootstrap(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	actor, err := tokens.Authenticate(ctx, root.Reveal(), "127.0.0.1", "test")
	if err != nil {
		t.Fatal(err)
	}
	box, err := seal.New([32]byte{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := people.New(people.Config{Store: db, Tokens: tokens, Box: box, Pepper: testPepper, Argon2: cheap, Now: c.Now,
		RPID: rpID, RPOrigins: []string{origin}})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, dir: dir, db: db, tokens: tokens, svc: svc, clock: c, root: actor}
}

const alicePassword = "correct horse battery staple"

// testPepper keys the recovery-code digests of the fixture.
var testPepper = []byte("a test pepper of thirty-two bytes")

// user creates a user with a password.
func (f *fixture) user(id string, perms ...string) {
	f.t.Helper()
	ctx := context.Background()
	if _, err := f.tokens.CreatePrincipal(ctx, f.root, token.CreatePrincipalParams{Type: token.User, ID: id, Permissions: perms}); err != nil {
		f.t.Fatal(err)
	}
	if err := f.svc.SetPassword(ctx, f.root, id, alicePassword); err != nil {
		f.t.Fatal(err)
	}
}

// totp enrols and confirms TOTP for id and returns the seed and the codes.
func (f *fixture) totp(id string) (string, []string) {
	f.t.Helper()
	ctx := context.Background()
	e, err := f.svc.EnrollTOTP(ctx, f.root, id)
	if err != nil {
		f.t.Fatal(err)
	}
	codes, err := f.svc.ConfirmTOTP(ctx, f.root, id, f.code(e.Secret, 0))
	if err != nil {
		f.t.Fatal(err)
	}
	return e.Secret, codes
}

// code returns secret's code steps 30-second steps from now.
func (f *fixture) code(secret string, steps int) string {
	f.t.Helper()
	c, err := people.TOTPCodeAt(secret, f.clock.Now().Add(time.Duration(steps)*30*time.Second), otp.DigitsSix, otp.AlgorithmSHA1)
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func (f *fixture) signIn(user, password string) (*people.SignInResult, error) {
	return f.svc.SignIn(context.Background(), people.SignInRequest{Username: user, Password: password, IP: "192.0.2.1", UserAgent: "test"})
}

func code(err error) string {
	var e *token.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func TestPasswordSignIn(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.user("alice", "orders:read")
	if err := f.svc.SetPassword(ctx, f.root, "alice", "password1234"); code(err) != "weak_password" {
		t.Fatalf("weak password: %v, want weak_password", err)
	}
	res, err := f.signIn("alice", alicePassword)
	if err != nil || res.Session == nil || res.Cookie == "" {
		t.Fatalf("sign-in: %+v, %v", res, err)
	}
	sess, user, err := f.svc.Authenticate(ctx, res.Cookie)
	if err != nil || user.ID != "alice" || sess.ID != res.Session.ID {
		t.Fatalf("authenticate: %v %v %v", sess, user, err)
	}
	if len(sess.Factors) != 1 || sess.Factors[0].Method != people.MethodPassword {
		t.Fatalf("factors %+v, want pwd", sess.Factors)
	}
	if _, err := f.signIn("alice", alicePassword+"x"); code(err) != "invalid_credentials" {
		t.Fatalf("wrong password: %v", err)
	}
	if _, _, err := f.svc.Authenticate(ctx, res.Cookie+"x"); err == nil {
		t.Fatal("a changed cookie authenticated")
	}
}

// TestPasswordRehash: a hash with old parameters is replaced at sign-in.
func TestPasswordRehash(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.user("alice")
	old := people.HashPassword(alicePassword, people.Argon2Params{Memory: 512, Time: 1, Threads: 1})
	if _, err := f.db.UpdateCredentials(ctx, "alice", func(c *people.Credentials) error { c.PasswordHash = old; return nil }, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.signIn("alice", alicePassword); err != nil {
		t.Fatal(err)
	}
	c, err := f.db.Credentials(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if c.PasswordHash == old || !strings.Contains(c.PasswordHash, "m=1024,t=1,p=1") {
		t.Fatalf("hash %q was not upgraded", c.PasswordHash)
	}
}

// TestADM02_TOTPSingleUse: a code's time step is accepted once per user —
// also when submitted concurrently — and a variant spelling is no second
// chance.
func TestADM02_TOTPSingleUse(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.user("alice")
	secret, _ := f.totp("alice") // confirm used step 0
	pending := func() string {
		res, err := f.signIn("alice", alicePassword)
		if err != nil || res.Pending == nil {
			t.Fatalf("first factor: %+v %v", res, err)
		}
		return res.PendingCookie
	}
	req := people.SignInRequest{IP: "192.0.2.1"}
	if _, err := f.svc.SecondFactor(ctx, pending(), f.code(secret, 0), req); code(err) != "invalid_code" {
		t.Fatalf("the confirming code again: %v, want invalid_code", err)
	}
	f.clock.Add(30 * time.Second)
	c1 := f.code(secret, 0)
	if _, err := f.svc.SecondFactor(ctx, pending(), c1, req); err != nil {
		t.Fatalf("fresh code: %v", err)
	}
	wide := strings.Map(func(r rune) rune { return r - '0' + '０' }, c1)
	for _, variant := range []string{c1, " " + c1[:3] + " " + c1[3:], wide, "+" + c1} {
		if _, err := f.svc.SecondFactor(ctx, pending(), variant, req); code(err) != "invalid_code" {
			t.Fatalf("replay %q: %v, want invalid_code", variant, err)
		}
	}
	// Earlier steps are dead too once a later one was used.
	f.clock.Add(30 * time.Second)
	if _, err := f.svc.SecondFactor(ctx, pending(), f.code(secret, -1), req); code(err) != "invalid_code" {
		t.Fatalf("previous step after use: %v", err)
	}
	// 20 concurrent sign-ins with one fresh code: exactly one wins.
	f.clock.Add(30 * time.Second)
	c2 := f.code(secret, 0)
	cookies := make([]string, 20)
	for i := range cookies {
		cookies[i] = pending()
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for _, ck := range cookies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.svc.SecondFactor(ctx, ck, c2, req); err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d concurrent sign-ins with one code succeeded, want exactly 1", wins)
	}
}

func TestRecoveryCodes(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.user("alice")
	_, codes := f.totp("alice")
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes, want 10", len(codes))
	}
	res, err := f.signIn("alice", alicePassword)
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.svc.SecondFactor(ctx, res.PendingCookie, strings.ToUpper(codes[3]), people.SignInRequest{})
	if err != nil {
		t.Fatalf("recovery code: %v", err)
	}
	if m := got.Session.Factors[1].Method; m != people.MethodRecoveryCode {
		t.Fatalf("factor %q", m)
	}
	res, _ = f.signIn("alice", alicePassword)
	if _, err := f.svc.SecondFactor(ctx, res.PendingCookie, codes[3], people.SignInRequest{}); code(err) != "invalid_code" {
		t.Fatalf("a recovery code twice: %v", err)
	}
	fs, err := f.svc.Factors(ctx, f.root, "alice")
	if err != nil || fs.RecoveryCodesLeft != 9 || fs.TOTP != "active" {
		t.Fatalf("factors %+v %v", fs, err)
	}
	if err := f.svc.RemoveTOTP(ctx, f.root, "alice"); err != nil {
		t.Fatal(err)
	}
	if fs, _ = f.svc.Factors(ctx, f.root, "alice"); fs.RecoveryCodesLeft != 0 {
		t.Fatalf("recovery codes outlived the last second factor: %d", fs.RecoveryCodesLeft)
	}
	if res, err := f.signIn("alice", alicePassword); err != nil || res.Session == nil {
		t.Fatalf("sign-in without a second factor: %+v %v", res, err)
	}
}

// TestADM03_SharedLockout: failures under every spelling of a name count
// against one counter, and the lock holds even for the right password.
func TestADM03_SharedLockout(t *testing.T) {
	f := newFixture(t)
	f.user("admin")
	for i, name := range []string{"admin", "Admin", " admin", "admin\u200b", "ＡＤＭＩＮ"} {
		req := people.SignInRequest{Username: name, Password: "wrong password " + name, IP: "198.51.100." + string(rune('1'+i))}
		if _, err := f.svc.SignIn(context.Background(), req); code(err) != "invalid_credentials" {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	var te *people.ThrottledError
	_, err := f.svc.SignIn(context.Background(), people.SignInRequest{Username: "admin", Password: "still wrong", IP: "203.0.113.9"})
	if code(err) != "invalid_credentials" {
		t.Fatalf("sixth failure: %v", err)
	}
	_, err = f.signIn("admin", alicePassword)
	if !errors.As(err, &te) {
		t.Fatalf("right password during the lock: %v, want throttled", err)
	}
	f.clock.Add(te.RetryAfter + time.Second)
	if _, err := f.signIn("admin", alicePassword); err != nil {
		t.Fatalf("after the lock: %v", err)
	}
	evs, _, err := f.tokens.Audit(context.Background(), f.root, token.AuditFilter{Action: "signin.throttled"})
	if err != nil || len(evs) == 0 {
		t.Fatalf("no audited failure burst: %v", err)
	}
}

// TestADM04_SameAnswerSameWork: an unknown user, a wrong password, a user
// without a password and a disabled user get the same error after the same
// argon2id work (one computation each).
func TestADM04_SameAnswerSameWork(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.user("alice")
	f.user("dora")
	if _, err := f.tokens.CreatePrincipal(ctx, f.root, token.CreatePrincipalParams{Type: token.User, ID: "nopass"}); err != nil {
		t.Fatal(err)
	}
	yes := true
	if _, err := f.tokens.UpdatePrincipal(ctx, f.root, token.User, "dora", token.UpdatePrincipalParams{Disabled: &yes}); err != nil {
		t.Fatal(err)
	}
	var want string
	for _, c := range []struct{ user, pw string }{
		{"nobody", alicePassword}, {"alice", "wrong password!"}, {"nopass", alicePassword}, {"dora", alicePassword},
	} {
		before := f.svc.ArgonRuns()
		_, err := f.svc.SignIn(ctx, people.SignInRequest{Username: c.user, Password: c.pw, IP: "192.0.2." + string(rune('1'+len(c.user)))})
		if runs := f.svc.ArgonRuns() - before; runs != 1 {
			t.Errorf("%s: %d argon2id computations, want 1", c.user, runs)
		}
		if want == "" {
			want = err.Error()
		}
		if err == nil || err.Error() != want || code(err) != "invalid_credentials" {
			t.Errorf("%s: %v, want %q", c.user, err, want)
		}
	}
}

func TestSessionLifetimes(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.user("alice")
	res, _ := f.signIn("alice", alicePassword)
	// Idle: unused for 12 h → dead.
	f.clock.Add(12*time.Hour + time.Minute)
	if _, _, err := f.svc.Authenticate(ctx, res.Cookie); err == nil {
		t.Fatal("an idle session lived past 12 h")
	}
	// Absolute: used every hour, still dead after 7 days.
	res, _ = f.signIn("alice", alicePassword)
	for i := 0; i < 7*24-1; i++ {
		f.clock.Add(time.Hour)
		if _, _, err := f.svc.Authenticate(ctx, res.Cookie); err != nil {
			t.Fatalf("hour %d: %v", i+1, err)
		}
	}
	f.clock.Add(time.Hour)
	if _, _, err := f.svc.Authenticate(ctx, res.Cookie); err == nil {
		t.Fatal("a session lived past 7 days")
	}
}

// TestDisablingEndsSessions: a disabled user's sessions die at once.
func TestDisablingEndsSessions(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.user("alice")
	res, _ := f.signIn("alice", alicePassword)
	yes := true
	if _, err := f.tokens.UpdatePrincipal(ctx, f.root, token.User, "alice", token.UpdatePrincipalParams{Disabled: &yes}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.Authenticate(ctx, res.Cookie); err == nil {
		t.Fatal("a disabled user's session still authenticates")
	}
	if ss, _ := f.svc.Sessions(ctx, f.root, "alice"); len(ss) != 0 {
		t.Fatalf("%d sessions listed after disabling", len(ss))
	}
}

// TestNoSessionFixation: signing in ends the browser's previous session
// and always issues a new ID.
func TestNoSessionFixation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.user("alice")
	first, _ := f.signIn("alice", alicePassword)
	second, err := f.svc.SignIn(ctx, people.SignInRequest{Username: "alice", Password: alicePassword, Current: first.Cookie})
	if err != nil {
		t.Fatal(err)
	}
	if second.Session.ID == first.Session.ID || second.Cookie == first.Cookie {
		t.Fatal("the session ID was not renewed")
	}
	if _, _, err := f.svc.Authenticate(ctx, first.Cookie); err == nil {
		t.Fatal("the replaced session still authenticates")
	}
}

func TestEndSessions(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.user("alice")
	f.user("bob")
	a1, _ := f.signIn("alice", alicePassword)
	a2, _ := f.signIn("alice", alicePassword)
	b1, _ := f.signIn("bob", alicePassword)
	if err := f.svc.EndSession(ctx, f.root, "bob", a1.Session.ID); code(err) != "session_not_found" {
		t.Fatalf("ending alice's session as bob's: %v", err)
	}
	self := people.SessionActor(b1.Session, "", "")
	if err := f.svc.EndSession(ctx, self, "alice", a1.Session.ID); token.KindOf(err) != token.PermissionDenied {
		t.Fatalf("bob ending alice's session: %v", err)
	}
	if err := f.svc.EndSession(ctx, f.root, "alice", a1.Session.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.Authenticate(ctx, a1.Cookie); err == nil {
		t.Fatal("ended session authenticates")
	}
	if n, err := f.svc.EndSessions(ctx, f.root, "alice", ""); err != nil || n != 1 {
		t.Fatalf("end all: %d %v", n, err)
	}
	if _, _, err := f.svc.Authenticate(ctx, a2.Cookie); err == nil {
		t.Fatal("session survived end-all")
	}
	if err := f.svc.Logout(ctx, b1.Cookie, ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.Authenticate(ctx, b1.Cookie); err == nil {
		t.Fatal("session survived logout")
	}
}

// TestStepUpGuard: a dangerous operation needs a second factor from the
// last five minutes.
func TestStepUpGuard(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.user("alice")
	secret, _ := f.totp("alice")
	f.clock.Add(30 * time.Second)
	res, _ := f.signIn("alice", alicePassword)
	full, err := f.svc.SecondFactor(ctx, res.PendingCookie, f.code(secret, 0), people.SignInRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.RequireStepUp(full.Session); err != nil {
		t.Fatalf("fresh second factor: %v", err)
	}
	if a := f.svc.StepUpActor(full.Session, "", ""); !a.Session || !a.SteppedUp {
		t.Fatalf("StepUpActor after a fresh second factor: Session %v, SteppedUp %v", a.Session, a.SteppedUp)
	}
	f.clock.Add(5*time.Minute + time.Second)
	sess, _, err := f.svc.Authenticate(ctx, full.Cookie)
	if err != nil {
		t.Fatal(err)
	}
	if a := f.svc.StepUpActor(sess, "", ""); !a.Session || a.SteppedUp {
		t.Fatalf("StepUpActor six minutes later: Session %v, SteppedUp %v, want a session that has not stepped up", a.Session, a.SteppedUp)
	}
	if err := f.svc.RequireStepUp(sess); !errors.Is(err, people.ErrStepUpRequired) || code(err) != "step_up_required" {
		t.Fatalf("six minutes later: %v, want step_up_required", err)
	}
	if err := f.svc.StepUp(ctx, sess, "000000", "192.0.2.1", ""); code(err) != "invalid_code" {
		t.Fatalf("wrong step-up code: %v", err)
	}
	if err := f.svc.StepUp(ctx, sess, f.code(secret, 0), "192.0.2.1", ""); err != nil {
		t.Fatal(err)
	}
	sess, _, _ = f.svc.Authenticate(ctx, full.Cookie)
	if err := f.svc.RequireStepUp(sess); err != nil {
		t.Fatalf("after step-up (stored): %v", err)
	}
	pwOnly, _ := f.signIn("bob-does-not-exist", alicePassword)
	if pwOnly != nil {
		t.Fatal("unknown user signed in")
	}
}

// TestSelfService: a session acts on its own user only.
func TestSelfService(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.user("alice")
	f.user("bob")
	res, _ := f.signIn("alice", alicePassword)
	self := people.SessionActor(res.Session, "", "")
	if _, err := f.svc.EnrollTOTP(ctx, self, "alice"); err != nil {
		t.Fatalf("own TOTP: %v", err)
	}
	if _, err := f.svc.EnrollTOTP(ctx, self, "bob"); token.KindOf(err) != token.PermissionDenied {
		t.Fatalf("bob's TOTP: %v", err)
	}
	if err := f.svc.SetPassword(ctx, self, "bob", "another long passphrase"); token.KindOf(err) != token.PermissionDenied {
		t.Fatalf("bob's password: %v", err)
	}
}

// TestSecretsNeverStored extends KEY-01/AUD-02 to people: no password, TOTP
// seed, recovery code or session cookie appears in the database files or
// the audit log.
func TestSecretsNeverStored(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.user("alice")
	secret, codes := f.totp("alice")
	f.clock.Add(30 * time.Second)
	res, _ := f.signIn("alice", alicePassword)
	full, err := f.svc.SecondFactor(ctx, res.PendingCookie, f.code(secret, 0), people.SignInRequest{})
	if err != nil {
		t.Fatal(err)
	}
	f.signIn("alice", "a wrong password that is long") //nolint:errcheck
	secrets := append([]string{alicePassword, "a wrong password that is long", secret, full.Cookie, res.PendingCookie}, codes...)
	evs, _, err := f.tokens.Audit(ctx, f.root, token.AuditFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	var audit strings.Builder
	for _, ev := range evs {
		audit.WriteString(ev.Action + " " + ev.TargetID + " " + ev.ActorKeyID)
		for k, v := range ev.Detail {
			audit.WriteString(" " + k + "=" + v)
		}
	}
	f.db.Close()
	var dump []byte
	files, _ := filepath.Glob(filepath.Join(f.dir, "*"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		dump = append(dump, b...)
	}
	if len(dump) == 0 {
		t.Fatal("nothing to scan")
	}
	for _, s := range secrets {
		if strings.Contains(string(dump), s) || strings.Contains(strings.ToLower(string(dump)), strings.ToLower(s)) {
			t.Errorf("a secret (%d chars) is stored in the database", len(s))
		}
		if strings.Contains(audit.String(), s) {
			t.Errorf("a secret (%d chars) is in the audit log", len(s))
		}
	}
}

// TestDefaultArgon2Cost reports the cost of one default-parameter hash
// (the figure docs/benchmarks.md quotes comes from BenchmarkArgon2id).
func TestDefaultArgon2Cost(t *testing.T) {
	h := people.HashPassword(alicePassword, people.DefaultArgon2)
	if !strings.Contains(h, "m=19456,t=2,p=1") {
		t.Fatalf("default parameters %q are not OWASP's m=19456,t=2,p=1", h)
	}
}

// TestRecoveryCodesKeyedDigests: recovery codes are stored as HMACs under
// the pepper, not as plain SHA-256 digests that a copy of the database
// could be searched with offline (a code has about 49 bits).
func TestRecoveryCodesKeyedDigests(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.user("alice")
	_, codes := f.totp("alice")
	stored, err := f.db.UnusedRecoveryCodes(ctx, "alice")
	if err != nil || len(stored) != 10 {
		t.Fatalf("stored digests: %d, %v", len(stored), err)
	}
	for _, c := range codes {
		plain := sha256.Sum256([]byte(strings.ReplaceAll(c, "-", "")))
		for _, d := range stored {
			if bytes.Equal(d, plain[:]) {
				t.Fatal("a recovery code is stored as its plain SHA-256")
			}
		}
	}
	res, _ := f.signIn("alice", alicePassword)
	if _, err := f.svc.SecondFactor(ctx, res.PendingCookie, codes[0], people.SignInRequest{}); err != nil {
		t.Fatalf("a recovery code under the pepper: %v", err)
	}
}
