package people_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/people"
	"github.com/latchkey/latchkey/token"
)

const (
	testRPID   = "localhost"
	testOrigin = "http://localhost:8080"
)

// session signs id in with the password: a full session while the user
// has no second factor.
func (f *fixture) session(id string) *people.Session {
	f.t.Helper()
	res, err := f.signIn(id, alicePassword)
	if err != nil || res.Session == nil {
		f.t.Fatalf("password sign-in of %s: %+v %v", id, res, err)
	}
	return res.Session
}

// pendingSignIn signs id in with the password when a second factor is due
// and returns the pending cookie.
func (f *fixture) pendingSignIn(id string) string {
	f.t.Helper()
	res, err := f.signIn(id, alicePassword)
	if err != nil || res.Pending == nil || res.PendingCookie == "" {
		f.t.Fatalf("first factor of %s: %+v %v", id, res, err)
	}
	return res.PendingCookie
}

// register registers a's credential for sess's user.
func (f *fixture) register(a *softAuthn, sess *people.Session, name string) *people.Passkey {
	f.t.Helper()
	ctx := context.Background()
	c, err := f.svc.BeginPasskeyRegistration(ctx, sess)
	if err != nil {
		f.t.Fatal(err)
	}
	pk, err := f.svc.FinishPasskeyRegistration(ctx, sess, c.ChallengeID, name, a.create(c.Options, tweak{}), "req")
	if err != nil {
		f.t.Fatalf("registration: %v", err)
	}
	return pk
}

