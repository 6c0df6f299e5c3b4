package people

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/token"
)

// Credentials are the sign-in secrets of one user, as stored: nothing in
// them opens without the master key or an argon2id computation.
type Credentials struct {
	UserID string
	// PasswordHash is a PHC string ("$argon2id$v=19$m=…,t=…,p=…$salt$hash");
	// empty when the user has no password (directory users never have one).
	PasswordHash      string
	PasswordChangedAt time.Time
	// TOTPSealed is the TOTP seed sealed with the master key (context
	// "totp:<user id>"); nil when the user has none. TOTPConfirmed is false
	// between enrolment and the first valid code.
	TOTPSealed    []byte
	TOTPConfirmed bool
	TOTPCreatedAt time.Time
	// TOTPLastStep is the last 30-second time step accepted for this user;
	// a step is accepted only once (UseTOTPStep).
	TOTPLastStep int64
	// WebAuthnID is the user handle given to authenticators (64 random
	// bytes), fixed at the first passkey registration; nil before.
	WebAuthnID []byte
	// Source is where the user signs in: "" (local) or "ldap".
	Source string
	// ExternalID is the user's name in that source (the LDAP DN).
	ExternalID string
	UpdatedAt  time.Time
	Version    int64
}

// Passkey is one registered WebAuthn credential.
type Passkey struct {
	// ID is the credential ID the authenticator chose (raw bytes).
	ID     []byte
	UserID string
	Name   string
	// Credential is the go-webauthn credential (public key, sign count,
	// flags, AAGUID, transports) as JSON.
	Credential []byte
	CreatedAt  time.Time
	LastUsedAt time.Time // zero when never used
}

// Factor records one authentication factor a session used.
type Factor struct {
	Method string    `json:"method"` // MethodPassword, MethodTOTP, …
	At     time.Time `json:"at"`
}

// Session is a signed-in browser. Only the digest of its cookie secret is
// stored.
type Session struct {
	ID     string // public ID ("ses_…"), safe to list and log
	Digest []byte // SHA-256 of the cookie secret
	UserID string
	// Pending is true for a sign-in that passed its first factor and waits
	// for the second: it grants nothing but finishing the sign-in.
	Pending    bool
	Factors    []Factor
	IP         string
	UserAgent  string
	CreatedAt  time.Time
	LastSeenAt time.Time
	// ExpiresAt is the absolute end; IdleExpiresAt moves with LastSeenAt.
	ExpiresAt     time.Time
	IdleExpiresAt time.Time
	EndedAt       time.Time // zero while the session lives
	EndReason     string    // "logout", "admin", "user_disabled", "expired", "replaced"
}

// Challenge is one WebAuthn ceremony in progress: single-use, short-lived,
// in the database so that any node may finish what another began.
type Challenge struct {
	ID        string // random, given to the browser
	UserID    string // "" for a discoverable (username-less) sign-in
	Kind      string // "register", "login", "second_factor"
	Data      []byte // go-webauthn SessionData as JSON
	ExpiresAt time.Time
}

// Throttle is the failure count of one sign-in throttle key ("user:<name>",
// "addr:<ip>").
type Throttle struct {
	Key         string
	Failures    int
	LastFailure time.Time
	LockedUntil time.Time
}

