package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/people"
	"github.com/latchkey/latchkey/token"
)

// PeopleStore is what the people conformance suite runs against: a
// people.Store, and the audit listing that shows which events its writes
// stored.
type PeopleStore interface {
	people.Store
	ListAudit(ctx context.Context, f token.AuditFilter) ([]*token.AuditEvent, string, error)
	Close() error
}

// peopleTest is one conformance check of people.Store against a fresh,
// empty store.
type peopleTest struct {
	name string
	run  func(t *testing.T, s PeopleStore)
}

// RunPeople runs the conformance suite of people.Store. open must return a
// new, empty store each time it is called; RunPeople closes every store it
// opened.
func RunPeople(t *testing.T, open func(t *testing.T) PeopleStore) {
	groups := []struct {
		name  string
		tests []peopleTest
	}{
		{"Credentials", credentialTests},
		{"RecoveryCodes", recoveryTests},
		{"Passkeys", passkeyTests},
		{"Sessions", sessionTests},
		{"Challenges", challengeTests},
		{"Throttle", throttleTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					s := open(t)
					defer func() {
						if err := s.Close(); err != nil {
							t.Errorf("Close: %v", err)
						}
					}()
					tc.run(t, s)
				})
			}
		})
	}
}

// auditLister is a store whose audit log the suites read.
type auditLister interface {
	ListAudit(ctx context.Context, f token.AuditFilter) ([]*token.AuditEvent, string, error)
}

// hasEvent reports whether the store holds the audit event with ev's ID;
// if it does, the stored event must equal ev.
func hasEvent(t *testing.T, s auditLister, ev *token.AuditEvent) bool {
	t.Helper()
	evs, _, err := s.ListAudit(bg, token.AuditFilter{TargetID: ev.TargetID, Limit: 1000})
	if err != nil {
		t.Fatalf("ListAudit: %v", err)
	}
	for _, got := range evs {
		if got.ID == ev.ID {
			if !got.Time.Equal(ev.Time) || got.Action != ev.Action || got.TargetID != ev.TargetID ||
				got.ActorKeyID != ev.ActorKeyID || !reflect.DeepEqual(got.Detail, ev.Detail) {
				t.Fatalf("audit event %s stored as %+v, want %+v", ev.ID, got, ev)
			}
			return true
		}
	}
	return false
}

// wantEvent fails the test unless ev was stored.
func wantEvent(t *testing.T, s auditLister, ev *token.AuditEvent) {
	t.Helper()
	if !hasEvent(t, s, ev) {
		t.Fatalf("audit event %s (%s) was not stored with the write", ev.ID, ev.Action)
	}
}

// wantNoEvent fails the test if ev was stored.
func wantNoEvent(t *testing.T, s auditLister, ev *token.AuditEvent) {
	t.Helper()
	if hasEvent(t, s, ev) {
		t.Fatalf("audit event %s (%s) was stored, but its write did not happen", ev.ID, ev.Action)
	}
}

// countEvents counts the stored events of action on target.
func countEvents(t *testing.T, s auditLister, action, target string) int {
	t.Helper()
	evs, _, err := s.ListAudit(bg, token.AuditFilter{Action: action, TargetID: target, Limit: 1000})
	if err != nil {
		t.Fatalf("ListAudit: %v", err)
	}
	return len(evs)
}

// utc strips the location and monotonic reading of a time, so that
// reflect.DeepEqual compares instants.
func utc(t time.Time) time.Time { return t.UTC().Round(0) }

func normCredentials(c people.Credentials) people.Credentials {
	c.PasswordChangedAt, c.TOTPCreatedAt, c.UpdatedAt = utc(c.PasswordChangedAt), utc(c.TOTPCreatedAt), utc(c.UpdatedAt)
	return c
}

func normPasskey(p people.Passkey) people.Passkey {
	p.CreatedAt, p.LastUsedAt = utc(p.CreatedAt), utc(p.LastUsedAt)
	return p
}

func normSession(s people.Session) people.Session {
	s.Factors = slices.Clone(s.Factors)
	for i := range s.Factors {
		s.Factors[i].At = utc(s.Factors[i].At)
	}
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = utc(s.CreatedAt), utc(s.LastSeenAt), utc(s.ExpiresAt)
	s.IdleExpiresAt, s.EndedAt = utc(s.IdleExpiresAt), utc(s.EndedAt)
	return s
}

// sameAs fails the test unless got equals want after norm.
func sameAs[T any](t *testing.T, what string, got, want *T, norm func(T) T) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s = nil, want %+v", what, *want)
	}
	if g, w := norm(*got), norm(*want); !reflect.DeepEqual(g, w) {
		t.Fatalf("%s =\n%+v\nwant\n%+v", what, g, w)
	}
}

// concurrently runs fn from n goroutines released at once.
func concurrently(n int, fn func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			fn(i)
		})
	}
	close(start)
	wg.Wait()
}

// digestOf returns the SHA-256 of s.
func digestOf(s string) []byte {
	d := sha256.Sum256([]byte(s))
	return d[:]
}

// fullCredentials sets every field of c.
func fullCredentials(c *people.Credentials) {
	c.PasswordHash = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"
	c.PasswordChangedAt = t0
	c.TOTPSealed = []byte{1, 2, 3, 0, 4}
	c.TOTPConfirmed = true
	c.TOTPCreatedAt = t0.Add(time.Second)
	c.TOTPLastStep = 12345
	c.WebAuthnID = bytes.Repeat([]byte{7}, 64)
	c.Source = "ldap"
	c.ExternalID = "uid=alice,ou=people,dc=example,dc=org"
	c.UpdatedAt = t0.Add(2 * time.Second)
}

// updateCredentials calls UpdateCredentials, failing the test on an error.
func updateCredentials(t *testing.T, s PeopleStore, userID string, fn func(*people.Credentials) error, ev *token.AuditEvent) *people.Credentials {
	t.Helper()
	c, err := s.UpdateCredentials(bg, userID, fn, ev)
	if err != nil {
		t.Fatalf("UpdateCredentials(%s): %v", userID, err)
	}
	return c
}

