package people

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/latchkey/latchkey/token"
)

// Challenge kinds.
const (
	challengeRegister     = "register"
	challengeLogin        = "login"         // passkey instead of a password
	challengeSecondFactor = "second_factor" // passkey after a password
	challengeStepUp       = "step_up"       // passkey on a live session
)

// waUser is a user as go-webauthn sees one.
type waUser struct {
	id          []byte
	name        string
	displayName string
	creds       []webauthn.Credential
}

func (u *waUser) WebAuthnID() []byte                         { return u.id }
func (u *waUser) WebAuthnName() string                       { return u.name }
func (u *waUser) WebAuthnDisplayName() string                { return u.displayName }
func (u *waUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

var errPasskey = token.Errorf(token.Unauthenticated, "passkey_refused", "the passkey was not accepted")

// loadUser returns the user's go-webauthn view: its handle, assigned on
// first use when assign is set, and its credentials.
func (s *Service) loadUser(ctx context.Context, userID string, assign bool) (*waUser, error) {
	c, err := s.store.Credentials(ctx, userID)
	if err != nil && !errors.Is(err, token.ErrNotFound) {
		return nil, storeErr(err, "get credentials")
	}
	if (c == nil || c.WebAuthnID == nil) && assign {
		handle := make([]byte, 64)
		rand.Read(handle)
		c, err = s.store.UpdateCredentials(ctx, userID, func(c *Credentials) error {
			if c.WebAuthnID == nil {
				c.WebAuthnID, c.UpdatedAt = handle, s.Now()
			}
			return nil
		}, nil)
		if err != nil {
			return nil, storeErr(err, "assign user handle")
		}
	}
	if c == nil || c.WebAuthnID == nil {
		return nil, errPasskey
	}
	return s.waUserOf(ctx, c)
}

func (s *Service) waUserOf(ctx context.Context, c *Credentials) (*waUser, error) {
	u := &waUser{id: c.WebAuthnID, name: c.UserID, displayName: c.UserID}
	if p, err := s.tokens.Store().Principal(ctx, token.User, c.UserID); err == nil && p.Name != "" {
		u.displayName = p.Name
	}
	pks, err := s.store.Passkeys(ctx, c.UserID)
	if err != nil {
		return nil, storeErr(err, "list passkeys")
	}
	for _, pk := range pks {
		var cred webauthn.Credential
		if err := json.Unmarshal(pk.Credential, &cred); err != nil {
			s.log.Error("passkey: stored credential does not decode", "user", c.UserID, "err", err)
			continue
		}
		u.creds = append(u.creds, cred)
	}
	return u, nil
}

// putChallenge stores a ceremony's session data and returns its ID.
func (s *Service) putChallenge(ctx context.Context, kind, userID string, sd *webauthn.SessionData) (string, error) {
	data, err := json.Marshal(sd)
	if err != nil {
		return "", &token.Error{Kind: token.Internal, Msg: "internal error", Err: err}
	}
	c := &Challenge{ID: randomString(24), UserID: userID, Kind: kind, Data: data, ExpiresAt: s.Now().Add(ChallengeTimeout)}
	if err := s.store.PutChallenge(ctx, c); err != nil {
		return "", storeErr(err, "store challenge")
	}
	return c.ID, nil
}

// takeChallenge consumes a ceremony: single use, unexpired, of the kind
// and the user expected (ADM-05).
func (s *Service) takeChallenge(ctx context.Context, id, kind, userID string) (*webauthn.SessionData, error) {
	if id == "" || len(id) > 64 {
		return nil, errPasskey
	}
	c, err := s.store.TakeChallenge(ctx, id, s.Now())
	if errors.Is(err, token.ErrNotFound) {
		return nil, errPasskey
	}
	if err != nil {
		return nil, storeErr(err, "take challenge")
	}
	if c.Kind != kind || c.UserID != userID {
		return nil, errPasskey
	}
	var sd webauthn.SessionData
	if err := json.Unmarshal(c.Data, &sd); err != nil {
		return nil, &token.Error{Kind: token.Internal, Msg: "internal error", Err: err}
	}
	return &sd, nil
}

// Ceremony is the start of a WebAuthn ceremony: the options to pass to
// navigator.credentials (as JSON) and the ID to finish it with.
type Ceremony struct {
	ChallengeID string          `json:"challenge_id"`
	Options     json.RawMessage `json:"options"`
}

func ceremony(id string, opts any) (*Ceremony, error) {
	b, err := json.Marshal(opts)
	if err != nil {
		return nil, &token.Error{Kind: token.Internal, Msg: "internal error", Err: err}
	}
	return &Ceremony{ChallengeID: id, Options: b}, nil
}

// BeginPasskeyRegistration starts registering a passkey for the session's
// user: a discoverable credential with user verification, excluding the
// user's existing ones.
func (s *Service) BeginPasskeyRegistration(ctx context.Context, sess *Session) (*Ceremony, error) {
	if s.wa == nil {
		return nil, errPasskeysOff
	}
	if err := s.guardNewFactor(ctx, sess); err != nil {
		return nil, err
	}
	u, err := s.loadUser(ctx, sess.UserID, true)
	if err != nil {
		return nil, err
	}
	creation, sd, err := s.wa.BeginRegistration(u,
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			ResidentKey: protocol.ResidentKeyRequirementRequired, RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification: protocol.VerificationRequired,
		}),
		webauthn.WithExclusions(webauthn.Credentials(u.creds).CredentialDescriptors()))
	if err != nil {
		return nil, &token.Error{Kind: token.Internal, Msg: "internal error", Err: err}
	}
	id, err := s.putChallenge(ctx, challengeRegister, sess.UserID, sd)
	if err != nil {
		return nil, err
	}
	return ceremony(id, creation)
}

