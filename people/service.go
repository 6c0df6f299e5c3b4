// Package people signs people in: passwords (argon2id), TOTP, recovery
// codes, passkeys (WebAuthn), directories (LDAP), server-side sessions, the
// throttle of failed sign-ins and the step-up guard. Users themselves are
// token principals of type user; this package adds the secrets a person
// proves who they are with, and never stores one in the clear.
package people

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/latchkey/latchkey/seal"
	"github.com/latchkey/latchkey/token"
)

// Factor methods, as sessions record them (and as OpenID Connect's amr
// will name them).
const (
	MethodPassword     = "pwd"
	MethodTOTP         = "otp"
	MethodRecoveryCode = "recovery_code"
	MethodPasskey      = "passkey"
	MethodDirectory    = "ldap" // a password checked by the directory
	MethodFederated    = "fed"  // an upstream OpenID Connect provider (RFC 8176)
)

// secondFactor reports whether m proves possession of a second factor.
func secondFactor(m string) bool {
	return m == MethodTOTP || m == MethodRecoveryCode || m == MethodPasskey
}

// Defaults.
const (
	DefaultIdleTimeout     = 12 * time.Hour
	DefaultAbsoluteTimeout = 7 * 24 * time.Hour
	// PendingTimeout bounds the time between the first and the second
	// factor of one sign-in.
	PendingTimeout = 5 * time.Minute
	// StepUpWindow is how recent a second factor must be for a dangerous
	// operation (SPEC §3.5).
	StepUpWindow = 5 * time.Minute
	// ChallengeTimeout bounds a WebAuthn ceremony.
	ChallengeTimeout = 5 * time.Minute
	// touchEvery: a session's last-seen time is written at most this often.
	touchEvery = time.Minute
)

// Directory checks a username and password against an external directory
// (LDAP / Active Directory).
type Directory interface {
	// Authenticate returns the directory's entry of the user if password
	// is theirs; ErrDirectoryRejected if not (or no such user); any other
	// error means the directory could not answer.
	Authenticate(ctx context.Context, username, password string) (*DirectoryUser, error)
}

// DirectoryUser is what a directory says about a user who signed in.
type DirectoryUser struct {
	DN          string
	Username    string
	Name        string
	Email       string
	Groups      []string
	Permissions []string // mapped from Groups
}

// ErrDirectoryRejected is a directory's "no": wrong password, unknown user.
var ErrDirectoryRejected = errors.New("directory rejected the credentials")

// Config configures a Service.
type Config struct {
	Store  Store
	Tokens *token.Service
	Box    *seal.Box // seals TOTP seeds
	// Pepper keys the digests of recovery codes (HMAC-SHA-256), so that a
	// copy of the database alone cannot be searched for them offline (a
	// code has about 49 bits). The server derives it from the master key;
	// nil means plain SHA-256.
	Pepper []byte
	// Issuer names latchkey in authenticator apps (default "latchkey").
	Issuer string
	// Directory, if set, signs in users who have no local password.
	Directory Directory
	Argon2    Argon2Params // zero: DefaultArgon2
	// IdleTimeout and AbsoluteTimeout bound sessions (zero: the defaults).
	IdleTimeout, AbsoluteTimeout time.Duration
	// WebAuthn: the relying party ID (the site's host name) and the origins
	// pages are served from. Empty RPID disables passkeys.
	RPID      string
	RPName    string
	RPOrigins []string
	Log       *slog.Logger
	// OnSessionEnded, if set, is called after a session ended (logout,
	// ended by its user or an admin, its user disabled): with the
	// session's ID, or with all set and no ID when every session of the
	// user ended. It must not block (back-channel logout).
	OnSessionEnded func(ctx context.Context, userID, sessionID string, all bool)
	Now            func() time.Time
}