var credentialTests = []peopleTest{
	{"a user who never had credentials has none", func(t *testing.T, s PeopleStore) {
		_, err := s.Credentials(bg, "usr_none")
		wantErr(t, "Credentials", err, token.ErrNotFound)
		_, err = s.CredentialsByWebAuthnID(bg, []byte("nobody"))
		wantErr(t, "CredentialsByWebAuthnID", err, token.ErrNotFound)
		_, err = s.CredentialsByWebAuthnID(bg, nil)
		wantErr(t, "CredentialsByWebAuthnID(nil)", err, token.ErrNotFound)
	}},
	{"UpdateCredentials starts from a zero record, stores every field and counts versions", func(t *testing.T, s PeopleStore) {
		ev1 := event("user.password_set", "user", "usr_a")
		var seen people.Credentials
		c := updateCredentials(t, s, "usr_a", func(c *people.Credentials) error {
			seen = *c
			fullCredentials(c)
			return nil
		}, ev1)
		if !reflect.DeepEqual(normCredentials(seen), normCredentials(people.Credentials{UserID: "usr_a"})) {
			t.Fatalf("fn got %+v, want a zero record of usr_a", seen)
		}
		want := people.Credentials{UserID: "usr_a", Version: 1}
		fullCredentials(&want)
		sameAs(t, "UpdateCredentials result", c, &want, normCredentials)
		got, err := s.Credentials(bg, "usr_a")
		if err != nil {
			t.Fatalf("Credentials: %v", err)
		}
		sameAs(t, "Credentials", got, &want, normCredentials)
		if got.UpdatedAt.Location() != time.UTC {
			t.Errorf("times read back in %s, want UTC", got.UpdatedAt.Location())
		}
		wantEvent(t, s, ev1)
		got, err = s.CredentialsByWebAuthnID(bg, want.WebAuthnID)
		if err != nil {
			t.Fatalf("CredentialsByWebAuthnID: %v", err)
		}
		sameAs(t, "CredentialsByWebAuthnID", got, &want, normCredentials)

		// Clearing fields stores them empty again; fn cannot move the record.
		ev2 := event("user.totp_remove", "user", "usr_a")
		c = updateCredentials(t, s, "usr_a", func(c *people.Credentials) error {
			c.UserID = "usr_other"
			c.TOTPSealed, c.TOTPConfirmed, c.TOTPCreatedAt, c.WebAuthnID = nil, false, time.Time{}, nil
			return nil
		}, ev2)
		want.TOTPSealed, want.TOTPConfirmed, want.TOTPCreatedAt, want.WebAuthnID, want.Version = nil, false, time.Time{}, nil, 2
		sameAs(t, "second UpdateCredentials result", c, &want, normCredentials)
		got, err = s.Credentials(bg, "usr_a")
		if err != nil {
			t.Fatalf("Credentials: %v", err)
		}
		sameAs(t, "Credentials after the second update", got, &want, normCredentials)
		wantEvent(t, s, ev2)
		_, err = s.Credentials(bg, "usr_other")
		wantErr(t, "Credentials(usr_other)", err, token.ErrNotFound)
		_, err = s.CredentialsByWebAuthnID(bg, bytes.Repeat([]byte{7}, 64))
		wantErr(t, "CredentialsByWebAuthnID after removal", err, token.ErrNotFound)
	}},
	{"an error from fn aborts the update and writes no event", func(t *testing.T, s PeopleStore) {
		boom := errors.New("boom")
		ev := event("user.password_set", "user", "usr_a")
		_, err := s.UpdateCredentials(bg, "usr_a", func(c *people.Credentials) error {
			c.PasswordHash = "x"
			return boom
		}, ev)
		if err != boom {
			t.Fatalf("UpdateCredentials = %v, want fn's error as it is", err)
		}
		_, err = s.Credentials(bg, "usr_a")
		wantErr(t, "Credentials after an aborted first update", err, token.ErrNotFound)
		wantNoEvent(t, s, ev)

		updateCredentials(t, s, "usr_a", func(c *people.Credentials) error { c.PasswordHash = "first"; return nil }, nil)
		if _, err := s.UpdateCredentials(bg, "usr_a", func(c *people.Credentials) error { c.PasswordHash = "second"; return boom }, ev); err != boom {
			t.Fatalf("UpdateCredentials = %v, want fn's error as it is", err)
		}
		c, err := s.Credentials(bg, "usr_a")
		if err != nil || c.PasswordHash != "first" || c.Version != 1 {
			t.Fatalf("Credentials after an aborted update = %+v, %v; want the first hash at version 1", c, err)
		}
		wantNoEvent(t, s, ev)
	}},
	{"a WebAuthn ID belongs to one user", func(t *testing.T, s PeopleStore) {
		id := bytes.Repeat([]byte{9}, 64)
		updateCredentials(t, s, "usr_a", func(c *people.Credentials) error { c.WebAuthnID = id; return nil }, nil)
		ev := event("passkey.register", "user", "usr_b")
		_, err := s.UpdateCredentials(bg, "usr_b", func(c *people.Credentials) error { c.WebAuthnID = id; return nil }, ev)
		wantErr(t, "UpdateCredentials with another user's WebAuthn ID", err, token.ErrConflict)
		wantNoEvent(t, s, ev)
		_, err = s.Credentials(bg, "usr_b")
		wantErr(t, "Credentials of the refused user", err, token.ErrNotFound)
		c, err := s.CredentialsByWebAuthnID(bg, id)
		if err != nil || c.UserID != "usr_a" {
			t.Fatalf("CredentialsByWebAuthnID = %+v, %v; want usr_a's", c, err)
		}
	}},
	{"concurrent updates of one user, first ones included, lose nothing", func(t *testing.T, s PeopleStore) {
		const n = 20
		concurrently(n, func(i int) {
			_, err := s.UpdateCredentials(bg, "usr_a", func(c *people.Credentials) error {
				c.ExternalID += "x"
				return nil
			}, event("user.update", "user", "usr_a"))
			if err != nil {
				t.Errorf("UpdateCredentials %d: %v", i, err)
			}
		})
		c, err := s.Credentials(bg, "usr_a")
		if err != nil {
			t.Fatalf("Credentials: %v", err)
		}
		if c.Version != n || len(c.ExternalID) != n {
			t.Fatalf("after %d concurrent updates: version %d, %d changes kept; want %d and %d", n, c.Version, len(c.ExternalID), n, n)
		}
		if got := countEvents(t, s, "user.update", "usr_a"); got != n {
			t.Fatalf("%d events stored, want %d", got, n)
		}
	}},
	{"a TOTP step is accepted once, and only after the last one", func(t *testing.T, s PeopleStore) {
		use := func(step int64, want bool) {
			t.Helper()
			ok, err := s.UseTOTPStep(bg, "usr_a", step)
			if err != nil {
				t.Fatalf("UseTOTPStep(%d): %v", step, err)
			}
			if ok != want {
				t.Fatalf("UseTOTPStep(%d) = %v, want %v", step, ok, want)
			}
		}
		use(100, false) // no credentials: nothing to accept
		updateCredentials(t, s, "usr_a", func(c *people.Credentials) error { c.TOTPSealed = []byte("sealed"); c.TOTPLastStep = 50; return nil }, nil)
		var wins atomic.Int64
		concurrently(20, func(int) {
			ok, err := s.UseTOTPStep(bg, "usr_a", 100)
			if err != nil {
				t.Errorf("UseTOTPStep: %v", err)
			}
			if ok {
				wins.Add(1)
			}
		})
		if got := wins.Load(); got != 1 {
			t.Fatalf("%d of 20 concurrent uses of one step were accepted, want exactly 1", got)
		}
		use(100, false)
		use(101, true)
		use(99, false)
		use(101, false)
		c, err := s.Credentials(bg, "usr_a")
		if err != nil || c.TOTPLastStep != 101 {
			t.Fatalf("Credentials = %+v, %v; want last step 101", c, err)
		}
		use(50, false)
		// Steps are per user.
		updateCredentials(t, s, "usr_b", func(c *people.Credentials) error { c.TOTPSealed = []byte("sealed"); return nil }, nil)
		ok, err := s.UseTOTPStep(bg, "usr_b", 100)
		if err != nil || !ok {
			t.Fatalf("UseTOTPStep(usr_b, 100) = %v, %v; want true", ok, err)
		}
	}},
}