// validPasskeyName checks a passkey's name.
func validPasskeyName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		name = "passkey"
	}
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > 64 || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", token.Errorf(token.Invalid, "invalid_name", "a passkey name is up to 64 printable characters")
	}
	return name, nil
}

// FinishPasskeyRegistration verifies the authenticator's answer (body: the
// PublicKeyCredential as JSON) and stores the passkey under name.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, sess *Session, challengeID, name string, body []byte, requestID string) (*Passkey, error) {
	if s.wa == nil {
		return nil, errPasskeysOff
	}
	name, err := validPasskeyName(name)
	if err != nil {
		return nil, err
	}
	sd, err := s.takeChallenge(ctx, challengeID, challengeRegister, sess.UserID)
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(body)
	if err != nil {
		return nil, errPasskey
	}
	u, err := s.loadUser(ctx, sess.UserID, false)
	if err != nil {
		return nil, err
	}
	cred, err := s.wa.CreateCredential(u, *sd, parsed)
	if err != nil {
		s.log.Info("passkey registration refused", "user", sess.UserID, "err", err)
		return nil, errPasskey
	}
	raw, err := json.Marshal(cred)
	if err != nil {
		return nil, &token.Error{Kind: token.Internal, Msg: "internal error", Err: err}
	}
	now := s.Now()
	pk := &Passkey{ID: cred.ID, UserID: sess.UserID, Name: name, Credential: raw, CreatedAt: now}
	ev := s.audit(sess.ID, requestID, "user.passkey.add", sess.UserID, map[string]string{"passkey": PasskeyID(cred.ID), "name": name})
	if err := s.store.AddPasskey(ctx, pk, ev); err != nil {
		if errors.Is(err, token.ErrConflict) {
			return nil, token.Errorf(token.Conflict, "passkey_exists", "this passkey is already registered")
		}
		return nil, storeErr(err, "add passkey")
	}
	return pk, nil
}

// PasskeyID is the public form of a credential ID: base64url.
func PasskeyID(id []byte) string { return base64.RawURLEncoding.EncodeToString(id) }

// BeginPasskeySignIn starts a username-less sign-in with a discoverable
// passkey.
func (s *Service) BeginPasskeySignIn(ctx context.Context) (*Ceremony, error) {
	if s.wa == nil {
		return nil, errPasskeysOff
	}
	assertion, sd, err := s.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, &token.Error{Kind: token.Internal, Msg: "internal error", Err: err}
	}
	id, err := s.putChallenge(ctx, challengeLogin, "", sd)
	if err != nil {
		return nil, err
	}
	return ceremony(id, assertion)
}

