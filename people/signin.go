package people

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/latchkey/latchkey/token"
)

// Throttle policy (ADM-03): failures are counted per canonical username and
// per client address over throttleWindow; past the free allowance each
// further failure doubles the lock, up to maxLock.
const (
	userFreeFailures = 5
	addrFreeFailures = 50
	throttleWindow   = time.Hour
	maxLock          = 15 * time.Minute
)

// CanonicalUsername folds the ways one name can be typed into one throttle
// key: NFKC, case, white space and invisible format characters (zero-width
// spaces and joiners) — "admin", "Admin", " admin" and "admin\u200b" are one.
func CanonicalUsername(s string) string {
	s = norm.NFKC.String(s)
	s = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) || unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	return strings.ToLower(s)
}

// ThrottledError says a sign-in was refused without being checked, because
// of too many recent failures for the name or the address.
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed sign-ins: try again in %d seconds", int(math.Ceil(e.RetryAfter.Seconds())))
}

// lockFor returns the lock of a key after failures, free of them allowed.
func lockFor(now time.Time, failures, free int) time.Time {
	if failures <= free {
		return time.Time{}
	}
	n := failures - free - 1
	if n > 20 {
		n = 20
	}
	d := min(time.Duration(1<<n)*time.Second, maxLock)
	return now.Add(d)
}

// throttleKeys returns the throttle keys of a sign-in attempt.
// The name is cut to 256 bytes (the longest a sign-in accepts): a
// refused 60 KiB name is not stored whole as a key and in the audit log.
func throttleKeys(username, ip string) (user, addr string) {
	c := CanonicalUsername(username)
	if len(c) > 256 {
		c = c[:256]
	}
	return "user:" + c, "addr:" + ip
}

// checkThrottle returns a *ThrottledError if either key is locked.
func (s *Service) checkThrottle(ctx context.Context, keys ...string) error {
	now := s.Now()
	var wait time.Duration
	for _, k := range keys {
		t, err := s.store.Throttle(ctx, k)
		if err != nil {
			return storeErr(err, "read throttle")
		}
		if d := t.LockedUntil.Sub(now); d > wait {
			wait = d
		}
	}
	if wait > 0 {
		return &ThrottledError{RetryAfter: wait}
	}
	return nil
}

// failed counts a failed attempt against both keys and audits it (and, when
// a key becomes locked, the burst).
func (s *Service) failed(ctx context.Context, username, ip, requestID, reason string) {
	userKey, addrKey := throttleKeys(username, ip)
	now := s.Now()
	canon := strings.TrimPrefix(userKey, "user:")
	for _, k := range []struct {
		key  string
		free int
	}{{userKey, userFreeFailures}, {addrKey, addrFreeFailures}} {
		t, err := s.store.RecordFailure(ctx, k.key, now, throttleWindow, func(n int) time.Time { return lockFor(now, n, k.free) })
		if err != nil {
			s.log.Error("sign-in throttle", "err", err)
			continue
		}
		if t.Failures == k.free+1 {
			ev := s.audit("anonymous", requestID, "signin.throttled", canon, map[string]string{"key": k.key, "failures": fmt.Sprint(t.Failures)})
			ev.Outcome, ev.TargetType = token.OutcomeDenied, "signin"
			s.appendAudit(ctx, ev)
		}
	}
	ev := s.audit("anonymous", requestID, "signin.failed", canon, map[string]string{"ip": ip, "reason": reason})
	ev.Outcome, ev.TargetType = token.OutcomeDenied, "signin"
	s.appendAudit(ctx, ev)
}

func (s *Service) appendAudit(ctx context.Context, ev *token.AuditEvent) {
	if err := s.tokens.Store().AppendAudit(ctx, ev); err != nil {
		s.log.Error("audit", "action", ev.Action, "err", err)
	}
}

// SignInRequest is a password sign-in attempt.
type SignInRequest struct {
	Username, Password string
	IP, UserAgent      string
	RequestID          string
	// Current is the cookie of the browser's current session, if any: it
	// is ended when the new one starts (no session fixation).
	Current string
}

