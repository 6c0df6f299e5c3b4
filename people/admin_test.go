package people_test

import (
	"errors"
	"testing"
	"time"

	"github.com/latchkey/latchkey/people"
	"github.com/latchkey/latchkey/token"
)

// TestAdminActor: the console's actor carries the user's management
// permissions only, and only for a session that used a second factor.
func TestAdminActor(t *testing.T) {
	now := time.Now()
	pw := people.Factor{Method: people.MethodPassword, At: now}
	otp := people.Factor{Method: people.MethodTOTP, At: now}
	pk := people.Factor{Method: people.MethodPasskey, At: now}
	user := func(perms ...string) *token.Principal {
		return &token.Principal{Type: token.User, ID: "ada", Permissions: perms}
	}
	sess := func(f ...people.Factor) *people.Session {
		return &people.Session{ID: "ses_1", UserID: "ada", Factors: f}
	}

	a, err := people.AdminActor(sess(pw, otp), user("orders:read", "keys:read", "audit:read"), "req", "192.0.2.1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !a.Session {
		t.Errorf("the console actor is not marked as a session's: the token service's step-up checks would not apply")
	}
	if a.Owner != nil || a.KeyID != "ses_1" || a.Name != "ada" || len(a.Scopes) != 2 || !a.May("keys:read") || !a.May("audit:read") || a.May("orders:read") || a.May("keys:write") {
		t.Fatalf("actor %+v", a)
	}
	if a, err := people.AdminActor(sess(pk), user("admin"), "", "", time.Now()); err != nil || !a.May(token.ScopeKeysWrite) {
		t.Fatalf("passkey sign-in of an admin: %v", err)
	}
	if _, err := people.AdminActor(sess(pw), user("admin"), "", "", time.Now()); !errors.Is(err, people.ErrAdminSecondFactor) {
		t.Fatalf("password only: %v, want ErrAdminSecondFactor", err)
	}
	if _, err := people.AdminActor(sess(pw, otp), user("orders:read"), "", "", time.Now()); !errors.Is(err, people.ErrNotAdmin) {
		t.Fatalf("no management permission: %v, want ErrNotAdmin", err)
	}
	if _, err := people.AdminActor(sess(pw, otp), &token.Principal{Type: token.User, ID: "bob", Permissions: []string{"admin"}}, "", "", time.Now()); token.KindOf(err) != token.Unauthenticated {
		t.Fatalf("another user's session: %v", err)
	}
}