// Service signs people in and manages their factors and sessions.
type Service struct {
	store    Store
	pepper   []byte
	tokens   *token.Service
	box      *seal.Box
	issuer   string
	dir      Directory
	argon    Argon2Params
	idle     time.Duration
	absolute time.Duration
	wa       *webauthn.WebAuthn // nil: passkeys disabled
	log      *slog.Logger
	now      func() time.Time
	onEnded  func(ctx context.Context, userID, sessionID string, all bool)

	argonRuns atomic.Int64 // argon2id computations of sign-ins, for tests of equal work
	// argonSlots bounds concurrent argon2id computations: each takes
	// Argon2.Memory KiB (19 MiB by default), so a flood of sign-ins
	// queues instead of exhausting memory.
	argonSlots chan struct{}

	dummyOnce sync.Once
	dummy     string // a hash to verify against when there is none, for equal timing
}

// SetOnSessionEnded sets Config.OnSessionEnded after New, for a hook
// whose service is built later (call it before serving).
func (s *Service) SetOnSessionEnded(fn func(ctx context.Context, userID, sessionID string, all bool)) {
	s.onEnded = fn
}

// ended runs the OnSessionEnded hook.
func (s *Service) ended(ctx context.Context, userID, sessionID string, all bool) {
	if s.onEnded != nil {
		s.onEnded(ctx, userID, sessionID, all)
	}
}

