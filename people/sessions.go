package people

import (
	"context"
	"errors"
	"time"

	"github.com/latchkey/latchkey/token"
)

var errNoSession = token.Errorf(token.Unauthenticated, "session_required", "sign in first")

// Authenticate returns the live session of a cookie and its user. A session
// is dead once ended (on any node: every call reads the database), past its
// absolute or idle expiry, or when its user is disabled or gone. It moves
// the idle expiry forward (written at most once a minute).
func (s *Service) Authenticate(ctx context.Context, cookie string) (*Session, *token.Principal, error) {
	if cookie == "" || len(cookie) > 128 {
		return nil, nil, errNoSession
	}
	sess, err := s.store.SessionByDigest(ctx, digest(cookie))
	if errors.Is(err, token.ErrNotFound) {
		return nil, nil, errNoSession
	}
	if err != nil {
		return nil, nil, storeErr(err, "get session")
	}
	now := s.Now()
	if sess.Pending || !sess.EndedAt.IsZero() || !now.Before(sess.ExpiresAt) || !now.Before(sess.IdleExpiresAt) {
		return nil, nil, errNoSession
	}
	p, err := s.tokens.Store().Principal(ctx, token.User, sess.UserID)
	if errors.Is(err, token.ErrNotFound) {
		return nil, nil, errNoSession
	}
	if err != nil {
		return nil, nil, storeErr(err, "get user")
	}
	if p.Disabled {
		ev := s.audit("system", "", "session.end", sess.UserID, map[string]string{"session": sess.ID, "reason": "user_disabled"})
		if ended, err := s.store.EndSession(ctx, sess.ID, "user_disabled", now, ev); err == nil && ended {
			s.ended(ctx, sess.UserID, sess.ID, false)
		}
		return nil, nil, errNoSession
	}
	if now.Sub(sess.LastSeenAt) >= touchEvery {
		idle := now.Add(s.idle)
		if idle.After(sess.ExpiresAt) {
			idle = sess.ExpiresAt
		}
		if err := s.store.TouchSession(ctx, sess.ID, now, idle); err != nil {
			s.log.Warn("touch session", "err", err)
		} else {
			sess.LastSeenAt, sess.IdleExpiresAt = now, idle
		}
	}
	return sess, p, nil
}

// Logout ends the session of cookie (a pending sign-in too). Unknown or
// dead cookies are not an error.
func (s *Service) Logout(ctx context.Context, cookie, requestID string) error {
	if cookie == "" || len(cookie) > 128 {
		return nil
	}
	sess, err := s.store.SessionByDigest(ctx, digest(cookie))
	if errors.Is(err, token.ErrNotFound) {
		return nil
	}
	if err != nil {
		return storeErr(err, "get session")
	}
	var ev *token.AuditEvent
	if !sess.Pending {
		ev = s.audit(sess.ID, requestID, "session.end", sess.UserID, map[string]string{"session": sess.ID, "reason": "logout"})
	}
	ended, err := s.store.EndSession(ctx, sess.ID, "logout", s.Now(), ev)
	if err != nil {
		return storeErr(err, "end session")
	}
	if ended && !sess.Pending {
		s.ended(ctx, sess.UserID, sess.ID, false)
	}
	return nil
}

// Sessions lists user userID's live sessions.
func (s *Service) Sessions(ctx context.Context, a *token.Actor, userID string) ([]*Session, error) {
	if _, err := s.manage(ctx, a, userID, "session.list"); err != nil {
		return nil, err
	}
	out, err := s.store.ListSessions(ctx, userID, s.Now())
	if err != nil {
		return nil, storeErr(err, "list sessions")
	}
	return out, nil
}