// FinishPasskeySignIn verifies a discoverable passkey assertion and starts
// a session for its user. A passkey with user verification is two factors
// in one (something held, something known or been).
func (s *Service) FinishPasskeySignIn(ctx context.Context, challengeID string, body []byte, r SignInRequest) (*SignInResult, error) {
	if s.wa == nil {
		return nil, errPasskeysOff
	}
	_, addrKey := throttleKeys("", r.IP)
	if err := s.checkThrottle(ctx, addrKey); err != nil {
		return nil, err
	}
	sd, err := s.takeChallenge(ctx, challengeID, challengeLogin, "")
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(body)
	if err != nil {
		s.failed(ctx, "", r.IP, r.RequestID, "passkey")
		return nil, errPasskey
	}
	var userID string
	handler := func(rawID, userHandle []byte) (webauthn.User, error) {
		c, err := s.store.CredentialsByWebAuthnID(ctx, userHandle)
		if err != nil {
			return nil, err
		}
		userID = c.UserID
		return s.waUserOf(ctx, c)
	}
	_, cred, err := s.wa.ValidatePasskeyLogin(handler, *sd, parsed)
	if err != nil {
		s.log.Info("passkey sign-in refused", "err", err)
		s.failed(ctx, userID, r.IP, r.RequestID, "passkey")
		return nil, errPasskey
	}
	if err := s.usedPasskey(ctx, userID, cred, r.RequestID); err != nil {
		s.failed(ctx, userID, r.IP, r.RequestID, "passkey")
		return nil, err
	}
	p, err := s.tokens.Store().Principal(ctx, token.User, userID)
	if err != nil || p.Disabled {
		return nil, errPasskey
	}
	return s.startSession(ctx, userID, []Factor{{Method: MethodPasskey, At: s.Now()}}, r.Current, r)
}

// usedPasskey records a passkey's new sign count and last use, refusing an
// assertion whose counter went backwards (a cloned authenticator, ADM-05).
// The counter is checked again under the passkey's lock, against the
// stored one: assertions verified at once against the same old counter
// pass once, and the stored counter never goes back.
func (s *Service) usedPasskey(ctx context.Context, userID string, cred *webauthn.Credential, requestID string) error {
	cloned := func() error {
		ev := s.audit("anonymous", requestID, "user.passkey.clone_warning", userID, map[string]string{"passkey": PasskeyID(cred.ID)})
		ev.Outcome = token.OutcomeDenied
		s.appendAudit(ctx, ev)
		return errPasskey
	}
	if cred.Authenticator.CloneWarning {
		return cloned()
	}
	raw, err := json.Marshal(cred)
	if err != nil {
		return &token.Error{Kind: token.Internal, Msg: "internal error", Err: err}
	}
	now, n := s.Now(), cred.Authenticator.SignCount
	errCloned := errors.New("sign count went backwards")
	_, err = s.store.UpdatePasskey(ctx, cred.ID, func(p *Passkey) error {
		if p.UserID != userID {
			return errPasskey
		}
		var stored webauthn.Credential
		if err := json.Unmarshal(p.Credential, &stored); err != nil {
			return err
		}
		if old := stored.Authenticator.SignCount; n <= old && (n != 0 || old != 0) {
			return errCloned
		}
		p.Credential, p.LastUsedAt = raw, now
		return nil
	}, nil)
	if errors.Is(err, errCloned) {
		return cloned()
	}
	if err != nil {
		return storeErr(err, "update passkey")
	}
	return nil
}

// BeginPasskeySecondFactor starts a passkey ceremony as the second factor
// of a pending sign-in.
func (s *Service) BeginPasskeySecondFactor(ctx context.Context, pendingCookie string) (*Ceremony, error) {
	p, err := s.pending(ctx, pendingCookie)
	if err != nil {
		return nil, err
	}
	return s.beginUserAssertion(ctx, p.UserID, challengeSecondFactor)
}

// BeginPasskeyStepUp starts a passkey ceremony that steps a live session up.
func (s *Service) BeginPasskeyStepUp(ctx context.Context, sess *Session) (*Ceremony, error) {
	return s.beginUserAssertion(ctx, sess.UserID, challengeStepUp)
}

func (s *Service) beginUserAssertion(ctx context.Context, userID, kind string) (*Ceremony, error) {
	if s.wa == nil {
		return nil, errPasskeysOff
	}
	u, err := s.loadUser(ctx, userID, false)
	if err != nil {
		return nil, err
	}
	if len(u.creds) == 0 {
		return nil, errPasskey
	}
	assertion, sd, err := s.wa.BeginLogin(u, webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, &token.Error{Kind: token.Internal, Msg: "internal error", Err: err}
	}
	id, err := s.putChallenge(ctx, kind, userID, sd)
	if err != nil {
		return nil, err
	}
	return ceremony(id, assertion)
}