// recoveryLeft fails the test unless the user has want unused codes.
func recoveryLeft(t *testing.T, s PeopleStore, userID string, want int) {
	t.Helper()
	n, err := s.RecoveryCodesLeft(bg, userID)
	if err != nil {
		t.Fatalf("RecoveryCodesLeft(%s): %v", userID, err)
	}
	if n != want {
		t.Fatalf("RecoveryCodesLeft(%s) = %d, want %d", userID, n, want)
	}
}

// useRecovery calls UseRecoveryCode and checks its answer and its event.
func useRecovery(t *testing.T, s PeopleStore, userID, code string, want bool) {
	t.Helper()
	ev := event("user.recovery_code_use", "user", userID)
	ok, err := s.UseRecoveryCode(bg, userID, digestOf(code), ev)
	if err != nil {
		t.Fatalf("UseRecoveryCode(%s): %v", code, err)
	}
	if ok != want {
		t.Fatalf("UseRecoveryCode(%s, %s) = %v, want %v", userID, code, ok, want)
	}
	if hasEvent(t, s, ev) != want {
		t.Fatalf("UseRecoveryCode(%s, %s) = %v, but its event stored = %v", userID, code, ok, !want)
	}
}

// codes returns the digests of the codes named.
func codes(names ...string) [][]byte {
	out := make([][]byte, len(names))
	for i, n := range names {
		out[i] = digestOf(n)
	}
	return out
}

var recoveryTests = []peopleTest{
	{"a code is used once, and codes are per user", func(t *testing.T, s PeopleStore) {
		recoveryLeft(t, s, "usr_a", 0)
		ev := event("user.recovery_codes_set", "user", "usr_a")
		if err := s.SetRecoveryCodes(bg, "usr_a", codes("a1", "a2", "a3"), ev); err != nil {
			t.Fatalf("SetRecoveryCodes: %v", err)
		}
		wantEvent(t, s, ev)
		if err := s.SetRecoveryCodes(bg, "usr_b", codes("b1"), nil); err != nil {
			t.Fatalf("SetRecoveryCodes: %v", err)
		}
		recoveryLeft(t, s, "usr_a", 3)
		useRecovery(t, s, "usr_a", "a2", true)
		useRecovery(t, s, "usr_a", "a2", false)
		useRecovery(t, s, "usr_a", "b1", false) // usr_b's
		useRecovery(t, s, "usr_a", "zz", false)
		recoveryLeft(t, s, "usr_a", 2)
		recoveryLeft(t, s, "usr_b", 1)
	}},
	{"SetRecoveryCodes replaces every code, used or not", func(t *testing.T, s PeopleStore) {
		if err := s.SetRecoveryCodes(bg, "usr_a", codes("a1", "a2"), nil); err != nil {
			t.Fatalf("SetRecoveryCodes: %v", err)
		}
		useRecovery(t, s, "usr_a", "a1", true)
		var many []string
		for i := range 150 { // several multi-row statements
			many = append(many, fmt.Sprint("n", i))
		}
		if err := s.SetRecoveryCodes(bg, "usr_a", codes(many...), nil); err != nil {
			t.Fatalf("SetRecoveryCodes(150): %v", err)
		}
		recoveryLeft(t, s, "usr_a", 150)
		useRecovery(t, s, "usr_a", "a2", false)
		useRecovery(t, s, "usr_a", "n149", true)
		recoveryLeft(t, s, "usr_a", 149)
		ev := event("user.recovery_codes_remove", "user", "usr_a")
		if err := s.SetRecoveryCodes(bg, "usr_a", nil, ev); err != nil {
			t.Fatalf("SetRecoveryCodes(none): %v", err)
		}
		wantEvent(t, s, ev)
		recoveryLeft(t, s, "usr_a", 0)
	}},
	{"a failed SetRecoveryCodes changes nothing and writes no event", func(t *testing.T, s PeopleStore) {
		if err := s.SetRecoveryCodes(bg, "usr_a", codes("a1"), nil); err != nil {
			t.Fatalf("SetRecoveryCodes: %v", err)
		}
		ev := event("user.recovery_codes_set", "user", "usr_a")
		err := s.SetRecoveryCodes(bg, "usr_a", codes("x", "y", "x"), ev)
		wantErr(t, "SetRecoveryCodes with a digest twice", err, token.ErrConflict)
		wantNoEvent(t, s, ev)
		recoveryLeft(t, s, "usr_a", 1)
		useRecovery(t, s, "usr_a", "a1", true)
	}},
	{"exactly one of concurrent uses of a code wins", func(t *testing.T, s PeopleStore) {
		if err := s.SetRecoveryCodes(bg, "usr_a", codes("a1", "a2"), nil); err != nil {
			t.Fatalf("SetRecoveryCodes: %v", err)
		}
		var wins atomic.Int64
		concurrently(20, func(int) {
			ok, err := s.UseRecoveryCode(bg, "usr_a", digestOf("a1"), event("user.recovery_code_use", "user", "usr_a"))
			if err != nil {
				t.Errorf("UseRecoveryCode: %v", err)
			}
			if ok {
				wins.Add(1)
			}
		})
		if got := wins.Load(); got != 1 {
			t.Fatalf("%d of 20 concurrent uses of one code won, want exactly 1", got)
		}
		if got := countEvents(t, s, "user.recovery_code_use", "usr_a"); got != 1 {
			t.Fatalf("%d events stored, want 1 (the winner's)", got)
		}
		recoveryLeft(t, s, "usr_a", 1)
	}},
}

