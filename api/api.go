// Package api holds the JSON wire types of latchkey's /v1 HTTP API. The
// server (httpapi) and the Go client (client) share them, so the two cannot
// drift apart. Field names are snake_case; times are RFC 3339 UTC;
// durations are Go duration strings ("720h").
package api

import (
	"encoding/json"
	"time"
)

// Owner names the principal a key acts for.
type Owner struct {
	Type string `json:"type"` // "user" or "app"
	ID   string `json:"id"`
}

// Key is a stored key as the API shows it. The plaintext appears only in
// CreatedKey.
type Key struct {
	ID       string   `json:"id"`
	Keyspace string   `json:"keyspace"`
	Name     string   `json:"name"`
	Start    string   `json:"start"`
	Owner    *Owner   `json:"owner,omitempty"`
	Scopes   []string `json:"scopes"`
	// EffectiveScopes are the scopes a verification grants now: scopes ∩
	// the owner's current permissions. InertScopes are the scopes the owner
	// no longer holds. Both are given by GET /v1/keys/{id}, the listing
	// and an update; nil elsewhere.
	EffectiveScopes *[]string       `json:"effective_scopes,omitempty"`
	InertScopes     *[]string       `json:"inert_scopes,omitempty"`
	Metadata        json.RawMessage `json:"metadata,omitempty"`
	State           string          `json:"state"` // active, disabled, revoked, expired
	Enabled         bool            `json:"enabled"`
	CreatedAt       time.Time       `json:"created_at"`
	UpdatedAt       time.Time       `json:"updated_at"`
	ExpiresAt       *time.Time      `json:"expires_at"` // null: permanent
	TTL             string          `json:"ttl,omitempty"`
	RevokedAt       *time.Time      `json:"revoked_at,omitempty"`
	RevokeReason    string          `json:"revoke_reason,omitempty"`
	Remaining       *int64          `json:"remaining,omitempty"`
	RotatedFrom     string          `json:"rotated_from,omitempty"`
	RotatedTo       string          `json:"rotated_to,omitempty"`
	LastUsedAt      *time.Time      `json:"last_used_at,omitempty"`
	LastUsedIP      string          `json:"last_used_ip,omitempty"`
	Imported        bool            `json:"imported,omitempty"`
	RateLimits      []RateLimit     `json:"ratelimits,omitempty"`
	IPAllow         []string        `json:"ip_allow,omitempty"`
	Refill          *Refill         `json:"refill,omitempty"`
	RefilledAt      *time.Time      `json:"refilled_at,omitempty"`
	// SignsRequests says that the key has a request-signing secret: it is
	// valid only on requests signed with it (RFC 9421).
	SignsRequests bool `json:"signs_requests,omitempty"`
	// DPoPJKT binds the key to a DPoP key (RFC 9449): the base64url
	// SHA-256 thumbprint of the public key whose proof must come with
	// every use of the key, sent as "Authorization: DPoP <key>".
	DPoPJKT string `json:"dpop_jkt,omitempty"`
	// Verifications counts verifications by result code (GET /v1/keys/{id}
	// only; flushed every few seconds).
	Verifications map[string]int64 `json:"verifications,omitempty"`
}

// KeySecret is the answer of GET /v1/keys/{id}/secret: the plaintext of a
// recoverable key, read again.
type KeySecret struct {
	KeyID  string `json:"key_id"`
	Secret string `json:"secret"`
}

// CreatedKey is the answer to a create or rotate: the key plus its
// plaintext, shown this once.
type CreatedKey struct {
	Key
	Secret string `json:"key"`
	// SigningSecret is the key's request-signing secret (HMAC-SHA256 key:
	// the string's bytes), shown this once; absent for keys without one.
	SigningSecret string `json:"signing_secret,omitempty"`
}

// CreateKeyRequest is the body of POST /v1/keys.
type CreateKeyRequest struct {
	Keyspace  string          `json:"keyspace,omitempty"`
	Name      string          `json:"name,omitempty"`
	Owner     *Owner          `json:"owner,omitempty"`
	Scopes    []string        `json:"scopes,omitempty"`
	ExpiresIn Lifetime        `json:"expires_in,omitempty"` // "30d", "720h" or seconds
	ExpiresAt *time.Time      `json:"expires_at,omitempty"`
	Metadata  json.RawMessage `json:"metadata,omitempty"`
	Remaining *int64          `json:"remaining,omitempty"`
	// RateLimits are the key's own limits; absent: the keyspace's default.
	RateLimits []RateLimit `json:"ratelimits,omitempty"`
	IPAllow    []string    `json:"ip_allow,omitempty"`
	Refill     *Refill     `json:"refill,omitempty"`
	// SigningSecret gives the key a request-signing secret (answered once
	// as signing_secret): the key is then valid only on requests signed
	// with it (RFC 9421 hmac-sha256, keyid = the key's ID).
	SigningSecret bool `json:"signing_secret,omitempty"`
	// DPoPJKT binds the key to a DPoP key: the base64url SHA-256
	// thumbprint (RFC 7638) of its public key, 43 characters. The key is
	// then valid only with a DPoP proof signed by that key.
	DPoPJKT string `json:"dpop_jkt,omitempty"`
}