// New returns a Service.
func New(c Config) (*Service, error) {
	s := &Service{store: c.Store, pepper: c.Pepper, tokens: c.Tokens, box: c.Box, issuer: c.Issuer, dir: c.Directory,
		argon: c.Argon2, idle: c.IdleTimeout, absolute: c.AbsoluteTimeout, log: c.Log, now: c.Now,
		onEnded: c.OnSessionEnded}
	if s.issuer == "" {
		s.issuer = "latchkey"
	}
	if s.argon == (Argon2Params{}) {
		s.argon = DefaultArgon2
	}
	if s.idle <= 0 {
		s.idle = DefaultIdleTimeout
	}
	if s.absolute <= 0 {
		s.absolute = DefaultAbsoluteTimeout
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.argonSlots = make(chan struct{}, 2*runtime.GOMAXPROCS(0))
	if c.RPID != "" {
		name := c.RPName
		if name == "" {
			name = s.issuer
		}
		wa, err := webauthn.New(&webauthn.Config{RPID: c.RPID, RPDisplayName: name, RPOrigins: c.RPOrigins})
		if err != nil {
			return nil, fmt.Errorf("webauthn: %w", err)
		}
		s.wa = wa
	}
	return s, nil
}

// PasskeysEnabled reports whether passkeys are configured.
func (s *Service) PasskeysEnabled() bool { return s.wa != nil }

// Now returns the service's clock in UTC.
func (s *Service) Now() time.Time { return s.now().UTC() }

// dummyHash returns a password hash with the current parameters, to verify
// against when a user has none, so that unknown and known users cost the
// same argon2id computation (ADM-04).
func (s *Service) dummyHash() string {
	s.dummyOnce.Do(func() { s.dummy = HashPassword(randomString(24), s.argon) })
	return s.dummy
}

// randomString returns n random bytes, base64url-encoded.
func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// recoveryDigest is the stored form of a recovery code: HMAC-SHA-256 under
// the pepper of its normalised form.
func (s *Service) recoveryDigest(code string) []byte {
	n := normalizeRecovery(code)
	if s.pepper == nil {
		return digest(n)
	}
	m := hmac.New(sha256.New, s.pepper)
	m.Write([]byte(n))
	return m.Sum(nil)
}

// digest is the stored form of a session secret (256 random bits: a plain
// SHA-256 is enough).
func digest(s string) []byte {
	d := sha256.Sum256([]byte(s))
	return d[:]
}

// audit returns a success event of action on user id by actor.
func (s *Service) audit(actor, requestID, action, userID string, detail map[string]string) *token.AuditEvent {
	now := s.Now()
	return &token.AuditEvent{ID: token.NewID("aud", now), Time: now, ActorKeyID: actor, Action: action,
		TargetType: "user", TargetID: userID, Outcome: token.OutcomeSuccess, RequestID: requestID, Detail: detail}
}

// Errors of the people domain, as token errors so that the API maps them
// in its one place.
var (
	errSignIn = token.Errorf(token.Unauthenticated, "invalid_credentials", "the username or password is incorrect")
	errCode   = token.Errorf(token.Invalid, "invalid_code", "the code is not valid")
	// ErrStepUpRequired asks for a second factor used in the last
	// StepUpWindow. It is token.ErrStepUpRequired, which the token
	// service gives a session actor that has not stepped up.
	ErrStepUpRequired = token.ErrStepUpRequired
	errPasskeysOff    = token.Errorf(token.Invalid, "passkeys_disabled", "passkeys are not configured on this server (LATCHKEY_WEBAUTHN_RP_ID)")
)

// storeErr turns a storage failure into an Unavailable error.
func storeErr(err error, what string) error {
	var te *token.Error
	if errors.As(err, &te) {
		return err
	}
	return &token.Error{Kind: token.Unavailable, Msg: "storage is unavailable", Err: fmt.Errorf("%s: %w", what, err)}
}

// manage checks that a may manage user userID's sign-in factors: a
// management credential with principals:write, or the user's own session.
// It returns the user.
func (s *Service) manage(ctx context.Context, a *token.Actor, userID, action string) (*token.Principal, error) {
	if !a.May(token.ScopePrincipalsWrite) && !isSelf(a, userID) {
		return nil, s.tokens.Refuse(ctx, a, action, token.ScopePrincipalsWrite)
	}
	p, err := s.tokens.Store().Principal(ctx, token.User, userID)
	if errors.Is(err, token.ErrNotFound) {
		return nil, token.Errorf(token.NotFound, "user_not_found", "user not found")
	}
	if err != nil {
		return nil, storeErr(err, "get user")
	}
	return p, nil
}

// SessionActor is the actor of a signed-in user acting on their own
// account through a session. It is marked as a session that has not
// stepped up; StepUpActor is the one to hand to dangerous operations.
func SessionActor(sess *Session, requestID, ip string) *token.Actor {
	return &token.Actor{KeyID: sess.ID, Name: sess.UserID, Owner: &token.Owner{Type: token.User, ID: sess.UserID},
		RequestID: requestID, IP: ip, Session: true}
}

// StepUpActor is SessionActor with SteppedUp set when sess used a second
// factor in the last StepUpWindow (SteppedUp at the service's clock): the
// token service refuses dangerous operations, such as revealing a
// recoverable key, to a session actor without it.
func (s *Service) StepUpActor(sess *Session, requestID, ip string) *token.Actor {
	a := SessionActor(sess, requestID, ip)
	a.SteppedUp = SteppedUp(sess, s.Now())
	return a
}

// PortalScopes are the only scopes of the portal actor: reading and
// changing keys, bounded to the user's own (PortalActor).
var PortalScopes = []string{token.ScopeKeysRead, token.ScopeKeysWrite}

// PortalActor is the actor of the self-service portal's personal access
// tokens (/ui/me): sess's user acting on their own keys, exactly as a
// personal credential of theirs with keys:read and keys:write would
// through the API. It is owner-bound (token.Actor.Owner, no admin), so the
// token service itself lists and changes only the user's own keys (another
// user's key is NotFound, never PermissionDenied), makes every key it
// creates the user's, refuses scopes the user does not hold now, and
// refuses the management keyspace (its keys need admin). The audit names
// the session as the acting credential. SteppedUp is set as StepUpActor
// sets it; creating and rotating still need the caller's step-up check
// (RequireStepUp): the token service asks for one only to reveal.
func (s *Service) PortalActor(sess *Session, requestID, ip string) *token.Actor {
	a := s.StepUpActor(sess, requestID, ip)
	a.Scopes = append([]string(nil), PortalScopes...)
	return a
}

// isSelf reports whether a is userID's own session.
func isSelf(a *token.Actor, userID string) bool {
	return a.Owner != nil && a.Owner.Type == token.User && a.Owner.ID == userID && strings.HasPrefix(a.KeyID, "ses_")
}

// withArgon runs fn, one argon2id computation, when a slot is free (or returns
// Unavailable if ctx ends first).
func (s *Service) withArgon(ctx context.Context, fn func()) error {
	select {
	case s.argonSlots <- struct{}{}:
	case <-ctx.Done():
		return &token.Error{Kind: token.Unavailable, Msg: "the server is busy; try again", Err: ctx.Err()}
	}
	defer func() { <-s.argonSlots }()
	fn()
	return nil
}