// passkey returns a passkey of userID with credential ID id.
func passkey(userID, id string, created time.Time) *people.Passkey {
	return &people.Passkey{ID: []byte(id), UserID: userID, Name: "key " + id,
		Credential: []byte(`{"id":"` + id + `","publicKey":"AQID","signCount":0}`), CreatedAt: created}
}

// addPasskey stores p, failing the test on an error.
func addPasskey(t *testing.T, s PeopleStore, p *people.Passkey) {
	t.Helper()
	if err := s.AddPasskey(bg, p, nil); err != nil {
		t.Fatalf("AddPasskey(%s): %v", p.ID, err)
	}
}

// passkeyIDs returns the IDs of ps as strings.
func passkeyIDs(ps []*people.Passkey) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = string(p.ID)
	}
	return out
}

var passkeyTests = []peopleTest{
	{"a passkey reads back as stored, and the user's are listed oldest first", func(t *testing.T, s PeopleStore) {
		p := passkey("usr_a", "cred-2", t0.Add(time.Hour))
		p.LastUsedAt = t0.Add(2 * time.Hour)
		ev := event("passkey.register", "user", "usr_a")
		if err := s.AddPasskey(bg, p, ev); err != nil {
			t.Fatalf("AddPasskey: %v", err)
		}
		wantEvent(t, s, ev)
		addPasskey(t, s, passkey("usr_a", "cred-1", t0))
		addPasskey(t, s, passkey("usr_a", "cred-3", t0.Add(3*time.Hour)))
		addPasskey(t, s, passkey("usr_b", "cred-0", t0))
		got, err := s.Passkey(bg, []byte("cred-2"))
		if err != nil {
			t.Fatalf("Passkey: %v", err)
		}
		sameAs(t, "Passkey", got, p, normPasskey)
		ps, err := s.Passkeys(bg, "usr_a")
		if err != nil {
			t.Fatalf("Passkeys: %v", err)
		}
		if ids := passkeyIDs(ps); !slices.Equal(ids, []string{"cred-1", "cred-2", "cred-3"}) {
			t.Fatalf("Passkeys(usr_a) = %v, want cred-1, cred-2, cred-3", ids)
		}
		sameAs(t, "Passkeys(usr_a)[1]", ps[1], p, normPasskey)
		if ps, err := s.Passkeys(bg, "usr_none"); err != nil || len(ps) != 0 {
			t.Fatalf("Passkeys(usr_none) = %v, %v; want none", passkeyIDs(ps), err)
		}
		_, err = s.Passkey(bg, []byte("cred-9"))
		wantErr(t, "Passkey(unknown)", err, token.ErrNotFound)
	}},
	{"a passkey ID is stored once", func(t *testing.T, s PeopleStore) {
		addPasskey(t, s, passkey("usr_a", "cred-1", t0))
		ev := event("passkey.register", "user", "usr_b")
		err := s.AddPasskey(bg, passkey("usr_b", "cred-1", t0), ev)
		wantErr(t, "AddPasskey with an existing ID", err, token.ErrConflict)
		wantNoEvent(t, s, ev)
		if got, err := s.Passkey(bg, []byte("cred-1")); err != nil || got.UserID != "usr_a" {
			t.Fatalf("Passkey = %+v, %v; want usr_a's", got, err)
		}
	}},
	{"UpdatePasskey applies fn atomically and keeps the ID and user", func(t *testing.T, s PeopleStore) {
		p := passkey("usr_a", "cred-1", t0)
		addPasskey(t, s, p)
		got, err := s.UpdatePasskey(bg, []byte("cred-1"), func(q *people.Passkey) error {
			q.ID, q.UserID = []byte("moved"), "usr_b"
			q.LastUsedAt = t0.Add(time.Minute)
			q.Credential = []byte(`{"signCount":1}`)
			return nil
		}, nil)
		if err != nil {
			t.Fatalf("UpdatePasskey: %v", err)
		}
		want := *p
		want.LastUsedAt, want.Credential = t0.Add(time.Minute), []byte(`{"signCount":1}`)
		sameAs(t, "UpdatePasskey result", got, &want, normPasskey)
		got, err = s.Passkey(bg, []byte("cred-1"))
		if err != nil {
			t.Fatalf("Passkey: %v", err)
		}
		sameAs(t, "Passkey after the update", got, &want, normPasskey)

		ev := event("passkey.rename", "user", "usr_a")
		if _, err := s.UpdatePasskey(bg, []byte("cred-1"), func(q *people.Passkey) error { q.Name = "laptop"; return nil }, ev); err != nil {
			t.Fatalf("UpdatePasskey: %v", err)
		}
		wantEvent(t, s, ev)

		boom := errors.New("boom")
		ev = event("passkey.rename", "user", "usr_a")
		if _, err := s.UpdatePasskey(bg, []byte("cred-1"), func(q *people.Passkey) error { q.Name = "lost"; return boom }, ev); err != boom {
			t.Fatalf("UpdatePasskey = %v, want fn's error as it is", err)
		}
		wantNoEvent(t, s, ev)
		if got, _ := s.Passkey(bg, []byte("cred-1")); got.Name != "laptop" {
			t.Fatalf("name after an aborted update = %q, want laptop", got.Name)
		}
		called := false
		_, err = s.UpdatePasskey(bg, []byte("cred-9"), func(*people.Passkey) error { called = true; return nil }, nil)
		wantErr(t, "UpdatePasskey(unknown)", err, token.ErrNotFound)
		if called {
			t.Fatal("UpdatePasskey called fn for a missing passkey")
		}
	}},
	{"concurrent updates of one passkey lose nothing", func(t *testing.T, s PeopleStore) {
		addPasskey(t, s, passkey("usr_a", "cred-1", t0))
		concurrently(20, func(i int) {
			_, err := s.UpdatePasskey(bg, []byte("cred-1"), func(q *people.Passkey) error { q.Name += "x"; return nil }, nil)
			if err != nil {
				t.Errorf("UpdatePasskey %d: %v", i, err)
			}
		})
		got, err := s.Passkey(bg, []byte("cred-1"))
		if err != nil || got.Name != "key cred-1"+string(bytes.Repeat([]byte("x"), 20)) {
			t.Fatalf("Passkey = %+v, %v; want 20 changes of the name kept", got, err)
		}
	}},
	{"DeletePasskey removes only the user's own passkey", func(t *testing.T, s PeopleStore) {
		addPasskey(t, s, passkey("usr_a", "cred-1", t0))
		ev := event("passkey.delete", "user", "usr_b")
		err := s.DeletePasskey(bg, "usr_b", []byte("cred-1"), ev)
		wantErr(t, "DeletePasskey of another user's passkey", err, token.ErrNotFound)
		wantNoEvent(t, s, ev)
		if _, err := s.Passkey(bg, []byte("cred-1")); err != nil {
			t.Fatalf("Passkey after another user's delete: %v", err)
		}
		ev = event("passkey.delete", "user", "usr_a")
		if err := s.DeletePasskey(bg, "usr_a", []byte("cred-1"), ev); err != nil {
			t.Fatalf("DeletePasskey: %v", err)
		}
		wantEvent(t, s, ev)
		_, err = s.Passkey(bg, []byte("cred-1"))
		wantErr(t, "Passkey after delete", err, token.ErrNotFound)
		err = s.DeletePasskey(bg, "usr_a", []byte("cred-1"), nil)
		wantErr(t, "second DeletePasskey", err, token.ErrNotFound)
	}},
}