// passkeySignIn runs a discoverable sign-in with a, answering with tw.
func (f *fixture) passkeySignIn(a *softAuthn, tw tweak, ip string) (*people.SignInResult, error) {
	f.t.Helper()
	ctx := context.Background()
	c, err := f.svc.BeginPasskeySignIn(ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	return f.svc.FinishPasskeySignIn(ctx, c.ChallengeID, a.get(c.Options, tw), people.SignInRequest{IP: ip, UserAgent: "test"})
}

func methods(s *people.Session) string {
	var m []string
	for _, f := range s.Factors {
		m = append(m, f.Method)
	}
	return strings.Join(m, " ")
}

// TestADM05_Ceremonies: a passkey registers, signs in without a username
// (one ceremony, a full session), finishes a password sign-in as its
// second factor and steps a session up.
func TestADM05_Ceremonies(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.user("alice")
	sess := f.session("alice")
	a := newSoftAuthn(t, testRPID, testOrigin)

	c, err := f.svc.BeginPasskeyRegistration(ctx, sess)
	if err != nil {
		t.Fatal(err)
	}
	o := parseOptions(t, c.Options)
	if o.PublicKey.RP.ID != testRPID || o.PublicKey.AuthenticatorSelection.UserVerification != "required" ||
		o.PublicKey.AuthenticatorSelection.ResidentKey != "required" || len(unb64(t, o.PublicKey.Challenge)) < 16 {
		t.Fatalf("registration options %s", c.Options)
	}
	pk, err := f.svc.FinishPasskeyRegistration(ctx, sess, c.ChallengeID, "  laptop ", a.create(c.Options, tweak{}), "req")
	if err != nil {
		t.Fatalf("registration: %v", err)
	}
	if pk.Name != "laptop" || !bytes.Equal(pk.ID, a.credID) || people.PasskeyID(pk.ID) != b64(a.credID) || pk.UserID != "alice" {
		t.Fatalf("passkey %+v", pk)
	}
	// The next registration excludes it, and the same credential again is
	// a conflict.
	c, err = f.svc.BeginPasskeyRegistration(ctx, sess)
	if err != nil {
		t.Fatal(err)
	}
	if o := parseOptions(t, c.Options); len(o.PublicKey.ExcludeCredentials) != 1 || o.PublicKey.ExcludeCredentials[0].ID != b64(a.credID) {
		t.Fatalf("excludeCredentials of %s", c.Options)
	}
	if _, err := f.svc.FinishPasskeyRegistration(ctx, sess, c.ChallengeID, "again", a.create(c.Options, tweak{}), "req"); code(err) != "passkey_exists" {
		t.Fatalf("the same credential again: %v, want passkey_exists", err)
	}

	// Discoverable sign-in: the passkey alone, no username.
	c, err = f.svc.BeginPasskeySignIn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if o := parseOptions(t, c.Options); o.PublicKey.RPID != testRPID || o.PublicKey.UserVerification != "required" || len(o.PublicKey.AllowCredentials) != 0 {
		t.Fatalf("sign-in options %s", c.Options)
	}
	res, err := f.svc.FinishPasskeySignIn(ctx, c.ChallengeID, a.get(c.Options, tweak{}), people.SignInRequest{IP: "192.0.2.1", UserAgent: "test"})
	if err != nil || res.Session == nil || res.Cookie == "" {
		t.Fatalf("passkey sign-in: %+v %v", res, err)
	}
	got, user, err := f.svc.Authenticate(ctx, res.Cookie)
	if err != nil || user.ID != "alice" || methods(got) != people.MethodPasskey {
		t.Fatalf("passkey session: %+v %v %v", got, user, err)
	}

	// After a password, the passkey is the second factor.
	pending := f.pendingSignIn("alice")
	if _, _, pkOn, err := f.svc.PendingSignIn(ctx, pending); err != nil || !pkOn {
		t.Fatalf("pending sign-in offers a passkey: %v %v", pkOn, err)
	}
	c, err = f.svc.BeginPasskeySecondFactor(ctx, pending)
	if err != nil {
		t.Fatal(err)
	}
	if o := parseOptions(t, c.Options); len(o.PublicKey.AllowCredentials) != 1 || o.PublicKey.AllowCredentials[0].ID != b64(a.credID) {
		t.Fatalf("second-factor options %s", c.Options)
	}
	res, err = f.svc.FinishPasskeySecondFactor(ctx, pending, c.ChallengeID, a.get(c.Options, tweak{}), people.SignInRequest{IP: "192.0.2.1"})
	if err != nil || res.Session == nil {
		t.Fatalf("second factor: %+v %v", res, err)
	}
	if m := methods(res.Session); m != people.MethodPassword+" "+people.MethodPasskey {
		t.Fatalf("factors %q", m)
	}
	if _, err := f.svc.BeginPasskeySecondFactor(ctx, pending); code(err) != "signin_expired" {
		t.Fatalf("the pending sign-in after its second factor: %v", err)
	}

	// Step-up: stale after the window, fresh after a passkey ceremony, and
	// stored with the session.
	f.clock.Add(people.StepUpWindow + time.Minute)
	sess, _, err = f.svc.Authenticate(ctx, res.Cookie)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.RequireStepUp(sess); !errors.Is(err, people.ErrStepUpRequired) {
		t.Fatalf("stale session: %v", err)
	}
	c, err = f.svc.BeginPasskeyStepUp(ctx, sess)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.FinishPasskeyStepUp(ctx, sess, c.ChallengeID, a.get(c.Options, tweak{}), "req"); err != nil {
		t.Fatalf("step-up: %v", err)
	}
	if err := f.svc.RequireStepUp(sess); err != nil {
		t.Fatalf("after step-up: %v", err)
	}
	sess, _, err = f.svc.Authenticate(ctx, res.Cookie)
	if err != nil || f.svc.RequireStepUp(sess) != nil {
		t.Fatalf("the step-up was not stored: %+v %v", sess, err)
	}

	// Each assertion stored its counter and the time of use.
	stored, err := f.db.Passkey(ctx, a.credID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(stored.Credential, []byte(`"signCount":3`)) || !stored.LastUsedAt.Equal(f.clock.Now()) {
		t.Fatalf("stored passkey after 3 assertions: last used %v, %s", stored.LastUsedAt, stored.Credential)
	}
}

// TestADM05_ReusedChallenge: a ceremony finishes once — the same answer
// again is refused, also when twenty arrive at once.
func TestADM05_ReusedChallenge(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.user("alice")
	sess := f.session("alice")
	a := newSoftAuthn(t, testRPID, testOrigin)

	c, err := f.svc.BeginPasskeyRegistration(ctx, sess)
	if err != nil {
		t.Fatal(err)
	}
	body := a.create(c.Options, tweak{})
	if _, err := f.svc.FinishPasskeyRegistration(ctx, sess, c.ChallengeID, "one", body, "req"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.FinishPasskeyRegistration(ctx, sess, c.ChallengeID, "two", body, "req"); code(err) != "passkey_refused" {
		t.Fatalf("registration replayed: %v, want passkey_refused", err)
	}

	c, err = f.svc.BeginPasskeySignIn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	body = a.get(c.Options, tweak{})
	req := people.SignInRequest{IP: "192.0.2.1"}
	if _, err := f.svc.FinishPasskeySignIn(ctx, c.ChallengeID, body, req); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.FinishPasskeySignIn(ctx, c.ChallengeID, body, req); code(err) != "passkey_refused" {
		t.Fatalf("sign-in replayed: %v, want passkey_refused", err)
	}
	// The answer to one challenge does not finish another.
	c2, err := f.svc.BeginPasskeySignIn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.FinishPasskeySignIn(ctx, c2.ChallengeID, body, req); code(err) != "passkey_refused" {
		t.Fatalf("an old answer to a new challenge: %v, want passkey_refused", err)
	}

	// Twenty at once: exactly one session.
	c, err = f.svc.BeginPasskeySignIn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	body = a.get(c.Options, tweak{})
	const n = 20
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make([]error, n)
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = f.svc.FinishPasskeySignIn(ctx, c.ChallengeID, body, people.SignInRequest{IP: fmt.Sprintf("192.0.2.%d", 10+i)})
		}()
	}
	close(start)
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case code(err) != "passkey_refused":
			t.Errorf("concurrent finish: %v, want passkey_refused", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d of %d concurrent finishes of one challenge succeeded, want 1", ok, n)
	}
}

// TestADM05_ExpiredChallenge: a ceremony finishes within ChallengeTimeout
// of its start, by the service's clock, and not after.
func TestADM05_ExpiredChallenge(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.user("alice")
	sess := f.session("alice")
	a := newSoftAuthn(t, testRPID, testOrigin)

	c, err := f.svc.BeginPasskeyRegistration(ctx, sess)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Add(people.ChallengeTimeout + time.Second)
	if _, err := f.svc.FinishPasskeyRegistration(ctx, sess, c.ChallengeID, "", a.create(c.Options, tweak{}), "req"); code(err) != "passkey_refused" {
		t.Fatalf("expired registration: %v, want passkey_refused", err)
	}
	c, err = f.svc.BeginPasskeyRegistration(ctx, sess)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Add(people.ChallengeTimeout - time.Second)
	if _, err := f.svc.FinishPasskeyRegistration(ctx, sess, c.ChallengeID, "", a.create(c.Options, tweak{}), "req"); err != nil {
		t.Fatalf("registration just in time: %v", err)
	}

	for _, late := range []bool{true, false} {
		c, err := f.svc.BeginPasskeySignIn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		d := people.ChallengeTimeout - time.Second
		if late {
			d = people.ChallengeTimeout + time.Second
		}
		f.clock.Add(d)
		_, err = f.svc.FinishPasskeySignIn(ctx, c.ChallengeID, a.get(c.Options, tweak{}), people.SignInRequest{IP: "192.0.2.1"})
		if late && code(err) != "passkey_refused" {
			t.Fatalf("expired sign-in: %v, want passkey_refused", err)
		}
		if !late && err != nil {
			t.Fatalf("sign-in just in time: %v", err)
		}
	}
}

// badAnswers are the answers every ceremony refuses (ADM-05).
var badAnswers = []struct {
	name string
	tw   tweak
}{
	{"origin mismatch", tweak{origin: "http://evil.example"}},
	{"origin of another port", tweak{origin: "http://localhost:8081"}},
	{"rpIdHash mismatch", tweak{rpID: "evil.example"}},
	{"crossOrigin", tweak{crossOrigin: true}},
	{"UV missing", tweak{flags: flagUP}},
	{"UP missing", tweak{flags: flagUV}},
	{"another challenge", tweak{challenge: bytes.Repeat([]byte{7}, 32)}},
}

// TestADM05_BadRegistration: a registration answer with the wrong origin,
// RP ID hash, ceremony type, cross-origin or without user verification is
// refused and stores nothing; the honest answer to a fresh ceremony then
// registers.
func TestADM05_BadRegistration(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.user("alice")
	sess := f.session("alice")
	a := newSoftAuthn(t, testRPID, testOrigin)
	cases := append(badAnswers[:len(badAnswers):len(badAnswers)], struct {
		name string
		tw   tweak
	}{"type webauthn.get", tweak{typ: "webauthn.get"}})
	for _, tc := range cases {
		c, err := f.svc.BeginPasskeyRegistration(ctx, sess)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.FinishPasskeyRegistration(ctx, sess, c.ChallengeID, "", a.create(c.Options, tc.tw), "req"); code(err) != "passkey_refused" {
			t.Errorf("registration with %s: %v, want passkey_refused", tc.name, err)
		}
	}
	if pks, err := f.db.Passkeys(ctx, "alice"); err != nil || len(pks) != 0 {
		t.Fatalf("refused registrations stored %d passkeys (%v)", len(pks), err)
	}
	f.register(a, sess, "")
}

// TestADM05_BadAssertion: the same answers are refused by a passkey
// sign-in, second factor and step-up; the honest answer then succeeds.
func TestADM05_BadAssertion(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.user("alice")
	sess := f.session("alice")
	a := newSoftAuthn(t, testRPID, testOrigin)
	f.register(a, sess, "")
	cases := append(badAnswers[:len(badAnswers):len(badAnswers)], struct {
		name string
		tw   tweak
	}{"type webauthn.create", tweak{typ: "webauthn.create"}})
	for i, tc := range cases {
		ip := fmt.Sprintf("192.0.2.%d", 10+i)
		if res, err := f.passkeySignIn(a, tc.tw, ip); code(err) != "passkey_refused" {
			t.Errorf("sign-in with %s: %+v %v, want passkey_refused", tc.name, res, err)
		}

		pending := f.pendingSignIn("alice")
		c, err := f.svc.BeginPasskeySecondFactor(ctx, pending)
		if err != nil {
			t.Fatal(err)
		}
		if res, err := f.svc.FinishPasskeySecondFactor(ctx, pending, c.ChallengeID, a.get(c.Options, tc.tw), people.SignInRequest{IP: ip}); code(err) != "passkey_refused" {
			t.Errorf("second factor with %s: %+v %v, want passkey_refused", tc.name, res, err)
		}

		c, err = f.svc.BeginPasskeyStepUp(ctx, sess)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.svc.FinishPasskeyStepUp(ctx, sess, c.ChallengeID, a.get(c.Options, tc.tw), "req"); code(err) != "passkey_refused" {
			t.Errorf("step-up with %s: %v, want passkey_refused", tc.name, err)
		}
	}
	if len(sess.Factors) != 1 {
		t.Fatalf("refused step-ups added factors: %q", methods(sess))
	}
	if _, err := f.passkeySignIn(a, tweak{}, "192.0.2.99"); err != nil {
		t.Fatalf("honest sign-in after the refusals: %v", err)
	}
}

// TestADM05_SignCountRegression: an assertion whose counter does not go
// up is refused and audited as a possible clone; the stored counter stays.
func TestADM05_SignCountRegression(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.user("alice")
	a := newSoftAuthn(t, testRPID, testOrigin)
	f.register(a, f.session("alice"), "")

	a.counter = 4
	if _, err := f.passkeySignIn(a, tweak{}, "192.0.2.1"); err != nil {
		t.Fatalf("counter 5: %v", err)
	}
	for _, next := range []uint32{5, 3} {
		a.counter = next - 1
		if res, err := f.passkeySignIn(a, tweak{}, "192.0.2.1"); code(err) != "passkey_refused" {
			t.Fatalf("counter %d after 5: %+v %v, want passkey_refused", next, res, err)
		}
	}
	evs, _, err := f.tokens.Audit(ctx, f.root, token.AuditFilter{Action: "user.passkey.clone_warning"})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].TargetID != "alice" || evs[0].Outcome != token.OutcomeDenied || evs[0].Detail["passkey"] != b64(a.credID) {
		t.Fatalf("clone warnings %+v, want 2 for alice's passkey", evs)
	}
	// The regression did not lower the stored counter: 5 is still refused
	// by the second factor, 6 is accepted.
	pending := f.pendingSignIn("alice")
	c, err := f.svc.BeginPasskeySecondFactor(ctx, pending)
	if err != nil {
		t.Fatal(err)
	}
	a.counter = 4
	if _, err := f.svc.FinishPasskeySecondFactor(ctx, pending, c.ChallengeID, a.get(c.Options, tweak{}), people.SignInRequest{IP: "192.0.2.1"}); code(err) != "passkey_refused" {
		t.Fatalf("second factor with counter 5: %v", err)
	}
	if _, err := f.passkeySignIn(a, tweak{}, "192.0.2.1"); err != nil {
		t.Fatalf("counter 6: %v", err)
	}
}

