// Package transfer moves a whole latchkey installation — keyspaces,
// principals, keys (as digests, never plaintexts, with their request-signing
// secrets sealed, and the kept plaintexts of recoverable keys sealed with
// the master key, as stored), usage counts, JWT signing keys (sealed with the master
// key, which is not part of the stream) and the audit log — between storage
// backends as a stream of JSON Lines, with the sign-in credentials of users
// (password hashes, sealed TOTP seeds, unused recovery codes as digests,
// passkeys) and the OAuth clients of apps (settings and secret digests)
// where both stores keep them. The nonces of signed requests,
// browser sessions, WebAuthn challenges and sign-in throttles are
// short-lived and not carried: a copy forgets them, and its users sign in
// again.
//
// The stream starts with a header line naming the format and its version
// and ends with a trailer that counts the records, so that a truncated file
// is detected. Every line in between is one record with a "kind" field:
// "keyspace", "principal", "credentials", "oauth_client", "key",
// "revoked_digest", "signing_key", "audit", "audit_key",
// "audit_checkpoint" or "webhook", in that order (audit records in the
// order of their place in the audit chain, so that the copy recomputes the
// same tree and its checkpoints still verify). Times are
// RFC 3339 with nanoseconds in UTC, durations are nanoseconds, digests are
// hex: a copy is exact to the nanosecond whichever backend wrote it.
package transfer

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/latchkey/latchkey/apitoken"
	"github.com/latchkey/latchkey/oauth"
	"github.com/latchkey/latchkey/people"
	"github.com/latchkey/latchkey/ratelimit"
	"github.com/latchkey/latchkey/token"
)

// Format and Version identify the stream; Import refuses any other.
const (
	Format  = "latchkey-export"
	Version = 1
)

// Record kinds.
const (
	kindHeader    = "header"
	kindKeyspace  = "keyspace"
	kindPrincipal = "principal"
	kindKey       = "key"
	kindAudit     = "audit"
	kindSigning   = "signing_key"
	kindTombstone = "revoked_digest"
	kindCreds     = "credentials"
	kindClient    = "oauth_client"
	kindAuditKey  = "audit_key"
	kindAuditCP   = "audit_checkpoint"
	kindEnd       = "end"
)

// Counts is how many records of each kind were written or read.
type Counts struct {
	Keyspaces  int64 `json:"keyspaces"`
	Principals int64 `json:"principals"`
	Keys       int64 `json:"keys"`
	Audit      int64 `json:"audit"`
	// SigningKeys are the JWT signing keys, still sealed with the source's
	// master key: the destination must be given the same master key.
	SigningKeys int64 `json:"signing_keys,omitempty"`
	// RevokedDigests are the tombstones of deleted revoked keys: carried so
	// that the copy refuses to import their secrets too.
	RevokedDigests int64 `json:"revoked_digests,omitempty"`
	// Credentials are the users whose sign-in credentials (password,
	// TOTP, recovery codes, passkeys) were carried, one record each.
	Credentials int64 `json:"credentials,omitempty"`
	// OAuthClients are the apps whose OAuth client (settings, secret
	// digests) was carried, one record each.
	OAuthClients int64 `json:"oauth_clients,omitempty"`
	// Webhooks are the webhooks, their secrets sealed with the source's
	// master key (their deliveries are not carried).
	Webhooks int64 `json:"webhooks,omitempty"`
	// AuditKeys and AuditCheckpoints are the audit chain's checkpoint
	// keys (the signing one sealed with the master key) and signed
	// checkpoints.
	AuditKeys        int64 `json:"audit_keys,omitempty"`
	AuditCheckpoints int64 `json:"audit_checkpoints,omitempty"`
}

// Total returns the number of records.
func (c Counts) Total() int64 {
	return c.Keyspaces + c.Principals + c.Keys + c.Audit + c.SigningKeys + c.RevokedDigests + c.Credentials + c.OAuthClients +
		c.AuditKeys + c.AuditCheckpoints + c.Webhooks
}

type header struct {
	Kind      string    `json:"kind"`
	Format    string    `json:"format"`
	Version   int       `json:"version"`
	CreatedAt time.Time `json:"created_at"`
}