// RateLimit is a named budget: Limit cost units per Window ("1m").
type RateLimit struct {
	Name   string `json:"name"`
	Limit  int64  `json:"limit"`
	Window string `json:"window"`
}

// Refill resets a key's remaining credits to Amount at the start of every
// interval ("daily": 00:00 UTC; "monthly": the 1st, 00:00 UTC).
type Refill struct {
	Interval string `json:"interval"`
	Amount   int64  `json:"amount"`
}

// RateLimitState is a limit's state after a verification.
type RateLimitState struct {
	Name      string `json:"name"`
	Limit     int64  `json:"limit"`
	Remaining int64  `json:"remaining"`
	Reset     int64  `json:"reset"` // Unix epoch milliseconds when the budget is full again
	Window    string `json:"window"`
}

// UpdateKeyRequest is the body of PATCH /v1/keys/{id}. Absent fields stay
// unchanged. ExpiresAt and Remaining accept JSON null: permanent and
// unlimited respectively (use the Null* helpers of package client).
type UpdateKeyRequest struct {
	Name      *string         `json:"name,omitempty"`
	Scopes    *[]string       `json:"scopes,omitempty"`
	Metadata  json.RawMessage `json:"metadata,omitempty"`
	ExpiresAt json.RawMessage `json:"expires_at,omitempty"`
	Enabled   *bool           `json:"enabled,omitempty"`
	Remaining json.RawMessage `json:"remaining,omitempty"`
	// RateLimits replaces the key's limits ([] removes them).
	RateLimits *[]RateLimit `json:"ratelimits,omitempty"`
	// IPAllow replaces the allowlist ([] allows every address).
	IPAllow *[]string `json:"ip_allow,omitempty"`
	// Refill sets the refill; JSON null removes it.
	Refill json.RawMessage `json:"refill,omitempty"`
}

// RevokeRequest is the body of POST /v1/keys/{id}/revoke.
type RevokeRequest struct {
	Reason string `json:"reason,omitempty"`
}

// RotateRequest is the body of POST /v1/keys/{id}/rotate.
type RotateRequest struct {
	GracePeriod string `json:"grace_period,omitempty"`
}

// RotatedKey is the answer to a rotate: the successor with its plaintext,
// and the old key as it is now.
type RotatedKey struct {
	CreatedKey
	Previous Key `json:"previous"`
}