// session returns a live session of userID created at created, valid for
// a day and idle for an hour.
func session(userID, id string, created time.Time) *people.Session {
	return &people.Session{ID: id, Digest: digestOf("cookie of " + id), UserID: userID,
		Factors: []people.Factor{{Method: "password", At: created}}, IP: "192.0.2.1", UserAgent: "storetest/1.0",
		CreatedAt: created, LastSeenAt: created, ExpiresAt: created.Add(24 * time.Hour), IdleExpiresAt: created.Add(time.Hour)}
}

// createSession stores s, failing the test on an error.
func createSession(t *testing.T, s PeopleStore, ss *people.Session) {
	t.Helper()
	if err := s.CreateSession(bg, ss, "", nil); err != nil {
		t.Fatalf("CreateSession(%s): %v", ss.ID, err)
	}
}

// getSession returns session id, failing the test if it cannot.
func getSession(t *testing.T, s PeopleStore, id string) *people.Session {
	t.Helper()
	ss, err := s.Session(bg, id)
	if err != nil {
		t.Fatalf("Session(%s): %v", id, err)
	}
	return ss
}

// sessionIDs returns the IDs of ss.
func sessionIDs(ss []*people.Session) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.ID
	}
	return out
}

var sessionTests = []peopleTest{
	{"a session reads back as stored, by ID and by digest", func(t *testing.T, s PeopleStore) {
		ss := session("usr_a", "ses_1", t0)
		ss.Factors = append(ss.Factors, people.Factor{Method: "totp", At: t0.Add(time.Second)})
		ev := event("session.create", "user", "usr_a")
		if err := s.CreateSession(bg, ss, "", ev); err != nil {
			t.Fatalf("CreateSession: %v", err)
		}
		wantEvent(t, s, ev)
		sameAs(t, "Session", getSession(t, s, "ses_1"), ss, normSession)
		got, err := s.SessionByDigest(bg, ss.Digest)
		if err != nil {
			t.Fatalf("SessionByDigest: %v", err)
		}
		sameAs(t, "SessionByDigest", got, ss, normSession)
		_, err = s.Session(bg, "ses_none")
		wantErr(t, "Session(unknown)", err, token.ErrNotFound)
		_, err = s.SessionByDigest(bg, digestOf("unknown"))
		wantErr(t, "SessionByDigest(unknown)", err, token.ErrNotFound)

		// A pending sign-in without factors, and no event.
		p := session("usr_a", "ses_2", t0)
		p.Pending, p.Factors = true, nil
		createSession(t, s, p)
		sameAs(t, "pending Session", getSession(t, s, "ses_2"), p, normSession)
	}},
	{"session IDs and digests are unique", func(t *testing.T, s PeopleStore) {
		createSession(t, s, session("usr_a", "ses_1", t0))
		dup := session("usr_a", "ses_1", t0)
		dup.Digest = digestOf("other")
		ev := event("session.create", "user", "usr_a")
		wantErr(t, "CreateSession with an existing ID", s.CreateSession(bg, dup, "", ev), token.ErrConflict)
		wantNoEvent(t, s, ev)
		dup = session("usr_a", "ses_2", t0)
		dup.Digest = digestOf("cookie of ses_1")
		wantErr(t, "CreateSession with an existing digest", s.CreateSession(bg, dup, "", ev), token.ErrConflict)
		wantNoEvent(t, s, ev)
		_, err := s.Session(bg, "ses_2")
		wantErr(t, "Session of the refused one", err, token.ErrNotFound)
	}},
	{"CreateSession ends the session it replaces, in the same write", func(t *testing.T, s PeopleStore) {
		p := session("usr_a", "ses_pending", t0)
		p.Pending = true
		createSession(t, s, p)
		full := session("usr_a", "ses_full", t0.Add(time.Minute))
		ev := event("session.create", "user", "usr_a")
		if err := s.CreateSession(bg, full, "ses_pending", ev); err != nil {
			t.Fatalf("CreateSession: %v", err)
		}
		wantEvent(t, s, ev)
		old := getSession(t, s, "ses_pending")
		if !old.EndedAt.Equal(full.CreatedAt) || old.EndReason != "replaced" {
			t.Fatalf("replaced session ended at %s for %q, want %s, replaced", old.EndedAt, old.EndReason, full.CreatedAt)
		}
		if got := getSession(t, s, "ses_full"); !got.EndedAt.IsZero() {
			t.Fatalf("new session ended at %s", got.EndedAt)
		}

		// A failed creation leaves the session it would replace alive.
		next := session("usr_a", "ses_full", t0.Add(2*time.Minute)) // existing ID
		next.Digest = digestOf("next")
		other := session("usr_a", "ses_other", t0)
		createSession(t, s, other)
		wantErr(t, "CreateSession with an existing ID", s.CreateSession(bg, next, "ses_other", nil), token.ErrConflict)
		if got := getSession(t, s, "ses_other"); !got.EndedAt.IsZero() {
			t.Fatalf("session ended by a failed replacement (at %s, %s)", got.EndedAt, got.EndReason)
		}
		// Replacing an unknown or ended session is no error.
		if err := s.CreateSession(bg, session("usr_a", "ses_3", t0), "ses_none", nil); err != nil {
			t.Fatalf("CreateSession replacing nothing: %v", err)
		}
		if err := s.CreateSession(bg, session("usr_a", "ses_4", t0.Add(time.Hour)), "ses_pending", nil); err != nil {
			t.Fatalf("CreateSession replacing an ended session: %v", err)
		}
		if got := getSession(t, s, "ses_pending"); !got.EndedAt.Equal(full.CreatedAt) {
			t.Fatalf("an ended session was ended again: at %s, want %s", got.EndedAt, full.CreatedAt)
		}
	}},
	{"TouchSession and AddSessionFactor change only a live session", func(t *testing.T, s PeopleStore) {
		createSession(t, s, session("usr_a", "ses_1", t0))
		seen, idle := t0.Add(10*time.Minute), t0.Add(70*time.Minute)
		if err := s.TouchSession(bg, "ses_1", seen, idle); err != nil {
			t.Fatalf("TouchSession: %v", err)
		}
		got := getSession(t, s, "ses_1")
		if !got.LastSeenAt.Equal(seen) || !got.IdleExpiresAt.Equal(idle) || !got.ExpiresAt.Equal(t0.Add(24*time.Hour)) {
			t.Fatalf("after TouchSession: last seen %s, idle expiry %s, expiry %s", got.LastSeenAt, got.IdleExpiresAt, got.ExpiresAt)
		}
		ev := event("session.step_up", "user", "usr_a")
		f := people.Factor{Method: "totp", At: t0.Add(11 * time.Minute)}
		if err := s.AddSessionFactor(bg, "ses_1", f, ev); err != nil {
			t.Fatalf("AddSessionFactor: %v", err)
		}
		wantEvent(t, s, ev)
		got = getSession(t, s, "ses_1")
		want := []people.Factor{{Method: "password", At: t0}, f}
		if len(got.Factors) != 2 || got.Factors[0].Method != want[0].Method || !got.Factors[0].At.Equal(want[0].At) ||
			got.Factors[1].Method != want[1].Method || !got.Factors[1].At.Equal(want[1].At) {
			t.Fatalf("factors = %+v, want %+v", got.Factors, want)
		}

		if _, err := s.EndSession(bg, "ses_1", "logout", t0.Add(time.Hour), nil); err != nil {
			t.Fatalf("EndSession: %v", err)
		}
		wantErr(t, "TouchSession of an ended session", s.TouchSession(bg, "ses_1", t0.Add(2*time.Hour), t0.Add(3*time.Hour)), token.ErrNotFound)
		ev = event("session.step_up", "user", "usr_a")
		wantErr(t, "AddSessionFactor to an ended session", s.AddSessionFactor(bg, "ses_1", f, ev), token.ErrNotFound)
		wantNoEvent(t, s, ev)
		if got := getSession(t, s, "ses_1"); !got.LastSeenAt.Equal(seen) || len(got.Factors) != 2 {
			t.Fatalf("an ended session changed: last seen %s, %d factors", got.LastSeenAt, len(got.Factors))
		}
		wantErr(t, "TouchSession(unknown)", s.TouchSession(bg, "ses_none", seen, idle), token.ErrNotFound)
		wantErr(t, "AddSessionFactor(unknown)", s.AddSessionFactor(bg, "ses_none", f, nil), token.ErrNotFound)
	}},
	{"concurrent AddSessionFactor calls lose no factor", func(t *testing.T, s PeopleStore) {
		createSession(t, s, session("usr_a", "ses_1", t0))
		concurrently(20, func(i int) {
			if err := s.AddSessionFactor(bg, "ses_1", people.Factor{Method: fmt.Sprint("m", i), At: t0}, nil); err != nil {
				t.Errorf("AddSessionFactor %d: %v", i, err)
			}
		})
		if got := getSession(t, s, "ses_1"); len(got.Factors) != 21 {
			t.Fatalf("%d factors after 20 concurrent additions to 1, want 21", len(got.Factors))
		}
	}},
	{"a session ends once", func(t *testing.T, s PeopleStore) {
		createSession(t, s, session("usr_a", "ses_1", t0))
		at := t0.Add(time.Minute)
		ev := event("session.end", "user", "usr_a")
		ok, err := s.EndSession(bg, "ses_1", "logout", at, ev)
		if err != nil || !ok {
			t.Fatalf("EndSession = %v, %v; want true", ok, err)
		}
		wantEvent(t, s, ev)
		ev2 := event("session.end", "user", "usr_a")
		ok, err = s.EndSession(bg, "ses_1", "admin", at.Add(time.Minute), ev2)
		if err != nil || ok {
			t.Fatalf("second EndSession = %v, %v; want false", ok, err)
		}
		wantNoEvent(t, s, ev2)
		got := getSession(t, s, "ses_1")
		if !got.EndedAt.Equal(at) || got.EndReason != "logout" {
			t.Fatalf("session ended at %s for %q, want %s, logout (the first end)", got.EndedAt, got.EndReason, at)
		}
		_, err = s.EndSession(bg, "ses_none", "logout", at, nil)
		wantErr(t, "EndSession(unknown)", err, token.ErrNotFound)

		createSession(t, s, session("usr_a", "ses_2", t0))
		var wins atomic.Int64
		concurrently(20, func(int) {
			ok, err := s.EndSession(bg, "ses_2", "logout", at, event("session.end", "session", "ses_2"))
			if err != nil {
				t.Errorf("EndSession: %v", err)
			}
			if ok {
				wins.Add(1)
			}
		})
		if got := wins.Load(); got != 1 {
			t.Fatalf("%d of 20 concurrent ends of one session reported ending it, want exactly 1", got)
		}
		if got := countEvents(t, s, "session.end", "ses_2"); got != 1 {
			t.Fatalf("%d end events stored, want 1", got)
		}
	}},
	{"EndUserSessions ends every live session of the user", func(t *testing.T, s PeopleStore) {
		createSession(t, s, session("usr_a", "ses_1", t0))
		createSession(t, s, session("usr_a", "ses_2", t0))
		p := session("usr_a", "ses_3", t0)
		p.Pending = true
		createSession(t, s, p)
		createSession(t, s, session("usr_a", "ses_4", t0))
		createSession(t, s, session("usr_b", "ses_5", t0))
		if _, err := s.EndSession(bg, "ses_4", "logout", t0.Add(time.Minute), nil); err != nil {
			t.Fatalf("EndSession: %v", err)
		}
		at := t0.Add(time.Hour)
		ev := event("user.disable", "user", "usr_a")
		n, err := s.EndUserSessions(bg, "usr_a", "user_disabled", at, ev)
		if err != nil || n != 3 {
			t.Fatalf("EndUserSessions = %d, %v; want 3", n, err)
		}
		wantEvent(t, s, ev)
		for _, id := range []string{"ses_1", "ses_2", "ses_3"} {
			if got := getSession(t, s, id); !got.EndedAt.Equal(at) || got.EndReason != "user_disabled" {
				t.Fatalf("%s ended at %s for %q, want %s, user_disabled", id, got.EndedAt, got.EndReason, at)
			}
		}
		if got := getSession(t, s, "ses_4"); got.EndReason != "logout" {
			t.Fatalf("an ended session was ended again: %q", got.EndReason)
		}
		if got := getSession(t, s, "ses_5"); !got.EndedAt.IsZero() {
			t.Fatalf("another user's session was ended")
		}
		ev = event("user.disable", "user", "usr_a")
		n, err = s.EndUserSessions(bg, "usr_a", "admin", at, ev)
		if err != nil || n != 0 {
			t.Fatalf("second EndUserSessions = %d, %v; want 0", n, err)
		}
		wantNoEvent(t, s, ev)
	}},
	{"ListSessions lists live, finished sign-ins, newest first", func(t *testing.T, s PeopleStore) {
		now := t0.Add(30 * time.Minute)
		createSession(t, s, session("usr_a", "ses_old", t0))
		createSession(t, s, session("usr_a", "ses_new", t0.Add(time.Minute)))
		createSession(t, s, session("usr_a", "ses_mid", t0.Add(30*time.Second)))
		p := session("usr_a", "ses_pending", t0)
		p.Pending = true
		createSession(t, s, p)
		ended := session("usr_a", "ses_ended", t0)
		createSession(t, s, ended)
		if _, err := s.EndSession(bg, "ses_ended", "logout", t0.Add(time.Minute), nil); err != nil {
			t.Fatalf("EndSession: %v", err)
		}
		exp := session("usr_a", "ses_expired", t0)
		exp.ExpiresAt = now // expiring at now is expired
		createSession(t, s, exp)
		idle := session("usr_a", "ses_idle", t0)
		idle.IdleExpiresAt = now.Add(-time.Nanosecond)
		createSession(t, s, idle)
		createSession(t, s, session("usr_b", "ses_b", t0))
		got, err := s.ListSessions(bg, "usr_a", now)
		if err != nil {
			t.Fatalf("ListSessions: %v", err)
		}
		if ids := sessionIDs(got); !slices.Equal(ids, []string{"ses_new", "ses_mid", "ses_old"}) {
			t.Fatalf("ListSessions = %v, want ses_new, ses_mid, ses_old", ids)
		}
		sameAs(t, "ListSessions[0]", got[0], session("usr_a", "ses_new", t0.Add(time.Minute)), normSession)
		got, err = s.ListSessions(bg, "usr_none", now)
		if err != nil || len(got) != 0 {
			t.Fatalf("ListSessions(usr_none) = %v, %v; want none", sessionIDs(got), err)
		}
	}},
	{"PruneSessions deletes sessions ended or expired before its time", func(t *testing.T, s PeopleStore) {
		live := session("usr_a", "ses_live", t0) // expires t0+1h idle, t0+24h
		createSession(t, s, live)
		ended := session("usr_a", "ses_ended", t0)
		createSession(t, s, ended)
		if _, err := s.EndSession(bg, "ses_ended", "logout", t0.Add(time.Minute), nil); err != nil {
			t.Fatalf("EndSession: %v", err)
		}
		abs := session("usr_a", "ses_abs", t0)
		abs.ExpiresAt, abs.IdleExpiresAt = t0.Add(2*time.Minute), t0.Add(2*time.Minute)
		createSession(t, s, abs)
		prune := func(before time.Time, want int64) {
			t.Helper()
			n, err := s.PruneSessions(bg, before)
			if err != nil || n != want {
				t.Fatalf("PruneSessions(t0%+v) = %d, %v; want %d", before.Sub(t0), n, err, want)
			}
		}
		prune(time.Time{}, 0)
		prune(t0.Add(time.Minute), 0) // ended at the time is not "before"
		prune(t0.Add(time.Minute+1), 1)
		prune(t0.Add(3*time.Minute), 1)
		prune(t0.Add(3*time.Minute), 0)
		if _, err := s.Session(bg, "ses_live"); err != nil {
			t.Fatalf("live session pruned: %v", err)
		}
		_, err := s.Session(bg, "ses_ended")
		wantErr(t, "Session(pruned)", err, token.ErrNotFound)
		prune(t0.Add(time.Hour+1), 1) // idle expiry
	}},
}

