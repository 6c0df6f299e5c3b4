package people

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"time"

	"github.com/latchkey/latchkey/token"
)

// SetPassword gives user userID a new password, after CheckPassword. The
// user's other sessions end: whoever knew the old password is signed out.
func (s *Service) SetPassword(ctx context.Context, a *token.Actor, userID, password string) error {
	const action = "user.password.set"
	if _, err := s.manage(ctx, a, userID, action); err != nil {
		return err
	}
	if err := CheckPassword(password, userID); err != nil {
		return token.Errorf(token.Invalid, "weak_password", "%s", err.Error())
	}
	var hash string
	if err := s.withArgon(ctx, func() { hash = HashPassword(password, s.argon) }); err != nil {
		return err
	}
	now := s.Now()
	ev := s.audit(a.KeyID, a.RequestID, action, userID, nil)
	_, err := s.store.UpdateCredentials(ctx, userID, func(c *Credentials) error {
		if c.Source != "" {
			return token.Errorf(token.Conflict, "directory_user", "this user signs in through the directory (%s); its password is kept there", c.Source)
		}
		c.PasswordHash, c.PasswordChangedAt, c.UpdatedAt = hash, now, now
		return nil
	}, ev)
	if err != nil {
		return storeErr(err, "set password")
	}
	s.endOthers(ctx, a, userID, "password_changed")
	return nil
}

// endOthers ends the user's sessions except the acting one.
func (s *Service) endOthers(ctx context.Context, a *token.Actor, userID, reason string) {
	sessions, err := s.store.ListSessions(ctx, userID, s.Now())
	if err != nil {
		s.log.Error("end sessions", "user", userID, "err", err)
		return
	}
	for _, sess := range sessions {
		if sess.ID == a.KeyID {
			continue
		}
		ev := s.audit(a.KeyID, a.RequestID, "session.end", userID, map[string]string{"session": sess.ID, "reason": reason})
		if _, err := s.store.EndSession(ctx, sess.ID, reason, s.Now(), ev); err != nil {
			s.log.Error("end session", "session", sess.ID, "err", err)
		}
	}
}

// RemovePassword removes user userID's password.
func (s *Service) RemovePassword(ctx context.Context, a *token.Actor, userID string) error {
	const action = "user.password.remove"
	if _, err := s.manage(ctx, a, userID, action); err != nil {
		return err
	}
	now := s.Now()
	_, err := s.store.UpdateCredentials(ctx, userID, func(c *Credentials) error {
		c.PasswordHash, c.PasswordChangedAt, c.UpdatedAt = "", time.Time{}, now
		return nil
	}, s.audit(a.KeyID, a.RequestID, action, userID, nil))
	if err != nil {
		return storeErr(err, "remove password")
	}
	return nil
}

// Enrollment is a new TOTP seed, shown once.
type Enrollment struct {
	Secret, URI, Issuer, Account string
}

// totpContext binds a sealed TOTP seed to its user.
func totpContext(userID string) string { return "totp:" + userID }

// EnrollTOTP gives user userID a new TOTP seed, pending until ConfirmTOTP
// sees a code of it. A pending seed is replaced; an active one must be
// removed first (Conflict totp_active).
func (s *Service) EnrollTOTP(ctx context.Context, a *token.Actor, userID string) (*Enrollment, error) {
	const action = "user.totp.enroll"
	if _, err := s.manage(ctx, a, userID, action); err != nil {
		return nil, err
	}
	if isSelf(a, userID) {
		sess, err := s.store.Session(ctx, a.KeyID)
		if errors.Is(err, token.ErrNotFound) {
			return nil, errNoSession
		}
		if err != nil {
			return nil, storeErr(err, "get session")
		}
		if err := s.guardNewFactor(ctx, sess); err != nil {
			return nil, err
		}
	}
	key, err := newTOTPKey(s.issuer, userID)
	if err != nil {
		return nil, &token.Error{Kind: token.Internal, Msg: "internal error", Err: err}
	}
	sealed, err := s.box.Seal([]byte(key.Secret()), totpContext(userID))
	if err != nil {
		return nil, &token.Error{Kind: token.Internal, Msg: "internal error", Err: err}
	}
	now := s.Now()
	_, err = s.store.UpdateCredentials(ctx, userID, func(c *Credentials) error {
		if c.TOTPSealed != nil && c.TOTPConfirmed {
			return token.Errorf(token.Conflict, "totp_active", "the user already has an active TOTP authenticator: remove it first")
		}
		c.TOTPSealed, c.TOTPConfirmed, c.TOTPCreatedAt, c.TOTPLastStep, c.UpdatedAt = sealed, false, now, 0, now
		return nil
	}, s.audit(a.KeyID, a.RequestID, action, userID, nil))
	if err != nil {
		return nil, storeErr(err, "enroll totp")
	}
	return &Enrollment{Secret: key.Secret(), URI: key.URL(), Issuer: s.issuer, Account: userID}, nil
}