// SignInResult is a successful first (or only) step of a sign-in.
type SignInResult struct {
	// Session and Cookie are set when the user is signed in.
	Session *Session
	Cookie  string
	// Pending and PendingCookie are set when a second factor is needed;
	// TOTP and Passkey say which the user may give.
	Pending       *Session
	PendingCookie string
	TOTP, Passkey bool
}

// SignIn checks a username and password. Unknown users, wrong passwords,
// disabled users and users without a password all get the same error after
// the same argon2id computation (ADM-04); failures are throttled per
// canonical username and per address (ADM-03).
func (s *Service) SignIn(ctx context.Context, r SignInRequest) (*SignInResult, error) {
	userKey, addrKey := throttleKeys(r.Username, r.IP)
	if err := s.checkThrottle(ctx, userKey, addrKey); err != nil {
		return nil, err
	}
	if r.Username == "" || r.Password == "" || len(r.Username) > 256 || len(r.Password) > MaxPasswordLength {
		s.verifyDummy(ctx, r.Password)
		s.failed(ctx, r.Username, r.IP, r.RequestID, "malformed")
		return nil, errSignIn
	}
	userID, method, err := s.checkPassword(ctx, r.Username, r.Password)
	if err != nil {
		if errors.Is(err, errSignIn) {
			s.failed(ctx, r.Username, r.IP, r.RequestID, "password")
		}
		return nil, err
	}
	if err := s.store.ResetThrottle(ctx, userKey); err != nil {
		s.log.Error("sign-in throttle reset", "err", err)
	}
	return s.afterFirstFactor(ctx, userID, method, r)
}

// verifyDummy spends one argon2id computation on nothing.
func (s *Service) verifyDummy(ctx context.Context, password string) {
	s.argonRuns.Add(1)
	s.withArgon(ctx, func() { VerifyPassword(s.dummyHash(), password, s.argon) }) //nolint:errcheck // timing only
}

// checkPassword returns the user a password signs in, and how it was
// checked: the local argon2id hash, or the directory for users without
// one.
func (s *Service) checkPassword(ctx context.Context, username, password string) (string, string, error) {
	c, err := s.store.Credentials(ctx, username)
	if err != nil && !errors.Is(err, token.ErrNotFound) {
		return "", "", storeErr(err, "get credentials")
	}
	if c != nil && c.PasswordHash != "" && c.Source == "" {
		s.argonRuns.Add(1)
		var ok, rehash bool
		var err error
		if aerr := s.withArgon(ctx, func() { ok, rehash, err = VerifyPassword(c.PasswordHash, password, s.argon) }); aerr != nil {
			return "", "", aerr
		}
		if err != nil || !ok {
			return "", "", errSignIn
		}
		p, err := s.tokens.Store().Principal(ctx, token.User, username)
		if err != nil || p.Disabled {
			return "", "", errSignIn
		}
		if rehash {
			s.rehash(ctx, username, password)
		}
		return username, MethodPassword, nil
	}
	if s.dir != nil {
		return s.directorySignIn(ctx, username, password)
	}
	s.verifyDummy(ctx, password)
	return "", "", errSignIn
}

// rehash stores the password again under the current parameters.
func (s *Service) rehash(ctx context.Context, userID, password string) {
	var hash string
	if err := s.withArgon(ctx, func() { hash = HashPassword(password, s.argon) }); err != nil {
		return
	}
	ev := s.audit("system", "", "user.password.rehash", userID, nil)
	if _, err := s.store.UpdateCredentials(ctx, userID, func(c *Credentials) error {
		c.PasswordHash, c.UpdatedAt = hash, s.Now()
		return nil
	}, ev); err != nil {
		s.log.Error("password rehash", "user", userID, "err", err)
	}
}