// KeyList is a page of keys.
type KeyList struct {
	Items      []Key  `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// VerifyRequest is the body of POST /v1/keys/verify.
type VerifyRequest struct {
	Key string `json:"key"`
	// Keyspace, if set, makes keys of every other keyspace NOT_FOUND.
	// Without it, keys of every keyspace but "latchkey" are accepted.
	Keyspace   string   `json:"keyspace,omitempty"`
	Scopes     []string `json:"scopes,omitempty"`
	ScopeQuery string   `json:"scope_query,omitempty"`
	// Cost is what this request takes from rate limits and credits
	// (default 1; 0 checks without spending).
	Cost *int64 `json:"cost,omitempty"`
	// IP is the address of the client that presented the key, for IP
	// allowlists and brute-force throttling; default: the caller's own.
	IP string `json:"ip,omitempty"`
	// Request is the HTTP request the key came with, for keys with a
	// signing secret: such a key is valid only with a valid RFC 9421
	// signature of its request (code INVALID_SIGNATURE otherwise).
	Request *SignedRequest `json:"request,omitempty"`
	// DPoP is the DPoP proof the key came with, for keys bound to a DPoP
	// key: such a key is valid only with a valid proof of that key for
	// the request (code INVALID_DPOP_PROOF or USE_DPOP_NONCE otherwise).
	// Send it only when the key came as "Authorization: DPoP <key>": a
	// bound key sent as a bearer token must be refused.
	DPoP *DPoPProof `json:"dpop,omitempty"`
}

// DPoPProof is a DPoP proof (RFC 9449) and the request it came with.
type DPoPProof struct {
	Proof  string `json:"proof"`  // the DPoP header's value
	Method string `json:"method"` // the request's method
	// URL is the absolute URL the client sent the request to; its query
	// and fragment are ignored.
	URL string `json:"url"`
}

// SignedRequest is what a gateway forwards of a signed HTTP request: the
// components an RFC 9421 signature may cover. The body stays with the
// gateway, which checks it against the (signed) Content-Digest header.
type SignedRequest struct {
	Method string `json:"method"`
	// TargetURI is the absolute URI the client sent the request to
	// (scheme://authority/path?query).
	TargetURI string `json:"target_uri"`
	// Headers holds the request's header fields by lower-case name; it must
	// include signature-input and signature and every field they cover.
	Headers map[string][]string `json:"headers"`
}

// VerifyResponse is the answer of POST /v1/keys/verify.
type VerifyResponse struct {
	Valid     bool            `json:"valid"`
	Code      string          `json:"code"`
	KeyID     string          `json:"key_id,omitempty"`
	Keyspace  string          `json:"keyspace,omitempty"`
	Name      string          `json:"name,omitempty"`
	Owner     *Owner          `json:"owner,omitempty"`
	Scopes    []string        `json:"scopes,omitempty"`
	ExpiresAt *time.Time      `json:"expires_at,omitempty"`
	Metadata  json.RawMessage `json:"metadata,omitempty"`
	Remaining *int64          `json:"remaining,omitempty"`
	// RateLimits is the state of every limit that applies (the key's,
	// then its owner's, named "owner_<name>"), present whenever any does.
	RateLimits []RateLimitState `json:"ratelimits,omitempty"`
	// DPoPNonce is a fresh server nonce with code USE_DPOP_NONCE: the
	// gateway hands it to the client in a DPoP-Nonce header.
	DPoPNonce string `json:"dpop_nonce,omitempty"`
}

// Keyspace is a group of keys for one API or environment.
type Keyspace struct {
	Name           string      `json:"name"`
	Prefix         string      `json:"prefix"`
	DefaultTTL     string      `json:"default_ttl,omitempty"`
	MaxTTL         string      `json:"max_ttl,omitempty"`
	AllowPermanent bool        `json:"allow_permanent"`
	Scopes         []string    `json:"scopes,omitempty"`
	CreatedAt      time.Time   `json:"created_at"`
	UpdatedAt      time.Time   `json:"updated_at"`
	RateLimits     []RateLimit `json:"ratelimits,omitempty"`
	Audiences      []string    `json:"audiences,omitempty"`
	// AllowAPIKeyHeader lets the keyspace's keys be presented as
	// "X-API-Key: <key>" at the gateway (on routes that accept it).
	AllowAPIKeyHeader bool `json:"allow_api_key_header"`
	// Recoverable keeps the plaintext of keys created or rotated while it
	// is on, sealed with the master key, for GET /v1/keys/{id}/secret.
	Recoverable bool `json:"recoverable"`
}

// KeyspaceRequest is the body of POST /v1/keyspaces (Name required) and
// PATCH /v1/keyspaces/{name} (Name ignored). Absent fields keep their value.
type KeyspaceRequest struct {
	Name           string    `json:"name,omitempty"`
	Prefix         *string   `json:"prefix,omitempty"`
	DefaultTTL     *string   `json:"default_ttl,omitempty"`
	MaxTTL         *string   `json:"max_ttl,omitempty"`
	AllowPermanent *bool     `json:"allow_permanent,omitempty"`
	Scopes         *[]string `json:"scopes,omitempty"`
	// RateLimits are the default limits of keys created without their own.
	RateLimits *[]RateLimit `json:"ratelimits,omitempty"`
	// Audiences are the aud values, besides the keyspace's name, that JWTs
	// from POST /v1/tokens may ask for; replaces all old ones.
	Audiences *[]string `json:"audiences,omitempty"`
	// AllowAPIKeyHeader lets the keys be presented as "X-API-Key".
	AllowAPIKeyHeader *bool `json:"allow_api_key_header,omitempty"`
	// Recoverable turns kept plaintexts on for keys created from now on;
	// false deletes the kept plaintexts of the keyspace's keys.
	Recoverable *bool `json:"recoverable,omitempty"`
}

// KeyspaceList lists keyspaces.
type KeyspaceList struct {
	Items []Keyspace `json:"items"`
}

// Principal is a user or an app.
type Principal struct {
	Type        string          `json:"type"`
	ID          string          `json:"id"`
	Name        string          `json:"name,omitempty"`
	Permissions []string        `json:"permissions"`
	Disabled    bool            `json:"disabled"`
	Metadata    json.RawMessage `json:"metadata,omitempty"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
	// Email, EmailVerified and PreferredUsername are a user's OpenID
	// Connect profile claims (OIDC Core §5.1); apps have none.
	Email             string `json:"email,omitempty"`
	EmailVerified     bool   `json:"email_verified,omitempty"`
	PreferredUsername string `json:"preferred_username,omitempty"`
	// Groups are a user's groups (the OpenID Connect groups claim).
	Groups []string `json:"groups,omitempty"`
	// OwnerRateLimits are shared by all keys of this principal.
	OwnerRateLimits []RateLimit `json:"owner_ratelimits,omitempty"`
	// OAuth, for an app that is an OAuth client: its settings; ClientID is
	// the app ID, and ClientSecret is set once, in the answer of the create
	// call of a confidential client.
	OAuth        *OAuthSettings `json:"oauth,omitempty"`
	ClientID     string         `json:"client_id,omitempty"`
	ClientSecret string         `json:"client_secret,omitempty"`
}