type end struct {
	Kind   string `json:"kind"`
	Counts Counts `json:"counts"`
}

type limit struct {
	Name   string        `json:"name"`
	Limit  int64         `json:"limit"`
	Window time.Duration `json:"window_ns"`
}

type keyspaceRecord struct {
	Kind           string        `json:"kind"`
	Name           string        `json:"name"`
	Prefix         string        `json:"prefix"`
	DefaultTTL     time.Duration `json:"default_ttl_ns"`
	MaxTTL         time.Duration `json:"max_ttl_ns"`
	AllowPermanent bool          `json:"allow_permanent"`
	Scopes         []string      `json:"scopes,omitempty"`
	RateLimits     []limit       `json:"ratelimits,omitempty"`
	Audiences      []string      `json:"audiences,omitempty"`
	APIKeyHeader   bool          `json:"allow_api_key_header,omitempty"`
	Recoverable    bool          `json:"recoverable,omitempty"`
	CreatedAt      time.Time     `json:"created_at"`
	UpdatedAt      time.Time     `json:"updated_at"`
}

type principalRecord struct {
	Kind        string          `json:"kind"`
	Type        string          `json:"type"`
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	Permissions []string        `json:"permissions,omitempty"`
	Disabled    bool            `json:"disabled"`
	RateLimits  []limit         `json:"ratelimits,omitempty"`
	Metadata    json.RawMessage `json:"metadata,omitempty"`
	// The OpenID Connect profile of a user; absent from exports made
	// before it existed, which import with none.
	Email             string    `json:"email,omitempty"`
	EmailVerified     bool      `json:"email_verified,omitempty"`
	PreferredUsername string    `json:"preferred_username,omitempty"`
	Groups            []string  `json:"groups,omitempty"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
	Version           int64     `json:"version"`
}

type owner struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

type refill struct {
	Interval string `json:"interval"`
	Amount   int64  `json:"amount"`
}

type keyRecord struct {
	Kind           string           `json:"kind"`
	ID             string           `json:"id"`
	Keyspace       string           `json:"keyspace"`
	Name           string           `json:"name"`
	Owner          *owner           `json:"owner,omitempty"`
	Scopes         []string         `json:"scopes,omitempty"`
	Digest         apitoken.Digest  `json:"digest"`
	Start          string           `json:"start"`
	Metadata       json.RawMessage  `json:"metadata,omitempty"`
	Foreign        bool             `json:"foreign"`
	IdempotencyKey string           `json:"idempotency_key,omitempty"`
	CreatedAt      time.Time        `json:"created_at"`
	UpdatedAt      time.Time        `json:"updated_at"`
	ExpiresAt      time.Time        `json:"expires_at"`
	TTL            time.Duration    `json:"ttl_ns"`
	Disabled       bool             `json:"disabled"`
	RevokedAt      time.Time        `json:"revoked_at"`
	RevokeReason   string           `json:"revoke_reason,omitempty"`
	Remaining      *int64           `json:"remaining,omitempty"`
	Refill         *refill          `json:"refill,omitempty"`
	RefilledAt     time.Time        `json:"refilled_at"`
	RateLimits     []limit          `json:"ratelimits,omitempty"`
	IPAllow        []netip.Prefix   `json:"ip_allow,omitempty"`
	RotatedFrom    string           `json:"rotated_from,omitempty"`
	RotatedTo      string           `json:"rotated_to,omitempty"`
	LineageID      string           `json:"lineage_id,omitempty"`
	LastUsedAt     time.Time        `json:"last_used_at"`
	LastUsedIP     string           `json:"last_used_ip,omitempty"`
	SigningSecret  []byte           `json:"signing_secret,omitempty"` // still sealed with the source's master key; base64
	SealedSecret   []byte           `json:"sealed_secret,omitempty"`  // a recoverable key's kept plaintext, sealed likewise
	DPoPJKT        string           `json:"dpop_jkt,omitempty"`
	Version        int64            `json:"version"`
	Usage          map[string]int64 `json:"usage,omitempty"` // verification counts by result code
}

type auditRecord struct {
	Kind       string            `json:"kind"`
	ID         string            `json:"id"`
	Time       time.Time         `json:"time"`
	ActorKeyID string            `json:"actor"`
	Action     string            `json:"action"`
	TargetType string            `json:"target_type"`
	TargetID   string            `json:"target_id"`
	Outcome    string            `json:"outcome"`
	RequestID  string            `json:"request_id,omitempty"`
	Detail     map[string]string `json:"detail,omitempty"`
	Seq        *int64            `json:"seq,omitempty"` // the place in the audit chain
}

// auditKeyRecord is an audit checkpoint key: the signing one (ID 1) with
// its private half sealed with the source's master key.
type auditKeyRecord struct {
	Kind      string    `json:"kind"`
	ID        int64     `json:"id"`
	Verifier  string    `json:"verifier"`
	Sealed    []byte    `json:"sealed,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// auditCheckpointRecord is a signed checkpoint of the audit chain.
type auditCheckpointRecord struct {
	Kind      string    `json:"kind"`
	Size      int64     `json:"size"`
	Note      string    `json:"note"`
	CreatedAt time.Time `json:"created_at"`
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

func fromLimits(ls []ratelimit.Limit) []limit {
	var out []limit
	for _, l := range ls {
		out = append(out, limit{Name: l.Name, Limit: l.Limit, Window: l.Window})
	}
	return out
}

func toLimits(ls []limit) []ratelimit.Limit {
	var out []ratelimit.Limit
	for _, l := range ls {
		out = append(out, ratelimit.Limit{Name: l.Name, Limit: l.Limit, Window: l.Window})
	}
	return out
}

func fromKeyspace(ks *token.Keyspace) *keyspaceRecord {
	return &keyspaceRecord{Kind: kindKeyspace, Name: ks.Name, Prefix: ks.Prefix, DefaultTTL: ks.DefaultTTL,
		MaxTTL: ks.MaxTTL, AllowPermanent: ks.AllowPermanent, Scopes: ks.Scopes,
		RateLimits: fromLimits(ks.RateLimits), Audiences: ks.Audiences, APIKeyHeader: ks.AllowAPIKeyHeader, Recoverable: ks.Recoverable, CreatedAt: utc(ks.CreatedAt), UpdatedAt: utc(ks.UpdatedAt)}
}

func (r *keyspaceRecord) keyspace() *token.Keyspace {
	return &token.Keyspace{Name: r.Name, Prefix: r.Prefix, DefaultTTL: r.DefaultTTL, MaxTTL: r.MaxTTL,
		AllowPermanent: r.AllowPermanent, Scopes: r.Scopes, RateLimits: toLimits(r.RateLimits),
		Audiences: r.Audiences, AllowAPIKeyHeader: r.APIKeyHeader, Recoverable: r.Recoverable, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

func fromPrincipal(p *token.Principal) *principalRecord {
	return &principalRecord{Kind: kindPrincipal, Type: string(p.Type), ID: p.ID, Name: p.Name,
		Permissions: p.Permissions, Disabled: p.Disabled, RateLimits: fromLimits(p.RateLimits),
		Metadata: p.Metadata, Email: p.Email, EmailVerified: p.EmailVerified, PreferredUsername: p.PreferredUsername,
		Groups: p.Groups, CreatedAt: utc(p.CreatedAt), UpdatedAt: utc(p.UpdatedAt), Version: p.Version}
}

func (r *principalRecord) principal() *token.Principal {
	return &token.Principal{Type: token.PrincipalType(r.Type), ID: r.ID, Name: r.Name,
		Permissions: r.Permissions, Disabled: r.Disabled, RateLimits: toLimits(r.RateLimits),
		Metadata: r.Metadata, Email: r.Email, EmailVerified: r.EmailVerified, PreferredUsername: r.PreferredUsername,
		Groups: r.Groups, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Version: r.Version}
}

func fromKey(k *token.Key, usage map[token.Code]int64, sealed []byte) *keyRecord {
	r := &keyRecord{Kind: kindKey, ID: k.ID, Keyspace: k.Keyspace, Name: k.Name, Scopes: k.Scopes,
		Digest: k.Digest, Start: k.Start, Metadata: k.Metadata, Foreign: k.Foreign,
		IdempotencyKey: k.IdempotencyKey, CreatedAt: utc(k.CreatedAt), UpdatedAt: utc(k.UpdatedAt),
		ExpiresAt: utc(k.ExpiresAt), TTL: k.TTL, Disabled: k.Disabled, RevokedAt: utc(k.RevokedAt),
		RevokeReason: k.RevokeReason, Remaining: k.Remaining, RefilledAt: utc(k.RefilledAt),
		RateLimits: fromLimits(k.RateLimits), IPAllow: k.IPAllow, RotatedFrom: k.RotatedFrom,
		RotatedTo: k.RotatedTo, LineageID: k.LineageID, LastUsedAt: utc(k.LastUsedAt), LastUsedIP: k.LastUsedIP,
		SigningSecret: k.SigningSecret, SealedSecret: sealed, DPoPJKT: k.DPoPJKT, Version: k.Version}
	if k.Owner != nil {
		r.Owner = &owner{Type: string(k.Owner.Type), ID: k.Owner.ID}
	}
	if k.Refill != nil {
		r.Refill = &refill{Interval: k.Refill.Interval, Amount: k.Refill.Amount}
	}
	for code, n := range usage {
		if n == 0 {
			continue
		}
		if r.Usage == nil {
			r.Usage = map[string]int64{}
		}
		r.Usage[string(code)] = n
	}
	return r
}

func (r *keyRecord) key() *token.Key {
	k := &token.Key{ID: r.ID, Keyspace: r.Keyspace, Name: r.Name, Scopes: r.Scopes, Digest: r.Digest,
		Start: r.Start, Metadata: r.Metadata, Foreign: r.Foreign, IdempotencyKey: r.IdempotencyKey,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, ExpiresAt: r.ExpiresAt, TTL: r.TTL,
		Disabled: r.Disabled, RevokedAt: r.RevokedAt, RevokeReason: r.RevokeReason,
		Remaining: r.Remaining, RefilledAt: r.RefilledAt, RateLimits: toLimits(r.RateLimits),
		IPAllow: r.IPAllow, RotatedFrom: r.RotatedFrom, RotatedTo: r.RotatedTo, LineageID: r.LineageID,
		LastUsedAt: r.LastUsedAt, LastUsedIP: r.LastUsedIP, SigningSecret: r.SigningSecret,
		SealedSecret: r.SealedSecret, DPoPJKT: r.DPoPJKT, Version: r.Version}
	if r.Owner != nil {
		k.Owner = &token.Owner{Type: token.PrincipalType(r.Owner.Type), ID: r.Owner.ID}
	}
	if r.Refill != nil {
		k.Refill = &token.Refill{Interval: r.Refill.Interval, Amount: r.Refill.Amount}
	}
	return k
}

func (r *keyRecord) usage() (token.Usage, bool) {
	if len(r.Usage) == 0 {
		return token.Usage{}, false
	}
	u := token.Usage{KeyID: r.ID, Counts: map[token.Code]int64{}}
	for code, n := range r.Usage {
		u.Counts[token.Code(code)] = n
	}
	return u, true
}

func fromAudit(ev *token.AuditEvent) *auditRecord {
	return &auditRecord{Kind: kindAudit, ID: ev.ID, Time: utc(ev.Time), ActorKeyID: ev.ActorKeyID,
		Action: ev.Action, TargetType: ev.TargetType, TargetID: ev.TargetID, Outcome: ev.Outcome,
		RequestID: ev.RequestID, Detail: ev.Detail}
}

func (r *auditRecord) event() *token.AuditEvent {
	return &token.AuditEvent{ID: r.ID, Time: r.Time, ActorKeyID: r.ActorKeyID, Action: r.Action,
		TargetType: r.TargetType, TargetID: r.TargetID, Outcome: r.Outcome, RequestID: r.RequestID,
		Detail: r.Detail}
}

// signingKeyRecord is a JWT signing key as stored: sealed, never in the
// clear.
type signingKeyRecord struct {
	Kind      string    `json:"kind"`
	KID       string    `json:"kid"`
	Alg       string    `json:"alg"`
	Sealed    []byte    `json:"sealed"` // base64 in JSON
	NotBefore time.Time `json:"not_before"`
	SignUntil time.Time `json:"sign_until"`
	RetireAt  time.Time `json:"retire_at"`
	CreatedAt time.Time `json:"created_at"`
}

func fromSigningKey(r token.SigningKeyRecord) *signingKeyRecord {
	return &signingKeyRecord{Kind: kindSigning, KID: r.KID, Alg: r.Alg, Sealed: r.Sealed,
		NotBefore: utc(r.NotBefore), SignUntil: utc(r.SignUntil), RetireAt: utc(r.RetireAt), CreatedAt: utc(r.CreatedAt)}
}

func (r *signingKeyRecord) record() token.SigningKeyRecord {
	return token.SigningKeyRecord{KID: r.KID, Alg: r.Alg, Sealed: r.Sealed,
		NotBefore: r.NotBefore, SignUntil: r.SignUntil, RetireAt: r.RetireAt, CreatedAt: r.CreatedAt}
}

type tombstoneRecord struct {
	Kind      string    `json:"kind"`
	Digest    string    `json:"digest"`
	KeyID     string    `json:"key_id"`
	RevokedAt time.Time `json:"revoked_at"`
}

func fromTombstone(r token.RevokedDigest) *tombstoneRecord {
	return &tombstoneRecord{Kind: kindTombstone, Digest: hex.EncodeToString(r.Digest[:]), KeyID: r.KeyID, RevokedAt: utc(r.RevokedAt)}
}

func (r *tombstoneRecord) tombstone() (token.RevokedDigest, error) {
	out := token.RevokedDigest{KeyID: r.KeyID, RevokedAt: r.RevokedAt}
	b, err := hex.DecodeString(r.Digest)
	if err != nil || len(b) != len(out.Digest) {
		return out, fmt.Errorf("revoked_digest: digest must be %d hex bytes", len(out.Digest))
	}
	copy(out.Digest[:], b)
	return out, nil
}

// credentialsRecord is the sign-in credentials of one user: secrets only as
// PHC hashes, digests, or sealed with the master key (TOTP seeds, sealed
// for "totp:<user id>"), which is not part of the stream.
type credentialsRecord struct {
	Kind          string           `json:"kind"`
	UserID        string           `json:"user_id"`
	Credentials   *userCredentials `json:"credentials,omitempty"`
	RecoveryCodes []string         `json:"recovery_codes,omitempty"` // hex digests of the unused codes
	Passkeys      []passkeyRecord  `json:"passkeys,omitempty"`
}

type userCredentials struct {
	PasswordHash      string    `json:"password_hash,omitempty"`
	PasswordChangedAt time.Time `json:"password_changed_at"`
	TOTPSealed        []byte    `json:"totp_sealed,omitempty"` // base64
	TOTPConfirmed     bool      `json:"totp_confirmed"`
	TOTPCreatedAt     time.Time `json:"totp_created_at"`
	TOTPLastStep      int64     `json:"totp_last_step"`
	WebAuthnID        []byte    `json:"webauthn_id,omitempty"` // base64
	Source            string    `json:"source,omitempty"`
	ExternalID        string    `json:"external_id,omitempty"`
	UpdatedAt         time.Time `json:"updated_at"`
	Version           int64     `json:"version"`
}

type passkeyRecord struct {
	ID         []byte    `json:"id"` // base64
	Name       string    `json:"name"`
	Credential []byte    `json:"credential"` // the go-webauthn JSON, base64: kept byte for byte
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"`
}

func fromCredentials(userID string, c *people.Credentials, codes [][]byte, ps []*people.Passkey) *credentialsRecord {
	r := &credentialsRecord{Kind: kindCreds, UserID: userID}
	if c != nil {
		r.Credentials = &userCredentials{PasswordHash: c.PasswordHash, PasswordChangedAt: utc(c.PasswordChangedAt),
			TOTPSealed: c.TOTPSealed, TOTPConfirmed: c.TOTPConfirmed, TOTPCreatedAt: utc(c.TOTPCreatedAt),
			TOTPLastStep: c.TOTPLastStep, WebAuthnID: c.WebAuthnID, Source: c.Source, ExternalID: c.ExternalID,
			UpdatedAt: utc(c.UpdatedAt), Version: c.Version}
	}
	for _, d := range codes {
		r.RecoveryCodes = append(r.RecoveryCodes, hex.EncodeToString(d))
	}
	for _, p := range ps {
		r.Passkeys = append(r.Passkeys, passkeyRecord{ID: p.ID, Name: p.Name, Credential: p.Credential,
			CreatedAt: utc(p.CreatedAt), LastUsedAt: utc(p.LastUsedAt)})
	}
	return r
}

// parts returns what the record holds in people's types.
func (r *credentialsRecord) parts() (*people.Credentials, [][]byte, []*people.Passkey, error) {
	var c *people.Credentials
	if u := r.Credentials; u != nil {
		c = &people.Credentials{UserID: r.UserID, PasswordHash: u.PasswordHash, PasswordChangedAt: u.PasswordChangedAt,
			TOTPSealed: u.TOTPSealed, TOTPConfirmed: u.TOTPConfirmed, TOTPCreatedAt: u.TOTPCreatedAt,
			TOTPLastStep: u.TOTPLastStep, WebAuthnID: u.WebAuthnID, Source: u.Source, ExternalID: u.ExternalID,
			UpdatedAt: u.UpdatedAt, Version: u.Version}
	}
	var codes [][]byte
	for _, h := range r.RecoveryCodes {
		d, err := hex.DecodeString(h)
		if err != nil || len(d) == 0 {
			return nil, nil, nil, errors.New("credentials: a recovery code digest is not hex")
		}
		codes = append(codes, d)
	}
	var ps []*people.Passkey
	for _, p := range r.Passkeys {
		if len(p.ID) == 0 {
			return nil, nil, nil, errors.New("credentials: a passkey without an ID")
		}
		ps = append(ps, &people.Passkey{ID: p.ID, UserID: r.UserID, Name: p.Name, Credential: p.Credential,
			CreatedAt: p.CreatedAt, LastUsedAt: p.LastUsedAt})
	}
	return c, codes, ps, nil
}

// oauthClientRecord is an app's OAuth client: its settings (in their own
// JSON) and the digests of its secrets, never a secret.
type oauthClientRecord struct {
	Kind             string         `json:"kind"`
	AppID            string         `json:"app_id"`
	Settings         oauth.Settings `json:"settings"`
	SecretDigest     string         `json:"secret_digest,omitempty"`      // hex
	PrevSecretDigest string         `json:"prev_secret_digest,omitempty"` // hex
	PrevSecretUntil  time.Time      `json:"prev_secret_until"`
	CreatedAt        time.Time      `json:"created_at"`
	UpdatedAt        time.Time      `json:"updated_at"`
	Version          int64          `json:"version"`
}

func fromClient(c *oauth.Client) *oauthClientRecord {
	return &oauthClientRecord{Kind: kindClient, AppID: c.AppID, Settings: c.Settings,
		SecretDigest: hex.EncodeToString(c.SecretDigest), PrevSecretDigest: hex.EncodeToString(c.PrevSecretDigest),
		PrevSecretUntil: utc(c.PrevSecretUntil), CreatedAt: utc(c.CreatedAt), UpdatedAt: utc(c.UpdatedAt), Version: c.Version}
}

func (r *oauthClientRecord) client() (*oauth.Client, error) {
	c := &oauth.Client{AppID: r.AppID, Settings: r.Settings, PrevSecretUntil: r.PrevSecretUntil,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Version: r.Version}
	var err error
	if c.SecretDigest, err = hexDigest(r.SecretDigest); err != nil {
		return nil, fmt.Errorf("OAuth client of %s: secret_digest: %w", r.AppID, err)
	}
	if c.PrevSecretDigest, err = hexDigest(r.PrevSecretDigest); err != nil {
		return nil, fmt.Errorf("OAuth client of %s: prev_secret_digest: %w", r.AppID, err)
	}
	return c, nil
}

// hexDigest decodes a hex digest; "" is none.
func hexDigest(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	return hex.DecodeString(s)
}