// challenge returns a challenge expiring at exp.
func challenge(id string, exp time.Time) *people.Challenge {
	return &people.Challenge{ID: id, UserID: "usr_a", Kind: "login", Data: []byte(`{"challenge":"` + id + `"}`), ExpiresAt: exp}
}

var challengeTests = []peopleTest{
	{"a challenge is taken once", func(t *testing.T, s PeopleStore) {
		c := challenge("ch_1", t0.Add(5*time.Minute))
		if err := s.PutChallenge(bg, c); err != nil {
			t.Fatalf("PutChallenge: %v", err)
		}
		d := challenge("ch_2", t0.Add(5*time.Minute))
		d.UserID, d.Kind = "", "register"
		if err := s.PutChallenge(bg, d); err != nil {
			t.Fatalf("PutChallenge: %v", err)
		}
		wantErr(t, "PutChallenge with an existing ID", s.PutChallenge(bg, challenge("ch_1", t0)), token.ErrConflict)
		got, err := s.TakeChallenge(bg, "ch_1", t0)
		if err != nil {
			t.Fatalf("TakeChallenge: %v", err)
		}
		if got.ID != c.ID || got.UserID != c.UserID || got.Kind != c.Kind || !bytes.Equal(got.Data, c.Data) || !got.ExpiresAt.Equal(c.ExpiresAt) {
			t.Fatalf("TakeChallenge = %+v, want %+v", got, c)
		}
		_, err = s.TakeChallenge(bg, "ch_1", t0)
		wantErr(t, "second TakeChallenge", err, token.ErrNotFound)
		got, err = s.TakeChallenge(bg, "ch_2", t0)
		if err != nil || got.UserID != "" || got.Kind != "register" {
			t.Fatalf("TakeChallenge(ch_2) = %+v, %v", got, err)
		}
		_, err = s.TakeChallenge(bg, "ch_none", t0)
		wantErr(t, "TakeChallenge(unknown)", err, token.ErrNotFound)
	}},
	{"an expired challenge is not taken", func(t *testing.T, s PeopleStore) {
		if err := s.PutChallenge(bg, challenge("ch_1", t0)); err != nil {
			t.Fatalf("PutChallenge: %v", err)
		}
		_, err := s.TakeChallenge(bg, "ch_1", t0) // expiring at now is expired
		wantErr(t, "TakeChallenge at its expiry", err, token.ErrNotFound)
		_, err = s.TakeChallenge(bg, "ch_1", t0.Add(time.Second))
		wantErr(t, "TakeChallenge after its expiry", err, token.ErrNotFound)
		if _, err := s.TakeChallenge(bg, "ch_1", t0.Add(-time.Second)); err != nil {
			t.Fatalf("TakeChallenge before its expiry: %v", err)
		}
	}},
	{"exactly one of concurrent takes gets the challenge", func(t *testing.T, s PeopleStore) {
		for round := range 5 {
			id := fmt.Sprint("ch_", round)
			if err := s.PutChallenge(bg, challenge(id, t0.Add(time.Minute))); err != nil {
				t.Fatalf("PutChallenge: %v", err)
			}
			var wins atomic.Int64
			concurrently(20, func(int) {
				_, err := s.TakeChallenge(bg, id, t0)
				switch {
				case err == nil:
					wins.Add(1)
				case !errors.Is(err, token.ErrNotFound):
					t.Errorf("TakeChallenge: %v", err)
				}
			})
			if got := wins.Load(); got != 1 {
				t.Fatalf("%s: %d of 20 concurrent takes got the challenge, want exactly 1", id, got)
			}
		}
	}},
	{"PruneChallenges deletes those expired before its time", func(t *testing.T, s PeopleStore) {
		for i, d := range []time.Duration{-2 * time.Minute, -time.Minute, 0, time.Minute} {
			if err := s.PutChallenge(bg, challenge(fmt.Sprint("ch_", i), t0.Add(d))); err != nil {
				t.Fatalf("PutChallenge: %v", err)
			}
		}
		prune := func(before time.Time, want int64) {
			t.Helper()
			n, err := s.PruneChallenges(bg, before)
			if err != nil || n != want {
				t.Fatalf("PruneChallenges(t0%+v) = %d, %v; want %d", before.Sub(t0), n, err, want)
			}
		}
		prune(time.Time{}, 0)
		prune(t0.Add(-2*time.Minute), 0)
		prune(t0, 2)
		prune(t0, 0)
		if _, err := s.TakeChallenge(bg, "ch_3", t0); err != nil {
			t.Fatalf("TakeChallenge of a live challenge after pruning: %v", err)
		}
		prune(t0.Add(time.Hour), 1)
	}},
}