// CreatePrincipalRequest is the body of POST /v1/users and POST /v1/apps.
type CreatePrincipalRequest struct {
	ID              string          `json:"id"`
	Name            string          `json:"name,omitempty"`
	Permissions     []string        `json:"permissions,omitempty"`
	Metadata        json.RawMessage `json:"metadata,omitempty"`
	OwnerRateLimits []RateLimit     `json:"owner_ratelimits,omitempty"`
	// Email, EmailVerified and PreferredUsername are a user's OpenID
	// Connect profile claims (users only).
	Email             string `json:"email,omitempty"`
	EmailVerified     bool   `json:"email_verified,omitempty"`
	PreferredUsername string `json:"preferred_username,omitempty"`
	// Groups are a user's groups, short names (users only).
	Groups []string `json:"groups,omitempty"`
	// OAuth makes an app an OAuth client (apps only).
	OAuth *OAuthSettings `json:"oauth,omitempty"`
}

// UpdatePrincipalRequest is the body of PATCH /v1/users/{id} and
// /v1/apps/{id}.
type UpdatePrincipalRequest struct {
	Name        *string         `json:"name,omitempty"`
	Permissions *[]string       `json:"permissions,omitempty"`
	Disabled    *bool           `json:"disabled,omitempty"`
	Metadata    json.RawMessage `json:"metadata,omitempty"`
	// OwnerRateLimits replaces the shared limits ([] removes them).
	OwnerRateLimits *[]RateLimit `json:"owner_ratelimits,omitempty"`
	// Email, EmailVerified and PreferredUsername replace a user's OpenID
	// Connect profile claims (users only; "" clears a string).
	Email             *string `json:"email,omitempty"`
	EmailVerified     *bool   `json:"email_verified,omitempty"`
	PreferredUsername *string `json:"preferred_username,omitempty"`
	// Groups replaces a user's groups ([] removes them; users only).
	Groups *[]string `json:"groups,omitempty"`
	// OAuth replaces an app's OAuth settings (apps only; an app without
	// them becomes an OAuth client, and the answer carries its secret).
	OAuth *OAuthSettings `json:"oauth,omitempty"`
}

// PrincipalList is a page of principals.
type PrincipalList struct {
	Items      []Principal `json:"items"`
	NextCursor string      `json:"next_cursor,omitempty"`
}

// AuditEvent is one entry of the audit log.
type AuditEvent struct {
	ID         string            `json:"id"`
	Time       time.Time         `json:"time"`
	Actor      string            `json:"actor"`
	Action     string            `json:"action"`
	TargetType string            `json:"target_type"`
	TargetID   string            `json:"target_id,omitempty"`
	Outcome    string            `json:"outcome"`
	RequestID  string            `json:"request_id,omitempty"`
	Detail     map[string]string `json:"detail,omitempty"`
}

// AuditList is a page of audit events, newest first.
type AuditList struct {
	Items      []AuditEvent `json:"items"`
	NextCursor string       `json:"next_cursor,omitempty"`
}

// Hashes are in standard base64.

// AuditCheckpoint is a signed checkpoint of the audit log's Merkle tree
// (GET /v1/audit/checkpoint with Accept: application/json).
type AuditCheckpoint struct {
	Size     int64     `json:"size"`
	RootHash string    `json:"root_hash"` // base64
	Note     string    `json:"note"`      // the signed note, as served in text/plain
	Time     time.Time `json:"time"`
}

