package people_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

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

// stepUp steps sess up with a's passkey: adding another passkey to a user
// who has one needs a fresh second factor.
func (f *fixture) stepUp(a *softAuthn, sess *people.Session) {
	f.t.Helper()
	ctx := context.Background()
	c, err := f.svc.BeginPasskeyStepUp(ctx, sess)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.svc.FinishPasskeyStepUp(ctx, sess, c.ChallengeID, a.get(c.Options, tweak{}), "req"); err != nil {
		f.t.Fatalf("step-up: %v", err)
	}
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
	// The next registration (after a step-up: the user has a second
	// factor now) excludes it, and the same credential again is a
	// conflict.
	f.stepUp(a, sess)
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
	if !bytes.Contains(stored.Credential, []byte(`"signCount":4`)) || !stored.LastUsedAt.Equal(f.clock.Now()) {
		t.Fatalf("stored passkey after 4 assertions: last used %v, %s", stored.LastUsedAt, stored.Credential)
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

	// Twenty at once: exactly one session, exactly one passkey.
	c, err = f.svc.BeginPasskeySignIn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	body = a.get(c.Options, tweak{})
	concurrently(t, "sign-in", func(i int) error {
		_, err := f.svc.FinishPasskeySignIn(ctx, c.ChallengeID, body, people.SignInRequest{IP: fmt.Sprintf("192.0.2.%d", 10+i)})
		return err
	})
	b := newSoftAuthn(t, testRPID, testOrigin)
	f.stepUp(a, sess)
	c, err = f.svc.BeginPasskeyRegistration(ctx, sess)
	if err != nil {
		t.Fatal(err)
	}
	body = b.create(c.Options, tweak{})
	concurrently(t, "registration", func(i int) error {
		_, err := f.svc.FinishPasskeyRegistration(ctx, sess, c.ChallengeID, fmt.Sprint("key ", i), body, "req")
		return err
	})
	if pks, err := f.db.Passkeys(ctx, "alice"); err != nil || len(pks) != 2 {
		t.Fatalf("alice has %d passkeys (%v), want 2", len(pks), err)
	}
}

// concurrently runs finish 20 times at once and wants exactly one nil
// and passkey_refused for the rest.
func concurrently(t *testing.T, what string, finish func(i int) error) {
	t.Helper()
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
			errs[i] = finish(i)
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
			t.Errorf("concurrent %s: %v, want passkey_refused", what, err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d of %d concurrent %s finishes of one challenge succeeded, want 1", ok, n, what)
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
	sess = f.session("alice") // a first passkey needs a recent sign-in
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
	f.stepUp(alice, aliceSess)

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
	// A disabled user's passkey signs in no more, nor a deleted passkey.
	yes, no := true, false
	if _, err := f.tokens.UpdatePrincipal(ctx, f.root, token.User, "bob", token.UpdatePrincipalParams{Disabled: &yes}); err != nil {
		t.Fatal(err)
	}
	if res, err := f.passkeySignIn(bob, tweak{}, "192.0.2.1"); code(err) != "passkey_refused" {
		t.Fatalf("a disabled user's passkey signed in: %+v %v", res, err)
	}
	if _, err := f.tokens.UpdatePrincipal(ctx, f.root, token.User, "bob", token.UpdatePrincipalParams{Disabled: &no}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.passkeySignIn(bob, tweak{}, "192.0.2.1"); err != nil {
		t.Fatalf("bob enabled again: %v", err)
	}
	// Deleted, it signs in no more.
	if err := f.svc.DeletePasskey(ctx, self, "alice", aliceID); err != nil {
		t.Fatal(err)
	}
	if res, err := f.passkeySignIn(alice, tweak{}, "192.0.2.1"); code(err) != "passkey_refused" {
		t.Fatalf("a deleted passkey signed in: %+v %v", res, err)
	}
}

// W3C WebAuthn L3 §16 test vectors (RP ID example.org, origin
// https://example.org), as go-webauthn's
// protocol/specification_vectors_e2e_test.go carries them: hex.
var (
	// §16.2 None Attestation — ES256. Flags UP|BE|BS (0x59, 0x19): no UV.
	w3cNone = w3cVector{
		attestationObject: "a363666d74646e6f6e656761747453746d74a068617574684461746158a4bfabc37432958b063360d3ad6461c9c4735ae7f8edd46592a5e0f01452b2e4b559000000008446ccb9ab1db374750b2367ff6f3a1f0020f91f391db4c9b2fde0ea70189cba3fb63f579ba6122b33ad94ff3ec330084be4a5010203262001215820afefa16f97ca9b2d23eb86ccb64098d20db90856062eb249c33a9b672f26df61225820930a56b87a2fca66334b03458abf879717c12cc68ed73290af2e2664796b9220",
		createClientData:  "7b2274797065223a22776562617574686e2e637265617465222c226368616c6c656e6765223a22414d4d507434557878475453746e63647134313759447742466938767049612d7077386f4f755657345441222c226f726967696e223a2268747470733a2f2f6578616d706c652e6f7267222c2263726f73734f726967696e223a66616c73652c22657874726144617461223a22636c69656e74446174614a534f4e206d617920626520657874656e6465642077697468206164646974696f6e616c206669656c647320696e20746865206675747572652c207375636820617320746869733a20426b5165446a646354427258426941774a544c453551227d",
		createChallenge:   "00c30fb78531c464d2b6771dab8d7b603c01162f2fa486bea70f283ae556e130",
		credentialID:      "f91f391db4c9b2fde0ea70189cba3fb63f579ba6122b33ad94ff3ec330084be4",
		publicKey:         "a5010203262001215820afefa16f97ca9b2d23eb86ccb64098d20db90856062eb249c33a9b672f26df61225820930a56b87a2fca66334b03458abf879717c12cc68ed73290af2e2664796b9220",
		authenticatorData: "bfabc37432958b063360d3ad6461c9c4735ae7f8edd46592a5e0f01452b2e4b51900000000",
		getClientData:     "7b2274797065223a22776562617574686e2e676574222c226368616c6c656e6765223a224f63446e55685158756c5455506f334a5558543049393770767a7a59425039745a63685879617630314167222c226f726967696e223a2268747470733a2f2f6578616d706c652e6f7267222c2263726f73734f726967696e223a66616c73657d",
		getChallenge:      "39c0e7521417ba54d43e8dc95174f423dee9bf3cd804ff6d65c857c9abf4d408",
		signature:         "3046022100f50a4e2e4409249c4a853ba361282f09841df4dd4547a13a87780218deffcd380221008480ac0f0b93538174f575bf11a1dd5d78c6e486013f937295ea13653e331e87",
	}
	// §16.3 Self Attestation (packed) — ES256. Registration flags
	// UP|UV|BE|BS (0x5d); the assertion's UP|BE (0x09): no UV.
	w3cPackedSelf = w3cVector{
		attestationObject: "a363666d74667061636b65646761747453746d74a263616c672663736967584630440220067a20754ab925005dbf378097c92120031581c73228d1fb4f5b881bcd7da98302207fc7b147558c7c0eba3af18bd9d121fa3d3a26d17fe3f220272178f473b6006d68617574684461746158a4bfabc37432958b063360d3ad6461c9c4735ae7f8edd46592a5e0f01452b2e4b55d00000000df850e09db6afbdfab51697791506cfc0020455ef34e2043a87db3d4afeb39bbcb6cc32df9347c789a865ecdca129cbef58ca5010203262001215820eb151c8176b225cc651559fecf07af450fd85802046656b34c18f6cf193843c5225820927b8aa427a2be1b8834d233a2d34f61f13bfd44119c325d5896e183fee484f2",
		createClientData:  "7b2274797065223a22776562617574686e2e637265617465222c226368616c6c656e6765223a2265476e4374334c55745936366b336a506a796e6962506b31716e666644616966715a774c33417032392d55222c226f726967696e223a2268747470733a2f2f6578616d706c652e6f7267222c2263726f73734f726967696e223a66616c73652c22657874726144617461223a22636c69656e74446174614a534f4e206d617920626520657874656e6465642077697468206164646974696f6e616c206669656c647320696e20746865206675747572652c207375636820617320746869733a205539685458764b453255526b4d6e625f307859485667227d",
		createChallenge:   "7869c2b772d4b58eba9378cf8f29e26cf935aa77df0da89fa99c0bdc0a76f7e5",
		credentialID:      "455ef34e2043a87db3d4afeb39bbcb6cc32df9347c789a865ecdca129cbef58c",
		publicKey:         "a5010203262001215820eb151c8176b225cc651559fecf07af450fd85802046656b34c18f6cf193843c5225820927b8aa427a2be1b8834d233a2d34f61f13bfd44119c325d5896e183fee484f2",
		authenticatorData: "bfabc37432958b063360d3ad6461c9c4735ae7f8edd46592a5e0f01452b2e4b50900000000",
		getClientData:     "7b2274797065223a22776562617574686e2e676574222c226368616c6c656e6765223a225248696843784e534e493352594d45314f7731476d3132786e726b634a5f6666707637546e2d4a71386773222c226f726967696e223a2268747470733a2f2f6578616d706c652e6f7267222c2263726f73734f726967696e223a66616c73652c22657874726144617461223a22636c69656e74446174614a534f4e206d617920626520657874656e6465642077697468206164646974696f6e616c206669656c647320696e20746865206675747572652c207375636820617320746869733a206754623533727a36456853576f6d58477a696d433151227d",
		getChallenge:      "4478a10b1352348dd160c1353b0d469b5db19eb91c27f7dfa6fed39fe26af20b",
		signature:         "304402203310b9431903c401f1be2bdc8d23a4007682dbbddcf846994947b7f465daf84002204e94dd00047b316061b3b99772b7efd95994a83ef584b3b6b825ea3550251b66",
	}
	// §16.4 None Attestation — ES256 — cross origin: flags UP|UV (0x45),
	// clientDataJSON crossOrigin:true.
	w3cCrossOrigin = w3cVector{
		attestationObject: "a363666d74646e6f6e656761747453746d74a068617574684461746158a4bfabc37432958b063360d3ad6461c9c4735ae7f8edd46592a5e0f01452b2e4b54500000000883f4f6014f19c09d87aa38123be48d000206e1050c0d2ca2f07c755cb2c66a74c64fa43065c18f938354d9915db2bd5ce57a501020326200121582022200a473f90b11078851550d03b4e44a2279f8c4eca27b3153dedfe03e4e97d225820cbd0be95e746ad6f5a8191be11756e4c0420e72f65b466d39bc56b8b123a9c6e",
		createClientData:  "7b2274797065223a22776562617574686e2e637265617465222c226368616c6c656e6765223a224f2d57717a514e5463554a484930437257576e7951504859647862694332674872434d475666704c4f306b222c226f726967696e223a2268747470733a2f2f6578616d706c652e6f7267222c2263726f73734f726967696e223a747275652c22657874726144617461223a22636c69656e74446174614a534f4e206d617920626520657874656e6465642077697468206164646974696f6e616c206669656c647320696e20746865206675747572652c207375636820617320746869733a207a5a7175457444523944577170573574425754467567227d",
		createChallenge:   "3be5aacd03537142472340ab5969f240f1d87716e20b6807ac230655fa4b3b49",
		credentialID:      "6e1050c0d2ca2f07c755cb2c66a74c64fa43065c18f938354d9915db2bd5ce57",
	}
)

type w3cVector struct {
	attestationObject, createClientData, createChallenge, credentialID, publicKey string
	authenticatorData, getClientData, getChallenge, signature                     string
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (v w3cVector) registration(t *testing.T) []byte {
	b, err := json.Marshal(map[string]any{"id": b64(unhex(t, v.credentialID)), "rawId": b64(unhex(t, v.credentialID)), "type": "public-key",
		"response": map[string]any{"clientDataJSON": b64(unhex(t, v.createClientData)), "attestationObject": b64(unhex(t, v.attestationObject))}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (v w3cVector) assertion(t *testing.T) []byte {
	b, err := json.Marshal(map[string]any{"id": b64(unhex(t, v.credentialID)), "rawId": b64(unhex(t, v.credentialID)), "type": "public-key",
		"response": map[string]any{"clientDataJSON": b64(unhex(t, v.getClientData)), "authenticatorData": b64(unhex(t, v.authenticatorData)),
			"signature": b64(unhex(t, v.signature))}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rechallenge swaps the random challenge of a ceremony the service started
// for a vector's fixed one, keeping everything else it stored; with
// uvPreferred it also relaxes the ceremony's user verification from
// required, for the vectors signed without UV.
func (f *fixture) rechallenge(id, challengeHex string, uvPreferred bool) {
	f.t.Helper()
	ctx := context.Background()
	c, err := f.db.TakeChallenge(ctx, id, f.clock.Now())
	if err != nil {
		f.t.Fatal(err)
	}
	var sd webauthn.SessionData
	if err := json.Unmarshal(c.Data, &sd); err != nil {
		f.t.Fatal(err)
	}
	if sd.UserVerification != protocol.VerificationRequired {
		f.t.Fatalf("the service asked for user verification %q", sd.UserVerification)
	}
	sd.Challenge = b64(unhex(f.t, challengeHex))
	if uvPreferred {
		sd.UserVerification = protocol.VerificationPreferred
	}
	if c.Data, err = json.Marshal(&sd); err != nil {
		f.t.Fatal(err)
	}
	if err := f.db.PutChallenge(ctx, c); err != nil {
		f.t.Fatal(err)
	}
}

// TestADM05_W3CVectors runs the §16 vectors through the service's own
// ceremonies, with only the challenge (and, where the vector has no UV,
// the UV requirement) swapped: they verify, and our policy refuses what it
// should — no UV where UV is required, crossOrigin:true.
func TestADM05_W3CVectors(t *testing.T) {
	f := newFixtureRP(t, "example.org", "https://example.org")
	ctx := context.Background()
	f.user("alice")
	sess := f.session("alice")

	register := func(v w3cVector, uvPreferred bool) (*people.Passkey, error) {
		t.Helper()
		c, err := f.svc.BeginPasskeyRegistration(ctx, sess)
		if err != nil {
			t.Fatal(err)
		}
		f.rechallenge(c.ChallengeID, v.createChallenge, uvPreferred)
		return f.svc.FinishPasskeyRegistration(ctx, sess, c.ChallengeID, "", v.registration(t), "req")
	}
	stepUp := func(v w3cVector, uvPreferred bool) error {
		t.Helper()
		c, err := f.svc.BeginPasskeyStepUp(ctx, sess)
		if err != nil {
			t.Fatal(err)
		}
		f.rechallenge(c.ChallengeID, v.getChallenge, uvPreferred)
		return f.svc.FinishPasskeyStepUp(ctx, sess, c.ChallengeID, v.assertion(t), "req")
	}
	stored := func(v w3cVector) {
		t.Helper()
		pk, err := f.db.Passkey(ctx, unhex(t, v.credentialID))
		if err != nil {
			t.Fatal(err)
		}
		var cred webauthn.Credential
		if err := json.Unmarshal(pk.Credential, &cred); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(cred.PublicKey, unhex(t, v.publicKey)) || pk.UserID != "alice" {
			t.Fatalf("stored %x for %s, want the vector's key", cred.PublicKey, pk.UserID)
		}
	}

	// §16.3 (packed self attestation, UV): registers as issued; its
	// assertion has no UV, so a step-up refuses it unless relaxed.
	if _, err := register(w3cPackedSelf, false); err != nil {
		t.Fatalf("§16.3 registration: %v", err)
	}
	stored(w3cPackedSelf)
	if err := stepUp(w3cPackedSelf, false); code(err) != "passkey_refused" {
		t.Fatalf("§16.3 assertion without UV, UV required: %v, want passkey_refused", err)
	}
	if err := stepUp(w3cPackedSelf, true); err != nil {
		t.Fatalf("§16.3 assertion: %v", err)
	}

	// §16.2 (none, no UV): refused as issued, verifies when relaxed.
	if _, err := register(w3cNone, false); code(err) != "passkey_refused" {
		t.Fatalf("§16.2 registration without UV, UV required: %v, want passkey_refused", err)
	}
	if _, err := register(w3cNone, true); err != nil {
		t.Fatalf("§16.2 registration: %v", err)
	}
	stored(w3cNone)
	if err := stepUp(w3cNone, false); code(err) != "passkey_refused" {
		t.Fatalf("§16.2 assertion without UV, UV required: %v, want passkey_refused", err)
	}
	if err := stepUp(w3cNone, true); err != nil {
		t.Fatalf("§16.2 assertion: %v", err)
	}

	// §16.4 (crossOrigin:true, with UV): refused.
	if _, err := register(w3cCrossOrigin, false); code(err) != "passkey_refused" {
		t.Fatalf("§16.4 cross-origin registration: %v, want passkey_refused", err)
	}
	if pks, err := f.db.Passkeys(ctx, "alice"); err != nil || len(pks) != 2 {
		t.Fatalf("alice has %d passkeys (%v), want the two vectors'", len(pks), err)
	}
}

// TestADM05_SignCountConcurrent: assertions of one counter value, finished
// at once over separate ceremonies (a cloned authenticator used in
// parallel), sign in once; the counter is checked where it is written, so
// it never goes back.
func TestADM05_SignCountConcurrent(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.user("alice")
	a := newSoftAuthn(t, testRPID, testOrigin)
	f.register(a, f.session("alice"), "")

	const n = 10
	ids, bodies := make([]string, n), make([][]byte, n)
	for i := range n {
		c, err := f.svc.BeginPasskeySignIn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		a.counter = 5
		ids[i], bodies[i] = c.ChallengeID, a.get(c.Options, tweak{})
	}
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
			_, errs[i] = f.svc.FinishPasskeySignIn(ctx, ids[i], bodies[i], people.SignInRequest{IP: "192.0.2.1"})
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
			t.Errorf("concurrent assertion: %v, want passkey_refused", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d of %d assertions with counter 6 signed in, want 1", ok, n)
	}
	evs, _, err := f.tokens.Audit(ctx, f.root, token.AuditFilter{Action: "user.passkey.clone_warning"})
	if err != nil || len(evs) != n-1 {
		t.Fatalf("%d clone warnings (%v), want %d", len(evs), err, n-1)
	}
	stored, err := f.db.Passkey(ctx, a.credID)
	if err != nil || !bytes.Contains(stored.Credential, []byte(`"signCount":6`)) {
		t.Fatalf("stored counter: %s %v", stored.Credential, err)
	}
}