var throttleTests = []peopleTest{
	{"failures count within the window, start again after it, and reset", func(t *testing.T, s PeopleStore) {
		th, err := s.Throttle(bg, "user:alice")
		if err != nil || th.Key != "user:alice" || th.Failures != 0 || !th.LastFailure.IsZero() || !th.LockedUntil.IsZero() {
			t.Fatalf("Throttle of an unknown key = %+v, %v; want a zero record", th, err)
		}
		lock := func(n int) time.Time {
			if n < 3 {
				return time.Time{}
			}
			return t0.Add(time.Duration(n) * time.Hour)
		}
		record := func(at time.Time, want int) *people.Throttle {
			t.Helper()
			th, err := s.RecordFailure(bg, "user:alice", at, 10*time.Minute, lock)
			if err != nil {
				t.Fatalf("RecordFailure: %v", err)
			}
			if th.Key != "user:alice" || th.Failures != want || !th.LastFailure.Equal(at) || !th.LockedUntil.Equal(lock(want)) {
				t.Fatalf("RecordFailure = %+v, want %d failures, last at %s, locked until %s", th, want, at, lock(want))
			}
			got, err := s.Throttle(bg, "user:alice")
			if err != nil || got.Failures != th.Failures || !got.LastFailure.Equal(th.LastFailure) || !got.LockedUntil.Equal(th.LockedUntil) {
				t.Fatalf("Throttle = %+v, %v; want what RecordFailure returned, %+v", got, err, th)
			}
			return th
		}
		record(t0, 1)
		record(t0.Add(time.Minute), 2)
		record(t0.Add(11*time.Minute), 3) // 10 minutes after the last one: within
		record(t0.Add(22*time.Minute), 1) // 11 minutes after: starts again
		if th, err := s.RecordFailure(bg, "addr:192.0.2.1", t0, time.Minute, lock); err != nil || th.Failures != 1 {
			t.Fatalf("RecordFailure of another key = %+v, %v; want 1 failure", th, err)
		}
		if err := s.ResetThrottle(bg, "user:alice"); err != nil {
			t.Fatalf("ResetThrottle: %v", err)
		}
		th, err = s.Throttle(bg, "user:alice")
		if err != nil || th.Failures != 0 || !th.LastFailure.IsZero() {
			t.Fatalf("Throttle after reset = %+v, %v; want a zero record", th, err)
		}
		if err := s.ResetThrottle(bg, "user:nobody"); err != nil {
			t.Fatalf("ResetThrottle of an unknown key: %v", err)
		}
		record(t0.Add(23*time.Minute), 1)
		if th, err := s.Throttle(bg, "addr:192.0.2.1"); err != nil || th.Failures != 1 {
			t.Fatalf("Throttle of the other key = %+v, %v; want 1 failure", th, err)
		}
	}},
	{"concurrent failures are all counted", func(t *testing.T, s PeopleStore) {
		const n = 20
		var mu sync.Mutex
		var seen []int
		concurrently(n, func(i int) {
			th, err := s.RecordFailure(bg, "user:bob", t0.Add(time.Duration(i)*time.Millisecond), time.Hour,
				func(int) time.Time { return time.Time{} })
			if err != nil {
				t.Errorf("RecordFailure: %v", err)
				return
			}
			mu.Lock()
			seen = append(seen, th.Failures)
			mu.Unlock()
		})
		th, err := s.Throttle(bg, "user:bob")
		if err != nil || th.Failures != n {
			t.Fatalf("Throttle after %d concurrent failures = %+v, %v; want %d failures", n, th, err, n)
		}
		slices.Sort(seen)
		for i, f := range seen {
			if f != i+1 {
				t.Fatalf("the concurrent failures were told counts %v, want each of 1…%d once", seen, n)
			}
		}
	}},
}