// finishUserAssertion verifies an assertion of the user's own passkey.
func (s *Service) finishUserAssertion(ctx context.Context, userID, kind, challengeID string, body []byte, requestID string) error {
	if s.wa == nil {
		return errPasskeysOff
	}
	sd, err := s.takeChallenge(ctx, challengeID, kind, userID)
	if err != nil {
		return err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(body)
	if err != nil {
		return errPasskey
	}
	u, err := s.loadUser(ctx, userID, false)
	if err != nil {
		return err
	}
	cred, err := s.wa.ValidateLogin(u, *sd, parsed)
	if err != nil {
		s.log.Info("passkey assertion refused", "user", userID, "err", err)
		return errPasskey
	}
	return s.usedPasskey(ctx, userID, cred, requestID)
}

// FinishPasskeySecondFactor finishes a pending sign-in with the user's
// passkey.
func (s *Service) FinishPasskeySecondFactor(ctx context.Context, pendingCookie, challengeID string, body []byte, r SignInRequest) (*SignInResult, error) {
	p, err := s.pending(ctx, pendingCookie)
	if err != nil {
		return nil, err
	}
	if err := s.finishUserAssertion(ctx, p.UserID, challengeSecondFactor, challengeID, body, r.RequestID); err != nil {
		if errors.Is(err, errPasskey) {
			s.failed(ctx, p.UserID, r.IP, r.RequestID, "second_factor")
		}
		return nil, err
	}
	factors := append(append([]Factor{}, p.Factors...), Factor{Method: MethodPasskey, At: s.Now()})
	res, err := s.startSession(ctx, p.UserID, factors, r.Current, r)
	if err != nil {
		return nil, err
	}
	s.store.EndSession(ctx, p.ID, "replaced", s.Now(), nil) //nolint:errcheck // it expires anyway
	return res, nil
}

// FinishPasskeyStepUp records a passkey as a fresh second factor of sess.
func (s *Service) FinishPasskeyStepUp(ctx context.Context, sess *Session, challengeID string, body []byte, requestID string) error {
	if err := s.finishUserAssertion(ctx, sess.UserID, challengeStepUp, challengeID, body, requestID); err != nil {
		return err
	}
	return s.addFactor(ctx, sess, MethodPasskey, requestID)
}

// RenamePasskey renames user userID's passkey id (base64url).
func (s *Service) RenamePasskey(ctx context.Context, a *token.Actor, userID, id, name string) error {
	const action = "user.passkey.rename"
	if _, err := s.manage(ctx, a, userID, action); err != nil {
		return err
	}
	name, err := validPasskeyName(name)
	if err != nil {
		return err
	}
	raw, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil {
		return token.Errorf(token.NotFound, "passkey_not_found", "passkey not found")
	}
	ev := s.audit(a.KeyID, a.RequestID, action, userID, map[string]string{"passkey": id, "name": name})
	_, err = s.store.UpdatePasskey(ctx, raw, func(p *Passkey) error {
		if p.UserID != userID {
			return token.ErrNotFound
		}
		p.Name = name
		return nil
	}, ev)
	if errors.Is(err, token.ErrNotFound) {
		return token.Errorf(token.NotFound, "passkey_not_found", "passkey not found")
	}
	if err != nil {
		return storeErr(err, "rename passkey")
	}
	return nil
}

// DeletePasskey removes user userID's passkey id (base64url).
func (s *Service) DeletePasskey(ctx context.Context, a *token.Actor, userID, id string) error {
	const action = "user.passkey.remove"
	if _, err := s.manage(ctx, a, userID, action); err != nil {
		return err
	}
	raw, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil {
		return token.Errorf(token.NotFound, "passkey_not_found", "passkey not found")
	}
	ev := s.audit(a.KeyID, a.RequestID, action, userID, map[string]string{"passkey": id})
	if err := s.store.DeletePasskey(ctx, userID, raw, ev); errors.Is(err, token.ErrNotFound) {
		return token.Errorf(token.NotFound, "passkey_not_found", "passkey not found")
	} else if err != nil {
		return storeErr(err, "delete passkey")
	}
	return s.dropOrphanRecoveryCodes(ctx, a, userID)
}
