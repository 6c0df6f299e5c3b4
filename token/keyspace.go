package token

import (
	"time"

	"github.com/latchkey/latchkey/ratelimit"
)

// Built-in keyspaces.
const (
	// DefaultKeyspace exists from the first start; keys created without a
	// keyspace go there.
	DefaultKeyspace = "default"
	// ManagementKeyspace holds latchkey's own management credentials.
	ManagementKeyspace = "latchkey"
)

// Keyspace groups the keys of one protected API or environment.
type Keyspace struct {
	Name           string
	Prefix         string        // token prefix, e.g. "acme_live"
	DefaultTTL     time.Duration // 0: keys are permanent unless asked otherwise
	MaxTTL         time.Duration // 0: no cap; otherwise caps a key's whole life, renewals included
	AllowPermanent bool
	Scopes         []string          // catalogue of known scopes; empty: any valid scope
	RateLimits     []ratelimit.Limit // default limits of keys created without their own
	// Audiences are the aud values, besides the keyspace's name, that JWTs
	// exchanged for its keys may ask for.
	Audiences []string
	// AllowAPIKeyHeader lets its keys be presented as "X-API-Key: <key>"
	// (at the gateway) besides "Authorization: Bearer".
	AllowAPIKeyHeader bool
	CreatedAt         time.Time
	UpdatedAt         time.Time
	// Recoverable keeps the plaintext of keys created (or rotated) while
	// it is on, sealed with the master key, so that a credential with
	// keys:reveal can read it again (GET /v1/keys/{id}/secret). Turning it
	// off deletes the kept plaintexts of the keyspace's keys.
	Recoverable bool
}

// Clone returns a deep copy of ks.
func (ks *Keyspace) Clone() *Keyspace {
	c := *ks
	c.Scopes = append([]string(nil), ks.Scopes...)
	c.RateLimits = append([]ratelimit.Limit(nil), ks.RateLimits...)
	c.Audiences = append([]string(nil), ks.Audiences...)
	return &c
}