// TestADM05_ChallengeBoundToKindAndUser: a ceremony's challenge finishes
// only the ceremony it was started for, for the user it was started for.
func TestADM05_ChallengeBoundToKindAndUser(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.user("alice")
	f.user("bob")
	aliceSess, bobSess := f.session("alice"), f.session("bob")
	alice, bob := newSoftAuthn(t, testRPID, testOrigin), newSoftAuthn(t, testRPID, testOrigin)
	f.register(alice, aliceSess, "")
	f.register(bob, bobSess, "")
	req := people.SignInRequest{IP: "192.0.2.1"}

	// A registration challenge does not sign in.
	c, err := f.svc.BeginPasskeyRegistration(ctx, aliceSess)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := f.svc.FinishPasskeySignIn(ctx, c.ChallengeID, alice.get(c.Options, tweak{}), req); code(err) != "passkey_refused" {
		t.Fatalf("a registration challenge signed in: %+v %v", res, err)
	}
	// A sign-in challenge does not register.
	c, err = f.svc.BeginPasskeySignIn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	other := newSoftAuthn(t, testRPID, testOrigin)
	if _, err := f.svc.FinishPasskeyRegistration(ctx, aliceSess, c.ChallengeID, "", other.create(c.Options, tweak{}), "req"); code(err) != "passkey_refused" {
		t.Fatalf("a sign-in challenge registered: %v", err)
	}
	// Alice's registration challenge does not register for bob.
	c, err = f.svc.BeginPasskeyRegistration(ctx, aliceSess)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.FinishPasskeyRegistration(ctx, bobSess, c.ChallengeID, "", other.create(c.Options, tweak{}), "req"); code(err) != "passkey_refused" {
		t.Fatalf("alice's registration challenge registered for bob: %v", err)
	}
	// A step-up challenge is no second factor, and a second-factor
	// challenge no step-up.
	alicePending := f.pendingSignIn("alice")
	c, err = f.svc.BeginPasskeyStepUp(ctx, aliceSess)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := f.svc.FinishPasskeySecondFactor(ctx, alicePending, c.ChallengeID, alice.get(c.Options, tweak{}), req); code(err) != "passkey_refused" {
		t.Fatalf("a step-up challenge finished a sign-in: %+v %v", res, err)
	}
	c, err = f.svc.BeginPasskeySecondFactor(ctx, alicePending)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.FinishPasskeyStepUp(ctx, aliceSess, c.ChallengeID, alice.get(c.Options, tweak{}), "req"); code(err) != "passkey_refused" {
		t.Fatalf("a second-factor challenge stepped up: %v", err)
	}
	// Alice's second-factor challenge, finished with bob's pending cookie:
	// neither with alice's passkey nor with bob's.
	bobPending := f.pendingSignIn("bob")
	for _, auth := range []*softAuthn{alice, bob} {
		c, err = f.svc.BeginPasskeySecondFactor(ctx, alicePending)
		if err != nil {
			t.Fatal(err)
		}
		if res, err := f.svc.FinishPasskeySecondFactor(ctx, bobPending, c.ChallengeID, auth.get(c.Options, tweak{}), req); code(err) != "passkey_refused" {
			t.Fatalf("alice's challenge finished bob's sign-in: %+v %v", res, err)
		}
	}
	// Bob's passkey does not answer alice's own ceremonies.
	c, err = f.svc.BeginPasskeySecondFactor(ctx, alicePending)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := f.svc.FinishPasskeySecondFactor(ctx, alicePending, c.ChallengeID, bob.get(c.Options, tweak{}), req); code(err) != "passkey_refused" {
		t.Fatalf("bob's passkey finished alice's sign-in: %+v %v", res, err)
	}
	c, err = f.svc.BeginPasskeyStepUp(ctx, aliceSess)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.FinishPasskeyStepUp(ctx, aliceSess, c.ChallengeID, bob.get(c.Options, tweak{}), "req"); code(err) != "passkey_refused" {
		t.Fatalf("bob's passkey stepped alice up: %v", err)
	}
	// Bob's passkey presenting alice's user handle is no sign-in as alice.
	bob.userHandle = alice.userHandle
	if res, err := f.passkeySignIn(bob, tweak{}, "192.0.2.1"); code(err) != "passkey_refused" {
		t.Fatalf("bob's passkey with alice's handle: %+v %v", res, err)
	}
	// Control: the right pairs still work.
	c, err = f.svc.BeginPasskeySecondFactor(ctx, alicePending)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := f.svc.FinishPasskeySecondFactor(ctx, alicePending, c.ChallengeID, alice.get(c.Options, tweak{}), req); err != nil || res.Session.UserID != "alice" {
		t.Fatalf("alice's own second factor: %+v %v", res, err)
	}
}