// EndSession ends user userID's session sid.
func (s *Service) EndSession(ctx context.Context, a *token.Actor, userID, sid string) error {
	const action = "session.end"
	if _, err := s.manage(ctx, a, userID, action); err != nil {
		return err
	}
	sess, err := s.store.Session(ctx, sid)
	if errors.Is(err, token.ErrNotFound) || (err == nil && (sess.UserID != userID || sess.Pending)) {
		return token.Errorf(token.NotFound, "session_not_found", "session not found")
	}
	if err != nil {
		return storeErr(err, "get session")
	}
	reason := "admin"
	if isSelf(a, userID) {
		reason = "user"
	}
	ev := s.audit(a.KeyID, a.RequestID, action, userID, map[string]string{"session": sid, "reason": reason})
	ended, err := s.store.EndSession(ctx, sid, reason, s.Now(), ev)
	if err != nil {
		return storeErr(err, "end session")
	}
	if !ended {
		return token.Errorf(token.NotFound, "session_not_found", "session not found")
	}
	s.ended(ctx, userID, sid, false)
	return nil
}

// EndSessions ends every session of user userID (reason "admin", or
// "user_disabled" when called for a disabled user) and returns how many.
func (s *Service) EndSessions(ctx context.Context, a *token.Actor, userID, reason string) (int, error) {
	const action = "session.end_all"
	if _, err := s.manage(ctx, a, userID, action); err != nil {
		return 0, err
	}
	if reason == "" {
		reason = "admin"
	}
	ev := s.audit(a.KeyID, a.RequestID, action, userID, map[string]string{"reason": reason})
	n, err := s.store.EndUserSessions(ctx, userID, reason, s.Now(), ev)
	if err != nil {
		return 0, storeErr(err, "end sessions")
	}
	if n > 0 {
		s.ended(ctx, userID, "", true)
	}
	return n, nil
}

// SteppedUp reports whether sess used a second factor within StepUpWindow
// of now.
func SteppedUp(sess *Session, now time.Time) bool {
	for _, f := range sess.Factors {
		if secondFactor(f.Method) && !f.At.After(now.Add(time.Minute)) && now.Sub(f.At) <= StepUpWindow {
			return true
		}
	}
	return false
}

// RequireStepUp is the step-up guard of dangerous operations done through a
// session (SPEC §3.5): nil if sess used a second factor in the last five
// minutes, else ErrStepUpRequired (403 step_up_required).
func (s *Service) RequireStepUp(sess *Session) error {
	if sess == nil {
		return errNoSession
	}
	if SteppedUp(sess, s.Now()) {
		return nil
	}
	return ErrStepUpRequired
}

// StepUp records a fresh second factor — a TOTP or recovery code — on a
// live session.
func (s *Service) StepUp(ctx context.Context, sess *Session, code, ip, requestID string) error {
	userKey, addrKey := throttleKeys(sess.UserID, ip)
	if err := s.checkThrottle(ctx, userKey, addrKey); err != nil {
		return err
	}
	method, err := s.checkSecondFactor(ctx, sess.UserID, code, requestID, sess.ID)
	if err != nil {
		if errors.Is(err, errCode) {
			s.failed(ctx, sess.UserID, ip, requestID, "step_up")
		}
		return err
	}
	return s.addFactor(ctx, sess, method, requestID)
}

func (s *Service) addFactor(ctx context.Context, sess *Session, method, requestID string) error {
	f := Factor{Method: method, At: s.Now()}
	ev := s.audit(sess.ID, requestID, "session.step_up", sess.UserID, map[string]string{"session": sess.ID, "method": method})
	if err := s.store.AddSessionFactor(ctx, sess.ID, f, ev); err != nil {
		return storeErr(err, "step up")
	}
	sess.Factors = append(sess.Factors, f)
	return nil
}

// Prune deletes sessions and challenges that ended or expired more than a
// day ago.
func (s *Service) Prune(ctx context.Context) error {
	before := s.Now().Add(-24 * time.Hour)
	if _, err := s.store.PruneSessions(ctx, before); err != nil {
		return err
	}
	_, err := s.store.PruneChallenges(ctx, s.Now())
	return err
}