// Store is what the people service needs from storage. Every write that
// takes an *token.AuditEvent writes it in the same transaction (ev may be
// nil where the method says so). Missing objects give errors wrapping
// token.ErrNotFound.
type Store interface {
	// Credentials returns the user's credentials or ErrNotFound (a user
	// who never had any).
	Credentials(ctx context.Context, userID string) (*Credentials, error)
	// UpdateCredentials reads the user's credentials (a zero record with
	// UserID set if there is none), applies fn and writes the result with
	// ev, atomically; the store increments Version. An error from fn
	// aborts and is returned as it is.
	UpdateCredentials(ctx context.Context, userID string, fn func(*Credentials) error, ev *token.AuditEvent) (*Credentials, error)
	// UseTOTPStep records step as the user's last accepted TOTP step if it
	// is later than the recorded one, in one statement: exactly one of any
	// number of concurrent callers with the same step, on any node, gets
	// true.
	UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error)
	// CredentialsByWebAuthnID returns the credentials whose WebAuthnID is
	// id, or ErrNotFound.
	CredentialsByWebAuthnID(ctx context.Context, id []byte) (*Credentials, error)

	// SetRecoveryCodes replaces the user's recovery codes by digests (none
	// to remove them all), with ev.
	SetRecoveryCodes(ctx context.Context, userID string, digests [][]byte, ev *token.AuditEvent) error
	// UseRecoveryCode marks the unused code with digest d as used, with ev;
	// false (and no event) if no such unused code exists. Single use under
	// concurrency.
	UseRecoveryCode(ctx context.Context, userID string, d []byte, ev *token.AuditEvent) (bool, error)
	// RecoveryCodesLeft counts the user's unused recovery codes.
	RecoveryCodesLeft(ctx context.Context, userID string) (int, error)

	// AddPasskey stores p with ev; ErrConflict if its ID exists.
	AddPasskey(ctx context.Context, p *Passkey, ev *token.AuditEvent) error
	// Passkeys returns the user's passkeys, oldest first.
	Passkeys(ctx context.Context, userID string) ([]*Passkey, error)
	// Passkey returns the passkey with credential ID id, or ErrNotFound.
	Passkey(ctx context.Context, id []byte) (*Passkey, error)
	// UpdatePasskey applies fn to the passkey atomically (name, credential,
	// last use), with ev (may be nil: a sign-in's sign-count update is
	// audited as the sign-in).
	UpdatePasskey(ctx context.Context, id []byte, fn func(*Passkey) error, ev *token.AuditEvent) (*Passkey, error)
	// DeletePasskey removes the user's passkey id with ev; ErrNotFound if
	// the user has no such passkey.
	DeletePasskey(ctx context.Context, userID string, id []byte, ev *token.AuditEvent) error

	// CreateSession stores s with ev (nil for a pending sign-in), and
	// ends the session named by replaces (if not empty) in the same
	// transaction with reason "replaced".
	CreateSession(ctx context.Context, s *Session, replaces string, ev *token.AuditEvent) error
	// SessionByDigest returns the session whose cookie digest is d (live
	// or not), or ErrNotFound.
	SessionByDigest(ctx context.Context, d []byte) (*Session, error)
	// Session returns the session with public ID id, or ErrNotFound.
	Session(ctx context.Context, id string) (*Session, error)
	// TouchSession sets the live session's LastSeenAt and IdleExpiresAt.
	TouchSession(ctx context.Context, id string, lastSeen, idleExpires time.Time) error
	// AddSessionFactor appends f to the live session's factors, with ev.
	AddSessionFactor(ctx context.Context, id string, f Factor, ev *token.AuditEvent) error
	// EndSession ends the live session id with reason, with ev; false if
	// it was not live (already ended: no event written).
	EndSession(ctx context.Context, id, reason string, at time.Time, ev *token.AuditEvent) (bool, error)
	// EndUserSessions ends every live session of the user, with ev, and
	// returns how many it ended.
	EndUserSessions(ctx context.Context, userID, reason string, at time.Time, ev *token.AuditEvent) (int, error)
	// ListSessions returns the user's sessions that are neither ended nor
	// past their expiry at now, newest first; pending sign-ins are left out.
	ListSessions(ctx context.Context, userID string, now time.Time) ([]*Session, error)
	// PruneSessions deletes sessions ended or expired before before.
	PruneSessions(ctx context.Context, before time.Time) (int64, error)

	// PutChallenge stores c.
	PutChallenge(ctx context.Context, c *Challenge) error
	// TakeChallenge deletes and returns the challenge id if it has not
	// expired at now; ErrNotFound otherwise. Exactly one of concurrent
	// callers, on any node, gets it.
	TakeChallenge(ctx context.Context, id string, now time.Time) (*Challenge, error)
	// PruneChallenges deletes challenges that expired before before.
	PruneChallenges(ctx context.Context, before time.Time) (int64, error)

	// Throttle returns the throttle record of key (a zero one with Key set
	// if there is none).
	Throttle(ctx context.Context, key string) (*Throttle, error)
	// RecordFailure increments key's failure count atomically — starting
	// again from 1 if the last failure is older than window — sets
	// LastFailure to now and LockedUntil to lock(failures), and returns
	// the record written.
	RecordFailure(ctx context.Context, key string, now time.Time, window time.Duration, lock func(failures int) time.Time) (*Throttle, error)
	// ResetThrottle forgets key's failures.
	ResetThrottle(ctx context.Context, key string) error
}
