package people_test

import (
	"context"
	"errors"
	"github.com/latchkey/latchkey/token"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/people"
)

// TestStepUpNotBypassedByAddingAFactor: a session whose second factor is
// older than the step-up window cannot add an authenticator of its own to
// a user who already has a second factor — else whoever holds a stale
// session (a laptop left open) registers a passkey or a TOTP seed, steps
// up with it and removes the user's factors: no step-up guard would hold.
// A user without a second factor still adds the first one freely.
func TestStepUpNotBypassedByAddingAFactor(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()

	// alice has TOTP; her session's TOTP is six minutes old.
	f.user("alice")
	secret, _ := f.totp("alice")
	f.clock.Add(30 * time.Second)
	res, _ := f.signIn("alice", alicePassword)
	full, err := f.svc.SecondFactor(ctx, res.PendingCookie, f.code(secret, 0), people.SignInRequest{})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Add(6 * time.Minute)
	stale, _, err := f.svc.Authenticate(ctx, full.Cookie)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.BeginPasskeyRegistration(ctx, stale); code(err) != "step_up_required" {
		t.Fatalf("a stale session registers a passkey for a TOTP user: %v, want step_up_required", err)
	}
	if err := f.svc.StepUp(ctx, stale, f.code(secret, 0), "192.0.2.1", ""); err != nil {
		t.Fatal(err)
	}
	a := newSoftAuthn(t, testRPID, testOrigin)
	f.register(a, stale, "after step-up")

	// bob has only a passkey; his passkey sign-in is six minutes old.
	f.user("bob")
	b := newSoftAuthn(t, testRPID, testOrigin)
	f.register(b, f.session("bob"), "first passkey, no step-up needed")
	pres, err := f.passkeySignIn(b, tweak{}, "192.0.2.2")
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Add(6 * time.Minute)
	bobStale, _, err := f.svc.Authenticate(ctx, pres.Cookie)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.EnrollTOTP(ctx, people.SessionActor(bobStale, "", ""), "bob"); code(err) != "step_up_required" {
		t.Fatalf("a stale session enrols TOTP for a passkey user: %v, want step_up_required", err)
	}
	// An administrator's key is no session: no step-up applies.
	if _, err := f.svc.EnrollTOTP(ctx, f.root, "bob"); err != nil {
		t.Fatalf("admin enrols bob's TOTP: %v", err)
	}

	// carol has no second factor: her first TOTP needs no step-up, only a
	// recent sign-in.
	f.user("carol")
	if _, err := f.svc.EnrollTOTP(ctx, people.SessionActor(f.session("carol"), "", ""), "carol"); err != nil {
		t.Fatalf("first TOTP: %v", err)
	}
}

// TestFirstFactorNeedsRecentSignIn: a first second factor outlives a
// password change (a passkey signs in on its own), so a session left open
// for more than the step-up window cannot add one: the user signs in again.
func TestFirstFactorNeedsRecentSignIn(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.user("dave")
	stale := f.session("dave")
	f.clock.Add(6 * time.Minute)
	if _, err := f.svc.BeginPasskeyRegistration(ctx, stale); code(err) != "reauthentication_required" {
		t.Fatalf("a stale password-only session registers a first passkey: %v", err)
	}
	if _, err := f.svc.EnrollTOTP(ctx, people.SessionActor(stale, "", ""), "dave"); code(err) != "reauthentication_required" {
		t.Fatalf("a stale password-only session enrols a first TOTP: %v", err)
	}
	fresh := f.session("dave")
	if _, err := f.svc.BeginPasskeyRegistration(ctx, fresh); err != nil {
		t.Fatalf("a fresh session: %v", err)
	}
}

// TestADM03_TOTPConfirmThrottled: confirming a pending TOTP seed through a
// session counts wrong codes like a sign-in and stops at the lock: else a
// stale session guesses the code of a seed an administrator provisioned
// (a million codes, three valid at a time), confirms it and receives the
// user's new recovery codes.
func TestADM03_TOTPConfirmThrottled(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.user("alice")
	sess := f.session("alice")
	e, err := f.svc.EnrollTOTP(ctx, f.root, "alice") // provisioned by an administrator
	if err != nil {
		t.Fatal(err)
	}
	self := people.SessionActor(sess, "", "192.0.2.9")
	right := f.code(e.Secret, 0)
	wrong := "000000"
	if wrong == right {
		wrong = "111111"
	}
	var throttled error
	for i := 0; i < 20 && throttled == nil; i++ {
		_, err := f.svc.ConfirmTOTP(ctx, self, "alice", wrong)
		var te *people.ThrottledError
		if errors.As(err, &te) {
			throttled = err
		} else if code(err) != "invalid_code" {
			t.Fatalf("wrong code %d: %v", i, err)
		}
	}
	if throttled == nil {
		t.Fatal("20 wrong TOTP confirmations through a session, none throttled")
	}
	if _, err := f.svc.ConfirmTOTP(ctx, self, "alice", right); !errors.As(err, new(*people.ThrottledError)) {
		t.Fatalf("the right code while locked: %v, want throttled", err)
	}
}

// TestSignInInputsBounded: what an attacker types is stored bounded — a
// 60 KiB username of a failed sign-in is not written whole into the
// throttle table and the audit log, nor a huge User-Agent into a pending
// sign-in.
func TestSignInInputsBounded(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	long := strings.Repeat("a", 60<<10)
	if _, err := f.svc.SignIn(ctx, people.SignInRequest{Username: long, Password: "x", IP: "192.0.2.1"}); err == nil {
		t.Fatal("signed in")
	}
	evs, _, err := f.tokens.Audit(ctx, f.root, token.AuditFilter{Action: "signin.failed"})
	if err != nil || len(evs) != 1 {
		t.Fatalf("audit: %d %v", len(evs), err)
	}
	if n := len(evs[0].TargetID); n > 256 {
		t.Errorf("the failed sign-in's audit record holds a %d-byte username", n)
	}
	if th, err := f.db.Throttle(ctx, "user:"+long); err == nil && th.Failures > 0 {
		t.Errorf("a %d-byte throttle key was stored", len(long)+5)
	}

	f.user("alice")
	f.totp("alice")
	res, err := f.svc.SignIn(ctx, people.SignInRequest{Username: "alice", Password: alicePassword, IP: "192.0.2.1", UserAgent: long})
	if err != nil || res.Pending == nil {
		t.Fatalf("first factor: %+v %v", res, err)
	}
	p, _, _, err := f.svc.PendingSignIn(ctx, res.PendingCookie)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.UserAgent) > 256 {
		t.Errorf("the pending sign-in stored a %d-byte User-Agent", len(p.UserAgent))
	}
}