// AuditInclusionProof proves that record Seq is in the tree of Size
// records (GET /v1/audit/{seq}/proof): tlog.CheckRecord(proof, size,
// root_hash, seq, leaf_hash), and leaf_hash is the RFC 6962 leaf hash of
// leaf, the record's canonical encoding.
type AuditInclusionProof struct {
	Seq      int64    `json:"seq"`
	ID       string   `json:"id"`
	Size     int64    `json:"size"`
	Leaf     string   `json:"leaf"`
	LeafHash string   `json:"leaf_hash"`
	RootHash string   `json:"root_hash"`
	Proof    []string `json:"proof"`
}

// AuditConsistencyProof proves that the tree of From records is a prefix
// of the tree of To records (GET /v1/audit/consistency):
// tlog.CheckTree(proof, to, to_root, from, from_root).
type AuditConsistencyProof struct {
	From     int64    `json:"from"`
	To       int64    `json:"to"`
	FromRoot string   `json:"from_root"`
	ToRoot   string   `json:"to_root"`
	Proof    []string `json:"proof"`
}

// Self describes the presenting management credential (GET /v1/self).
type Self struct {
	KeyID  string   `json:"key_id"`
	Name   string   `json:"name,omitempty"`
	Scopes []string `json:"scopes"` // effective: what the credential may do now
	// InertScopes are the credential's scopes its owner no longer holds.
	InertScopes []string `json:"inert_scopes"`
	Owner       *Owner   `json:"owner,omitempty"`
}

// Problem is an RFC 9457 problem document with latchkey's stable code.
type Problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	Code      string `json:"code"`
	RequestID string `json:"request_id,omitempty"`
}

// ImportKeysRequest is the body of POST /v1/keys/import: keys issued by
// another system, known by the SHA-256 digest of their plaintext (at most
// 1000 per request; all or nothing).
type ImportKeysRequest struct {
	Keyspace string      `json:"keyspace,omitempty"`
	Keys     []ImportKey `json:"keys"`
}

// ImportKey is one key to import.
type ImportKey struct {
	Hash       string          `json:"hash"` // 64 hex characters: SHA-256 of the plaintext
	Start      string          `json:"start,omitempty"`
	Name       string          `json:"name,omitempty"`
	Owner      *Owner          `json:"owner,omitempty"`
	Scopes     []string        `json:"scopes,omitempty"`
	ExpiresAt  *time.Time      `json:"expires_at,omitempty"`
	Metadata   json.RawMessage `json:"metadata,omitempty"`
	Remaining  *int64          `json:"remaining,omitempty"`
	RateLimits []RateLimit     `json:"ratelimits,omitempty"`
	IPAllow    []string        `json:"ip_allow,omitempty"`
}

// ImportKeysResponse answers an import with the new key IDs, in request
// order.
type ImportKeysResponse struct {
	Imported int      `json:"imported"`
	IDs      []string `json:"ids"`
}

// UsageBucket is the verifications in one minute or hour, by result code.
type UsageBucket struct {
	Start  time.Time        `json:"start"`
	Counts map[string]int64 `json:"counts"`
}

// KeyUsage is the answer of GET /v1/keys/{id}/usage: the non-empty buckets
// of [from, to) (aligned to whole buckets), in time order, and their totals.
type KeyUsage struct {
	KeyID       string           `json:"key_id"`
	Granularity string           `json:"granularity"`
	From        time.Time        `json:"from"`
	To          time.Time        `json:"to"`
	Buckets     []UsageBucket    `json:"buckets"`
	Totals      map[string]int64 `json:"totals"`
}

// UsageGroup is the verifications of one key, owner or code over the range
// of an Analytics answer.
type UsageGroup struct {
	KeyID  string           `json:"key_id,omitempty"`
	Owner  *Owner           `json:"owner,omitempty"`
	Code   string           `json:"code,omitempty"`
	Counts map[string]int64 `json:"counts"`
	Total  int64            `json:"total"`
}

// Analytics is the answer of GET /v1/analytics: for group_by=code the
// keyspace's buckets and one group per code; for key and owner a page of
// groups.
type Analytics struct {
	Keyspace    string        `json:"keyspace"`
	GroupBy     string        `json:"group_by"`
	Granularity string        `json:"granularity"`
	From        time.Time     `json:"from"`
	To          time.Time     `json:"to"`
	Buckets     []UsageBucket `json:"buckets,omitempty"`
	Groups      []UsageGroup  `json:"groups"`
	NextCursor  string        `json:"next_cursor,omitempty"`
}