// TestADM05_PasskeyNames: names are trimmed, defaulted and bounded, an
// invalid name does not use up the ceremony, and nobody renames or
// deletes another user's passkey.
func TestADM05_PasskeyNames(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.user("alice")
	f.user("bob")
	aliceSess, bobSess := f.session("alice"), f.session("bob")
	alice, bob := newSoftAuthn(t, testRPID, testOrigin), newSoftAuthn(t, testRPID, testOrigin)

	c, err := f.svc.BeginPasskeyRegistration(ctx, aliceSess)
	if err != nil {
		t.Fatal(err)
	}
	body := alice.create(c.Options, tweak{})
	for _, bad := range []string{strings.Repeat("x", 65), "lap\ntop", "lap\x7ftop", "\xff"} {
		if _, err := f.svc.FinishPasskeyRegistration(ctx, aliceSess, c.ChallengeID, bad, body, "req"); code(err) != "invalid_name" {
			t.Fatalf("name %q: %v, want invalid_name", bad, err)
		}
	}
	pk, err := f.svc.FinishPasskeyRegistration(ctx, aliceSess, c.ChallengeID, "   ", body, "req")
	if err != nil || pk.Name != "passkey" {
		t.Fatalf("blank name: %+v %v, want passkey", pk, err)
	}
	bobPK := f.register(bob, bobSess, strings.Repeat("é", 64))
	if bobPK.Name != strings.Repeat("é", 64) {
		t.Fatalf("64-rune name %q", bobPK.Name)
	}
	aliceID, bobID := people.PasskeyID(pk.ID), people.PasskeyID(bobPK.ID)
	self := people.SessionActor(aliceSess, "req", "192.0.2.1")

	if err := f.svc.RenamePasskey(ctx, self, "alice", aliceID, "phone"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.RenamePasskey(ctx, self, "alice", aliceID, "\tphone\x00"); code(err) != "invalid_name" {
		t.Fatalf("rename to a control character: %v", err)
	}
	for _, who := range []*token.Actor{self, f.root} {
		if err := f.svc.RenamePasskey(ctx, who, "alice", bobID, "mine"); code(err) != "passkey_not_found" {
			t.Fatalf("%s renames bob's passkey as alice's: %v, want passkey_not_found", who.KeyID, err)
		}
		if err := f.svc.DeletePasskey(ctx, who, "alice", bobID); code(err) != "passkey_not_found" {
			t.Fatalf("%s deletes bob's passkey as alice's: %v, want passkey_not_found", who.KeyID, err)
		}
		for _, id := range []string{"not base64!", "", b64([]byte("no such passkey"))} {
			if err := f.svc.RenamePasskey(ctx, who, "alice", id, "x"); code(err) != "passkey_not_found" {
				t.Fatalf("rename %q: %v, want passkey_not_found", id, err)
			}
			if err := f.svc.DeletePasskey(ctx, who, "alice", id); code(err) != "passkey_not_found" {
				t.Fatalf("delete %q: %v, want passkey_not_found", id, err)
			}
		}
	}
	// Alice's session is not bob's.
	if err := f.svc.RenamePasskey(ctx, self, "bob", bobID, "mine"); err == nil || code(err) == "" {
		t.Fatalf("alice renamed bob's passkey through bob: %v", err)
	}
	if err := f.svc.DeletePasskey(ctx, self, "bob", bobID); err == nil {
		t.Fatal("alice deleted bob's passkey through bob")
	}
	if pks, err := f.db.Passkeys(ctx, "bob"); err != nil || len(pks) != 1 || pks[0].Name != strings.Repeat("é", 64) {
		t.Fatalf("bob's passkeys changed: %+v %v", pks, err)
	}
	if pks, err := f.db.Passkeys(ctx, "alice"); err != nil || len(pks) != 1 || pks[0].Name != "phone" {
		t.Fatalf("alice's passkeys: %+v %v", pks, err)
	}
	// Deleted, it signs in no more.
	if err := f.svc.DeletePasskey(ctx, self, "alice", aliceID); err != nil {
		t.Fatal(err)
	}
	if res, err := f.passkeySignIn(alice, tweak{}, "192.0.2.1"); code(err) != "passkey_refused" {
		t.Fatalf("a deleted passkey signed in: %+v %v", res, err)
	}
}
