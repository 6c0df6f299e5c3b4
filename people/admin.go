package people

import (
	"github.com/latchkey/latchkey/scope"
	"github.com/latchkey/latchkey/token"
	"time"
)

// Errors of AdminActor.
var (
	// ErrNotAdmin refuses the console to a user who holds no management
	// permission (403).
	ErrNotAdmin = token.Errorf(token.PermissionDenied, "not_admin",
		"this page is for administrators: your account holds no management permission")
	// ErrAdminSecondFactor refuses the console to a session that signed in
	// without a second factor (403): administrators need one (SPEC §3.10).
	ErrAdminSecondFactor = token.Errorf(token.PermissionDenied, "second_factor_required",
		"administrators must sign in with a second factor (an authenticator app or a passkey)")
)

// ManagementPermissions returns the management scopes among p's
// permissions (token.ManagementScopes), in their catalogue order.
func ManagementPermissions(p *token.Principal) []string {
	var out []string
	for _, s := range token.ManagementScopes {
		if scope.Set(p.Permissions).Has(s) {
			out = append(out, s)
		}
	}
	return out
}

// SignedInWithSecondFactor reports whether sess used a second factor —
// a TOTP or recovery code after the password, or a passkey (which proves
// possession and, verified by the authenticator, the user) — at any time
// during its life.
func SignedInWithSecondFactor(sess *Session) bool {
	for _, f := range sess.Factors {
		if secondFactor(f.Method) {
			return true
		}
	}
	return false
}

// AdminActor is the actor of the admin console: the session of user, who
// must be its live principal as Authenticate returned it (read from the
// database on every request), acting with the management scopes user holds
// NOW. A user without one gets ErrNotAdmin; a session without a second
// factor gets ErrAdminSecondFactor. The actor carries no owner: like a
// management key, it is bounded by its scopes alone, and the token service
// authorizes and audits each call exactly as for the API (the audit names
// the session as the acting credential).
//
// The actor is marked as a session's (Session, and SteppedUp when a second
// factor was used in the last five minutes at now), so that the token
// service's own step-up checks (a reveal) apply to the console as to any
// session.
func AdminActor(sess *Session, user *token.Principal, requestID, ip string, now time.Time) (*token.Actor, error) {
	if sess == nil || user == nil || sess.UserID != user.ID || user.Type != token.User {
		return nil, errNoSession
	}
	scopes := ManagementPermissions(user)
	if len(scopes) == 0 {
		return nil, ErrNotAdmin
	}
	if !SignedInWithSecondFactor(sess) {
		return nil, ErrAdminSecondFactor
	}
	return &token.Actor{KeyID: sess.ID, Name: user.ID, Scopes: scopes, RequestID: requestID, IP: ip,
		Session: true, SteppedUp: SteppedUp(sess, now)}, nil
}