// directorySignIn checks the password with the directory and creates or
// refreshes the user from its entry: name, profile, groups and permissions
// (from its groups) at every sign-in. Only users the directory created are the
// directory's: a latchkey user of the same name (with a password, API keys,
// passkeys or nothing at all) is never taken over.
func (s *Service) directorySignIn(ctx context.Context, username, password string) (string, string, error) {
	e, err := s.dir.Authenticate(ctx, username, password)
	if errors.Is(err, ErrDirectoryRejected) {
		return "", "", errSignIn
	}
	if err != nil {
		return "", "", &token.Error{Kind: token.Unavailable, Code: "directory_unavailable",
			Msg: "the directory cannot be reached; try again later", Err: err}
	}
	id := e.Username
	if id == "" {
		id = username
	}
	email, uname := s.directoryProfile(id, e)
	// The directory vouches for the address.
	pf := profile{email, email != "", uname, s.externalGroups(id, e.Groups)}
	if err := s.syncExternal(ctx, "ldap", e.DN, false, id, e.Name, pf, e.Permissions); err != nil {
		return "", "", err
	}
	return id, MethodDirectory, nil
}

// syncExternal creates or refreshes user id from an external source (the
// directory, an upstream provider): its name, email and permissions at
// every sign-in. Only users the source created are the source's: a
// latchkey user of the same name (with a password, API keys, passkeys or
// nothing at all), or one of another source, is never taken over; with
// sameExternal, nor one the source created for another external ID.
func (s *Service) syncExternal(ctx context.Context, source, externalID string, sameExternal bool, id, name string, pf profile, permissions []string) error {
	sys := &token.Actor{KeyID: "system", Name: "directory", Scopes: token.SystemActor.Scopes}
	perms := append([]string{}, permissions...)
	p, err := s.tokens.Store().Principal(ctx, token.User, id)
	if err != nil && !errors.Is(err, token.ErrNotFound) {
		return storeErr(err, "get user")
	}
	exists := err == nil
	details := map[string]string{"dn": externalID, "permissions": strings.Join(perms, " ")}
	if source != "ldap" {
		details["source"] = source
	}
	// Mark (or re-mark) the credentials as the source's first, in one
	// transaction that refuses a local record: if creating the user below
	// fails, the next sign-in finds the mark and creates it then.
	now := s.Now()
	_, err = s.store.UpdateCredentials(ctx, id, func(c *Credentials) error {
		local := c.Source == "" && (c.Version > 0 || exists)
		if local || (c.Source != "" && c.Source != source) {
			return errTakeover
		}
		if sameExternal && c.Source == source && c.ExternalID != "" && c.ExternalID != externalID {
			return errTakeover
		}
		c.Source, c.ExternalID, c.UpdatedAt = source, externalID, now
		return nil
	}, s.audit("system", "", "user.directory.sync", id, details))
	if errors.Is(err, errTakeover) {
		s.log.Warn("external sign-in refused: a latchkey user of that name exists that this source did not create", "user", id, "source", source)
		return errSignIn
	}
	if err != nil {
		return storeErr(err, "sync directory user")
	}
	switch {
	case !exists:
		if _, err := s.tokens.CreatePrincipal(ctx, sys, token.CreatePrincipalParams{Type: token.User, ID: id, Name: name, Permissions: perms,
			Email: pf.email, EmailVerified: pf.verified, PreferredUsername: pf.username, Groups: pf.groups}); err != nil {
			return err
		}
	case p.Disabled:
		return errSignIn
	default:
		n := p.Name
		if name != "" {
			n = name
		}
		// The profile mirrors the source at every sign-in: an address it
		// drops is no longer claimed, a group it drops no longer held.
		groups := append([]string{}, pf.groups...)
		if _, err := s.tokens.UpdatePrincipal(ctx, sys, token.User, id, token.UpdatePrincipalParams{Name: &n, Permissions: &perms,
			Email: &pf.email, EmailVerified: &pf.verified, PreferredUsername: &pf.username, Groups: &groups}); err != nil {
			return err
		}
	}
	return nil
}

