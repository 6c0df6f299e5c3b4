package token

import (
	"encoding/json"
	"time"

	"github.com/latchkey/latchkey/ratelimit"
)

// PrincipalType says whom a key acts for.
type PrincipalType string

// Principal types.
const (
	User PrincipalType = "user" // a human; keys never do more than the user may now
	App  PrincipalType = "app"  // an application or service account
)

// ValidPrincipalType reports whether t is user or app.
func ValidPrincipalType(t PrincipalType) bool { return t == User || t == App }

// Principal is a user or an app. Its ID is the caller's own identifier.
type Principal struct {
	Type        PrincipalType
	ID          string
	Name        string
	Permissions []string // the most any of its keys may do
	Disabled    bool     // disables every key of the principal at once
	// RateLimits are shared by all keys of the principal.
	RateLimits []ratelimit.Limit
	Metadata   json.RawMessage
	// Email, EmailVerified and PreferredUsername are the OpenID Connect
	// profile claims of a user (OIDC Core §5.1); an app has none of them.
	Email             string
	EmailVerified     bool // the address is known to be the user's
	PreferredUsername string
	// Groups are the short names of a user's groups (the OpenID Connect
	// groups claim); an app has none.
	Groups    []string
	CreatedAt time.Time
	UpdatedAt time.Time
	Version   int64
}

// Clone returns a deep copy of p.
func (p *Principal) Clone() *Principal {
	c := *p
	c.Permissions = append([]string(nil), p.Permissions...)
	c.Groups = append([]string(nil), p.Groups...)
	c.RateLimits = append([]ratelimit.Limit(nil), p.RateLimits...)
	c.Metadata = append(json.RawMessage(nil), p.Metadata...)
	return &c
}

// PrincipalFilter selects principals for a listing.
type PrincipalFilter struct {
	Type  PrincipalType
	After string // cursor: principals with ID > After
	Limit int
}
