package token

import (
	"slices"

	"github.com/latchkey/latchkey/scope"
)

// Management scopes: the only scopes a key of the ManagementKeyspace may
// carry.
const (
	ScopeAdmin           = "admin"
	ScopeKeysRead        = "keys:read"
	ScopeKeysWrite       = "keys:write"
	ScopeKeysVerify      = "keys:verify"
	ScopePrincipalsWrite = "principals:write"
	ScopeKeyspacesWrite  = "keyspaces:write"
	ScopeAuditRead       = "audit:read"
	ScopeWebhooksRead    = "webhooks:read"
	ScopeWebhooksWrite   = "webhooks:write"
	// ScopeKeysReveal reads the kept plaintext of a recoverable key again
	// (GET /v1/keys/{id}/secret); keys:write does not imply it.
	ScopeKeysReveal = "keys:reveal"
)

// ManagementScopes lists every management scope.
var ManagementScopes = []string{
	ScopeAdmin, ScopeAuditRead, ScopeKeysRead, ScopeKeysReveal, ScopeKeysVerify,
	ScopeKeysWrite, ScopeKeyspacesWrite, ScopePrincipalsWrite, ScopeWebhooksRead, ScopeWebhooksWrite,
}

// IsManagementScope reports whether s is one of ManagementScopes.
func IsManagementScope(s string) bool { return slices.Contains(ManagementScopes, s) }

// Actor is an authenticated management credential acting on the Service.
type Actor struct {
	KeyID  string
	Name   string
	Scopes scope.Set // effective scopes
	Owner  *Owner    // set for personal (self-service) credentials
	// Inert are the credential's scopes its owner no longer holds: stored
	// on the key but granted by no verification.
	Inert     []string
	RequestID string
	IP        string
	// Session is set for a person acting through a sign-in session
	// (people.SessionActor) rather than a management credential;
	// SteppedUp reports that the session used a second factor within the
	// step-up window (people.StepUpWindow). Dangerous operations, such as
	// revealing a recoverable key, refuse a session that did not step up.
	Session, SteppedUp bool

	// oauthIssuer marks OAuthIssuer's actor: the only one that may create
	// keys in the reserved keyspaces (ReservedKeyspace).
	oauthIssuer bool

	once *Once // set by WithOnce: the change stores its answer
}

// SystemActor is latchkey itself, e.g. when it bootstraps the root key.
var SystemActor = &Actor{KeyID: "system", Scopes: scope.Set{ScopeAdmin}}

// May reports whether the actor holds scope s (admin holds every scope).
func (a *Actor) May(s string) bool {
	for _, g := range a.Scopes {
		if g == ScopeAdmin || g == s {
			return true
		}
	}
	return false
}

// ownerBound reports whether the actor may only see its own principal's
// keys: a personal credential without admin.
func (a *Actor) ownerBound() bool {
	return a.Owner != nil && !a.May(ScopeAdmin)
}

// owns reports whether the actor may see key k at all.
func (a *Actor) owns(k *Key) bool {
	if !a.ownerBound() {
		return true
	}
	return k.Owner != nil && *k.Owner == *a.Owner
}

// mayRead reports whether the actor may read keys.
func (a *Actor) mayReadKeys() bool { return a.May(ScopeKeysRead) || a.May(ScopeKeysWrite) }