// ConfirmTOTP activates user userID's pending TOTP seed with a code of it
// and returns ten new recovery codes, shown once.
func (s *Service) ConfirmTOTP(ctx context.Context, a *token.Actor, userID, code string) ([]string, error) {
	const action = "user.totp.confirm"
	if _, err := s.manage(ctx, a, userID, action); err != nil {
		return nil, err
	}
	c, err := s.store.Credentials(ctx, userID)
	if errors.Is(err, token.ErrNotFound) || (err == nil && c.TOTPSealed == nil) {
		return nil, token.Errorf(token.Invalid, "totp_not_enrolled", "the user has no TOTP enrolment to confirm: enrol first")
	}
	if err != nil {
		return nil, storeErr(err, "get credentials")
	}
	if c.TOTPConfirmed {
		return nil, token.Errorf(token.Conflict, "totp_active", "the user's TOTP authenticator is already active")
	}
	// Through a session, wrong codes count like failed sign-ins: else a
	// session guesses the code of a seed an administrator provisioned and
	// receives the new recovery codes.
	self := isSelf(a, userID)
	if self {
		userKey, addrKey := throttleKeys(userID, a.IP)
		if err := s.checkThrottle(ctx, userKey, addrKey); err != nil {
			return nil, err
		}
	}
	if err := s.checkTOTP(ctx, c, code); err != nil {
		if self && errors.Is(err, errCode) {
			s.failed(ctx, userID, a.IP, a.RequestID, "totp_confirm")
		}
		return nil, err
	}
	now := s.Now()
	_, err = s.store.UpdateCredentials(ctx, userID, func(c *Credentials) error {
		if c.TOTPSealed == nil || c.TOTPConfirmed {
			return token.Errorf(token.Conflict, "totp_changed", "the TOTP enrolment changed meanwhile: enrol again")
		}
		c.TOTPConfirmed, c.UpdatedAt = true, now
		return nil
	}, s.audit(a.KeyID, a.RequestID, action, userID, nil))
	if err != nil {
		return nil, storeErr(err, "confirm totp")
	}
	return s.newRecoveryCodes(ctx, a, userID)
}

// checkTOTP accepts code if it is the user's TOTP code within ±1 step and
// that step was never accepted before for the user (on any node).
func (s *Service) checkTOTP(ctx context.Context, c *Credentials, code string) error {
	code, err := normalizeCode(code)
	if err != nil {
		return errCode
	}
	secret, err := s.box.Open(c.TOTPSealed, totpContext(c.UserID))
	if err != nil {
		return &token.Error{Kind: token.Internal, Msg: "internal error", Err: err}
	}
	step := matchTOTP(string(secret), code, s.Now())
	if step < 0 {
		return errCode
	}
	fresh, err := s.store.UseTOTPStep(ctx, c.UserID, step)
	if err != nil {
		return storeErr(err, "use totp step")
	}
	if !fresh {
		return errCode // replayed (RFC 6238 §5.2)
	}
	return nil
}

// RemoveTOTP removes user userID's TOTP authenticator; the recovery codes
// go too if no passkey is left.
func (s *Service) RemoveTOTP(ctx context.Context, a *token.Actor, userID string) error {
	const action = "user.totp.remove"
	if _, err := s.manage(ctx, a, userID, action); err != nil {
		return err
	}
	now := s.Now()
	_, err := s.store.UpdateCredentials(ctx, userID, func(c *Credentials) error {
		if c.TOTPSealed == nil {
			return token.Errorf(token.NotFound, "totp_not_found", "the user has no TOTP authenticator")
		}
		c.TOTPSealed, c.TOTPConfirmed, c.TOTPCreatedAt, c.UpdatedAt = nil, false, time.Time{}, now
		return nil
	}, s.audit(a.KeyID, a.RequestID, action, userID, nil))
	if err != nil {
		return storeErr(err, "remove totp")
	}
	return s.dropOrphanRecoveryCodes(ctx, a, userID)
}

// dropOrphanRecoveryCodes removes the recovery codes of a user left with
// no second factor: they would be a second factor of their own.
func (s *Service) dropOrphanRecoveryCodes(ctx context.Context, a *token.Actor, userID string) error {
	has, err := s.hasSecondFactor(ctx, userID)
	if err != nil || has {
		return err
	}
	if err := s.store.SetRecoveryCodes(ctx, userID, nil, s.audit(a.KeyID, a.RequestID, "user.recovery_codes.remove", userID, nil)); err != nil {
		return storeErr(err, "remove recovery codes")
	}
	return nil
}

// guardNewFactor is the step-up guard of a session adding a second factor:
// if its user has one already, the session must have used one in the last
// StepUpWindow. Else whoever holds a stale session adds an authenticator
// of their own, steps up with it, and no step-up guard holds.
func (s *Service) guardNewFactor(ctx context.Context, sess *Session) error {
	has, err := s.hasSecondFactor(ctx, sess.UserID)
	if err != nil {
		return err
	}
	if has {
		return s.RequireStepUp(sess)
	}
	// The first second factor: it outlives a password change (a passkey
	// signs in alone), so a session left open is not enough either — the
	// user must have signed in within the step-up window.
	now := s.Now()
	for _, f := range sess.Factors {
		if !f.At.After(now.Add(time.Minute)) && now.Sub(f.At) <= StepUpWindow {
			return nil
		}
	}
	return ErrReauthRequired
}