// ExternalUser is a user an upstream provider vouched for.
type ExternalUser struct {
	// UserID is the latchkey user; Source ("oidc:<provider>") and
	// ExternalID (the upstream's sub) link it to the provider.
	UserID, Source, ExternalID string
	Name, Email                string
	// EmailVerified: the provider says it verified Email.
	EmailVerified bool
	// Groups are the provider's group names of the user (its groups
	// claim); they become the user's groups.
	Groups      []string
	Permissions []string
}

// profile is the OpenID Connect profile an external source gives a user.
type profile struct {
	email    string
	verified bool
	username string
	groups   []string
}

// externalGroups returns the group names an external source gives user
// id that latchkey can keep (token.NormalizeGroups): a name it would
// refuse is left out and logged, and past token.MaxGroups the rest is
// dropped, rather than failing the sign-in.
func (s *Service) externalGroups(id string, groups []string) []string {
	var out []string
	for _, g := range groups {
		if _, err := token.NormalizeGroups([]string{g}); err != nil {
			s.log.Warn("external group left out", "user", id, "err", err)
			continue
		}
		if !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	if len(out) > token.MaxGroups {
		s.log.Warn("external groups beyond the most a user may have left out", "user", id, "groups", len(out), "kept", token.MaxGroups)
		out = out[:token.MaxGroups]
	}
	return out
}

// directoryProfile returns the email and preferred_username the directory
// gives user id: its entry's email, and its directory user name (or id).
// A value latchkey would refuse (an address without @, an over-long name)
// is left out and logged rather than failing the sign-in.
func (s *Service) directoryProfile(id string, e *DirectoryUser) (email, username string) {
	email, username = e.Email, e.Username
	if username == "" {
		username = id
	}
	if err := token.ValidEmail(email); err != nil {
		s.log.Warn("directory email left out", "user", id, "err", err)
		email = ""
	}
	if err := token.ValidPreferredUsername(username); err != nil {
		s.log.Warn("directory user name left out of preferred_username", "user", id, "err", err)
		username = ""
	}
	return email, username
}

// ExternalRefused audits a sign-in through upstream provider source
// ("oidc:<id>") that latchkey refused before knowing the user: a bad
// state, an answer that did not verify, a refusal at the provider. reason
// is a short code, never the provider's answer.
func (s *Service) ExternalRefused(ctx context.Context, source, reason string, r SignInRequest) {
	ev := s.audit("anonymous", r.RequestID, "signin.failed", source, map[string]string{"ip": r.IP, "reason": reason})
	ev.Outcome, ev.TargetType = token.OutcomeDenied, "signin"
	s.appendAudit(ctx, ev)
}

// SignInExternal signs in a user an upstream provider has authenticated:
// it creates or refreshes the user as the directory does (never taking
// over a local user or another source's), then starts a session the way a
// password sign-in does — or a pending one if the user has a second
// factor here. The session's factor is "fed" (RFC 8176).
func (s *Service) SignInExternal(ctx context.Context, u ExternalUser, r SignInRequest) (*SignInResult, error) {
	if u.UserID == "" || len(u.UserID) > 256 || u.Source == "" || u.ExternalID == "" {
		return nil, token.Errorf(token.Invalid, "invalid_external_user", "the sign-in provider named no usable user")
	}
	pf := profile{email: u.Email, verified: u.EmailVerified && u.Email != ""}
	if err := token.ValidEmail(pf.email); err != nil {
		pf = profile{}
	}
	pf.groups = s.externalGroups(u.UserID, u.Groups)
	if err := s.syncExternal(ctx, u.Source, u.ExternalID, true, u.UserID, u.Name, pf, u.Permissions); err != nil {
		if errors.Is(err, errSignIn) {
			s.failed(ctx, u.UserID, r.IP, r.RequestID, "external")
		}
		return nil, err
	}
	return s.afterFirstFactor(ctx, u.UserID, MethodFederated, r)
}

var errTakeover = errors.New("a local user of that name exists")

// afterFirstFactor starts a pending sign-in if the user has a second
// factor, and a session if not.
func (s *Service) afterFirstFactor(ctx context.Context, userID, method string, r SignInRequest) (*SignInResult, error) {
	c, err := s.store.Credentials(ctx, userID)
	if err != nil && !errors.Is(err, token.ErrNotFound) {
		return nil, storeErr(err, "get credentials")
	}
	totpOn := c != nil && c.TOTPSealed != nil && c.TOTPConfirmed
	pks, err := s.store.Passkeys(ctx, userID)
	if err != nil {
		return nil, storeErr(err, "list passkeys")
	}
	now := s.Now()
	factor := Factor{Method: method, At: now}
	if !totpOn && len(pks) == 0 {
		return s.startSession(ctx, userID, []Factor{factor}, r.Current, r)
	}
	cookie := randomString(32)
	p := &Session{ID: token.NewID("ses", now), Digest: digest(cookie), UserID: userID, Pending: true,
		Factors: []Factor{factor}, IP: r.IP, UserAgent: truncateUA(r.UserAgent), CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(PendingTimeout), IdleExpiresAt: now.Add(PendingTimeout)}
	if err := s.store.CreateSession(ctx, p, "", nil); err != nil {
		return nil, storeErr(err, "create pending sign-in")
	}
	return &SignInResult{Pending: p, PendingCookie: cookie, TOTP: totpOn, Passkey: len(pks) > 0 && s.wa != nil}, nil
}

// startSession creates a session for the user with factors, ending the
// browser's current session (by its cookie) if it has one.
func (s *Service) startSession(ctx context.Context, userID string, factors []Factor, current string, r SignInRequest) (*SignInResult, error) {
	now := s.Now()
	cookie := randomString(32)
	sess := &Session{ID: token.NewID("ses", now), Digest: digest(cookie), UserID: userID, Factors: factors,
		IP: r.IP, UserAgent: truncateUA(r.UserAgent), CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(s.absolute), IdleExpiresAt: now.Add(min(s.idle, s.absolute))}
	var replaces string
	if current != "" {
		if old, err := s.store.SessionByDigest(ctx, digest(current)); err == nil && old.EndedAt.IsZero() {
			replaces = old.ID
		}
	}
	methods := make([]string, len(factors))
	for i, f := range factors {
		methods[i] = f.Method
	}
	ev := s.audit(sess.ID, r.RequestID, "signin.success", userID, map[string]string{"session": sess.ID, "ip": r.IP, "factors": strings.Join(methods, " ")})
	ev.TargetType = "user"
	if err := s.store.CreateSession(ctx, sess, replaces, ev); err != nil {
		return nil, storeErr(err, "create session")
	}
	return &SignInResult{Session: sess, Cookie: cookie}, nil
}

func truncateUA(ua string) string {
	if len(ua) > 256 {
		return ua[:256]
	}
	return ua
}

// pending returns the live pending sign-in of cookie.
func (s *Service) pending(ctx context.Context, cookie string) (*Session, error) {
	if cookie == "" {
		return nil, errNoPending
	}
	p, err := s.store.SessionByDigest(ctx, digest(cookie))
	if errors.Is(err, token.ErrNotFound) {
		return nil, errNoPending
	}
	if err != nil {
		return nil, storeErr(err, "get pending sign-in")
	}
	if !p.Pending || !p.EndedAt.IsZero() || !s.Now().Before(p.ExpiresAt) {
		return nil, errNoPending
	}
	return p, nil
}

var errNoPending = token.Errorf(token.Unauthenticated, "signin_expired", "the sign-in expired: start again with your username and password")

// PendingSignIn returns the pending sign-in of cookie and which second
// factors its user has.
func (s *Service) PendingSignIn(ctx context.Context, cookie string) (p *Session, totpOn, passkey bool, err error) {
	if p, err = s.pending(ctx, cookie); err != nil {
		return nil, false, false, err
	}
	c, err := s.store.Credentials(ctx, p.UserID)
	if err != nil && !errors.Is(err, token.ErrNotFound) {
		return nil, false, false, storeErr(err, "get credentials")
	}
	pks, err := s.store.Passkeys(ctx, p.UserID)
	if err != nil {
		return nil, false, false, storeErr(err, "list passkeys")
	}
	return p, c != nil && c.TOTPSealed != nil && c.TOTPConfirmed, len(pks) > 0 && s.wa != nil, nil
}

// SecondFactor finishes a pending sign-in with a TOTP code or a recovery
// code, replacing the pending record by a session with a new ID.
func (s *Service) SecondFactor(ctx context.Context, pendingCookie, code string, r SignInRequest) (*SignInResult, error) {
	p, err := s.pending(ctx, pendingCookie)
	if err != nil {
		return nil, err
	}
	userKey, addrKey := throttleKeys(p.UserID, r.IP)
	if err := s.checkThrottle(ctx, userKey, addrKey); err != nil {
		return nil, err
	}
	method, err := s.checkSecondFactor(ctx, p.UserID, code, r.RequestID, p.ID)
	if err != nil {
		if errors.Is(err, errCode) {
			s.failed(ctx, p.UserID, r.IP, r.RequestID, "second_factor")
		}
		return nil, err
	}
	s.store.ResetThrottle(ctx, userKey) //nolint:errcheck // best effort
	factors := append(append([]Factor{}, p.Factors...), Factor{Method: method, At: s.Now()})
	res, err := s.startSession(ctx, p.UserID, factors, r.Current, r)
	if err != nil {
		return nil, err
	}
	if _, err := s.store.EndSession(ctx, p.ID, "replaced", s.Now(), nil); err != nil {
		s.log.Error("end pending sign-in", "err", err)
	}
	return res, nil
}

// checkSecondFactor accepts a TOTP code or an unused recovery code of the
// user and returns which it was.
func (s *Service) checkSecondFactor(ctx context.Context, userID, code, requestID, actor string) (string, error) {
	if looksLikeRecoveryCode(code) {
		ev := s.audit(actor, requestID, "user.recovery_code.use", userID, nil)
		ok, err := s.store.UseRecoveryCode(ctx, userID, s.recoveryDigest(strings.TrimSpace(code)), ev)
		if err != nil {
			return "", storeErr(err, "use recovery code")
		}
		if !ok {
			return "", errCode
		}
		return MethodRecoveryCode, nil
	}
	c, err := s.store.Credentials(ctx, userID)
	if err != nil && !errors.Is(err, token.ErrNotFound) {
		return "", storeErr(err, "get credentials")
	}
	if c == nil || c.TOTPSealed == nil || !c.TOTPConfirmed {
		return "", errCode
	}
	if err := s.checkTOTP(ctx, c, code); err != nil {
		return "", err
	}
	return MethodTOTP, nil
}

// CheckCurrentPassword checks r.Password against user r.Username's local
// password, throttled like a sign-in: changing a password through a
// session needs the current one.
func (s *Service) CheckCurrentPassword(ctx context.Context, r SignInRequest) error {
	userKey, addrKey := throttleKeys(r.Username, r.IP)
	if err := s.checkThrottle(ctx, userKey, addrKey); err != nil {
		return err
	}
	c, err := s.store.Credentials(ctx, r.Username)
	if err != nil && !errors.Is(err, token.ErrNotFound) {
		return storeErr(err, "get credentials")
	}
	hash := s.dummyHash()
	if c != nil && c.PasswordHash != "" {
		hash = c.PasswordHash
	}
	var ok bool
	if aerr := s.withArgon(ctx, func() { ok, _, err = VerifyPassword(hash, r.Password, s.argon) }); aerr != nil {
		return aerr
	}
	if err != nil || !ok || c == nil || c.PasswordHash == "" {
		s.failed(ctx, r.Username, r.IP, r.RequestID, "current_password")
		return token.Errorf(token.Unauthenticated, "invalid_credentials", "the password is incorrect")
	}
	return nil
}
