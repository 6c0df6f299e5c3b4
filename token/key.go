package token

import (
	"encoding/json"
	"net/netip"
	"time"

	"github.com/latchkey/latchkey/apitoken"
	"github.com/latchkey/latchkey/ratelimit"
)

// State is the life-cycle state of a key.
type State string

// Key states. Expired is derived from the clock, never stored.
const (
	Active   State = "active"
	Disabled State = "disabled"
	Revoked  State = "revoked"
	Expired  State = "expired"
)

// ValidState reports whether s names a state.
func ValidState(s State) bool {
	switch s {
	case Active, Disabled, Revoked, Expired:
		return true
	}
	return false
}

// Owner names the principal a key acts for.
type Owner struct {
	Type PrincipalType `json:"type"`
	ID   string        `json:"id"`
}

// Key is a stored API key or personal access token. The plaintext is never
// part of it: only its digest and a short display prefix (Start).
type Key struct {
	ID       string
	Keyspace string
	Name     string
	Owner    *Owner // nil: the key acts for nobody in particular
	Scopes   []string
	Digest   apitoken.Digest
	Start    string          // safe to display: "acme_live_AbCd"
	Metadata json.RawMessage // a JSON object, or nil
	// Foreign reports that the plaintext is not in latchkey's format: the
	// key was imported by hash or set by the operator (LATCHKEY_ROOT_KEY).
	Foreign bool
	// IdempotencyKey identifies the create request that made the key (a
	// digest of the caller and its Idempotency-Key header), or "".
	IdempotencyKey string

	CreatedAt time.Time
	UpdatedAt time.Time
	ExpiresAt time.Time     // zero: permanent
	TTL       time.Duration // lifetime the key was issued with; renew extends by it

	Disabled     bool
	RevokedAt    time.Time // zero: not revoked
	RevokeReason string

	Remaining  *int64    // usage credits; nil: unlimited
	Refill     *Refill   // optional periodic reset of Remaining
	RefilledAt time.Time // start of the last refill period applied

	RateLimits []ratelimit.Limit // the key's own limits
	IPAllow    []netip.Prefix    // empty: every address

	RotatedFrom string // ID of the key this one replaced
	RotatedTo   string // ID of the key that replaced this one
	// LineageID is the ID of the first key of the rotation chain this key
	// belongs to, copied at every rotation; empty means the key's own ID.
	// Rate-limit buckets belong to the lineage, not to one generation.
	LineageID string

	// SigningSecret is the key's request-signing secret (RFC 9421
	// hmac-sha256) sealed with the master key; nil when the key signs no
	// requests. Stores keep it as opaque bytes.
	SigningSecret []byte
	// DPoPJKT binds the key to a DPoP key (RFC 9449): the base64url
	// SHA-256 thumbprint (RFC 7638) of the public key whose proof must
	// come with every use of the key; "" for a plain bearer key.
	DPoPJKT string
	// SealedSecret is write-only: the plaintext of a recoverable key
	// sealed with the master key (associated data "key-secret:" + ID),
	// set by the Service on a key it creates or rotates into a recoverable
	// keyspace, and by an import. A store keeps it apart from the key's
	// row (table key_secrets, in the same transaction as the insert) and
	// never reads it back into a Key: it is nil on every key a store
	// returns, so the verification path and its cache never hold it.
	// KeyStore.KeySecret reads it.
	SealedSecret []byte

	LastUsedAt time.Time
	LastUsedIP string

	// Version increases with every stored change; caches compare it so that
	// a stale fill cannot resurrect a revoked key.
	Version int64
}

// State returns the key's state at now. Revocation wins over expiry, expiry
// over disabling.
func (k *Key) State(now time.Time) State {
	switch {
	case !k.RevokedAt.IsZero():
		return Revoked
	case k.Expired(now):
		return Expired
	case k.Disabled:
		return Disabled
	}
	return Active
}

// Expired reports whether the key has an expiry at or before now.
func (k *Key) Expired(now time.Time) bool {
	return !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt)
}

// Lineage returns the ID of the first key of k's rotation chain.
func (k *Key) Lineage() string {
	if k.LineageID != "" {
		return k.LineageID
	}
	return k.ID
}

// Clone returns a deep copy of k.
func (k *Key) Clone() *Key {
	c := *k
	if k.Owner != nil {
		o := *k.Owner
		c.Owner = &o
	}
	c.Scopes = append([]string(nil), k.Scopes...)
	c.Metadata = append(json.RawMessage(nil), k.Metadata...)
	if k.SigningSecret != nil {
		c.SigningSecret = append([]byte(nil), k.SigningSecret...)
	}
	if k.SealedSecret != nil {
		c.SealedSecret = append([]byte(nil), k.SealedSecret...)
	}
	if k.Remaining != nil {
		r := *k.Remaining
		c.Remaining = &r
	}
	if k.Refill != nil {
		r := *k.Refill
		c.Refill = &r
	}
	c.RateLimits = append([]ratelimit.Limit(nil), k.RateLimits...)
	c.IPAllow = append([]netip.Prefix(nil), k.IPAllow...)
	return &c
}

// KeyFilter selects keys for a listing. Zero fields do not filter.
type KeyFilter struct {
	Keyspace  string
	OwnerType PrincipalType
	OwnerID   string
	State     State
	Foreign   bool // only keys whose plaintext is not in latchkey's format
	// IdempotencyKey selects the key created by one idempotent request.
	IdempotencyKey string
	Now            time.Time // the clock the State filter is evaluated against
	After          string    // cursor: list keys with ID > After
	Limit          int
}