// ErrReauthRequired asks a session that wants to add a first second factor
// to sign in again: its sign-in is older than StepUpWindow.
var ErrReauthRequired = token.Errorf(token.PermissionDenied, "reauthentication_required",
	"adding a first second factor needs a sign-in in the last 5 minutes: sign out and in again, then add it")

// hasSecondFactor reports whether the user has an active TOTP or a
// passkey.
func (s *Service) hasSecondFactor(ctx context.Context, userID string) (bool, error) {
	c, err := s.store.Credentials(ctx, userID)
	if err != nil && !errors.Is(err, token.ErrNotFound) {
		return false, storeErr(err, "get credentials")
	}
	if c != nil && c.TOTPSealed != nil && c.TOTPConfirmed {
		return true, nil
	}
	pks, err := s.store.Passkeys(ctx, userID)
	if err != nil {
		return false, storeErr(err, "list passkeys")
	}
	return len(pks) > 0, nil
}

// RegenerateRecoveryCodes replaces user userID's recovery codes by ten new
// ones, shown once. The user must have a second factor.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, a *token.Actor, userID string) ([]string, error) {
	if _, err := s.manage(ctx, a, userID, "user.recovery_codes.create"); err != nil {
		return nil, err
	}
	has, err := s.hasSecondFactor(ctx, userID)
	if err != nil {
		return nil, err
	}
	if !has {
		return nil, token.Errorf(token.Invalid, "no_second_factor", "recovery codes need a second factor: enrol TOTP or a passkey first")
	}
	return s.newRecoveryCodes(ctx, a, userID)
}

// recoveryAlphabet has no look-alike characters (no 0/o, 1/l/i).
const recoveryAlphabet = "23456789abcdefghjkmnpqrstuvwxyz"

// newRecoveryCodes stores ten new codes (digests only) and returns them:
// each 10 characters of a 31-letter alphabet (49 bits), shown as
// "xxxxx-xxxxx".
func (s *Service) newRecoveryCodes(ctx context.Context, a *token.Actor, userID string) ([]string, error) {
	codes := make([]string, 10)
	digests := make([][]byte, 10)
	for i := range codes {
		var b [10]byte
		rand.Read(b[:])
		var sb strings.Builder
		for j, x := range b {
			if j == 5 {
				sb.WriteByte('-')
			}
			sb.WriteByte(recoveryAlphabet[int(x)%len(recoveryAlphabet)])
		}
		codes[i] = sb.String()
		digests[i] = s.recoveryDigest(codes[i])
	}
	if err := s.store.SetRecoveryCodes(ctx, userID, digests, s.audit(a.KeyID, a.RequestID, "user.recovery_codes.create", userID, nil)); err != nil {
		return nil, storeErr(err, "store recovery codes")
	}
	return codes, nil
}

// normalizeRecovery folds case, spaces and dashes out of a typed recovery
// code.
func normalizeRecovery(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ':
			return -1
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

// looksLikeRecoveryCode reports whether s has the shape of a recovery code.
func looksLikeRecoveryCode(s string) bool {
	n := normalizeRecovery(strings.TrimSpace(s))
	if len(n) != 10 {
		return false
	}
	for i := 0; i < len(n); i++ {
		if !strings.ContainsRune(recoveryAlphabet, rune(n[i])) {
			return false
		}
	}
	return true
}

// FactorSummary says which factors a user has.
type FactorSummary struct {
	Source            string
	Password          bool
	PasswordChangedAt time.Time
	TOTP              string // "none", "pending", "active"
	RecoveryCodesLeft int
	Passkeys          []*Passkey
}

// Factors describes user userID's sign-in factors.
func (s *Service) Factors(ctx context.Context, a *token.Actor, userID string) (*FactorSummary, error) {
	if _, err := s.manage(ctx, a, userID, "user.factors.read"); err != nil {
		return nil, err
	}
	f := &FactorSummary{Source: "local", TOTP: "none"}
	c, err := s.store.Credentials(ctx, userID)
	if err != nil && !errors.Is(err, token.ErrNotFound) {
		return nil, storeErr(err, "get credentials")
	}
	if c != nil {
		if c.Source != "" {
			f.Source = c.Source
		}
		f.Password, f.PasswordChangedAt = c.PasswordHash != "", c.PasswordChangedAt
		switch {
		case c.TOTPSealed != nil && c.TOTPConfirmed:
			f.TOTP = "active"
		case c.TOTPSealed != nil:
			f.TOTP = "pending"
		}
	}
	if f.RecoveryCodesLeft, err = s.store.RecoveryCodesLeft(ctx, userID); err != nil {
		return nil, storeErr(err, "count recovery codes")
	}
	if f.Passkeys, err = s.store.Passkeys(ctx, userID); err != nil {
		return nil, storeErr(err, "list passkeys")
	}
	return f, nil
}
