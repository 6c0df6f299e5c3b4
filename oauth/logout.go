package oauth

import (
	"context"
	"fmt"
	"github.com/latchkey/latchkey/internal/outbound"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/latchkey/latchkey/signer"
	"github.com/latchkey/latchkey/token"
)

// Logout (OpenID Connect RP-Initiated Logout 1.0 and Back-Channel Logout
// 1.0). Ending a sign-in session tells every app that got a grant through
// it, and registered a backchannel_logout_uri, with a signed logout token.
// The grants themselves, and their refresh tokens, stay: a refresh token
// outlives the sign-in that approved it (offline_access), and an app that
// wants its user's tokens gone on logout revokes them itself.

// DefaultBackchannelRetries is the schedule of back-channel logout
// deliveries: the delay before each attempt (three attempts over about
// 30 s).
var DefaultBackchannelRetries = []time.Duration{0, 5 * time.Second, 25 * time.Second}

// BackchannelTimeout bounds one delivery of a logout token.
const BackchannelTimeout = 5 * time.Second

// IDTokenHint is what a verified id_token_hint tells.
type IDTokenHint struct {
	// Subject is the token's sub: the user ID, or a pairwise sub (see
	// Service.HintNames).
	Subject string
	// ClientIDs is its aud.
	ClientIDs []string
	// SessionID is its sid ("" if it had none).
	SessionID string
}

// ErrInvalidHint is CheckIDTokenHint's error for anything that is not an
// ID token this server signed.
var ErrInvalidHint = token.Errorf(token.Invalid, "invalid_request", "id_token_hint is not an ID token of this server")

// CheckIDTokenHint verifies an id_token_hint: an ID token (typ "JWT")
// signed by a published key of the ring, with our iss. An expired one is
// accepted (RP-Initiated Logout §2); anything else is ErrInvalidHint.
func (s *Service) CheckIDTokenHint(tok string) (*IDTokenHint, error) {
	if s.signer == nil || tok == "" {
		return nil, ErrInvalidHint
	}
	c, err := signer.VerifyIDTokenHint(s.signer.Ring(), s.issuer, tok, time.Now())
	if err != nil {
		return nil, ErrInvalidHint
	}
	return &IDTokenHint{Subject: c.Subject, ClientIDs: c.Audience, SessionID: c.SessionID}, nil
}

// HintNames reports whether id_token_hint h is about user userID: its sub
// is the one its audience's client is given for userID — the user ID, or
// the client's pairwise sub, recomputed (a pairwise sub is never mapped
// back from a table).
func (s *Service) HintNames(ctx context.Context, h *IDTokenHint, userID string) bool {
	if h == nil || userID == "" || len(h.ClientIDs) == 0 {
		return false
	}
	for _, id := range h.ClientIDs {
		sub, err := s.subjectFor(ctx, id, userID)
		if err != nil || sub != h.Subject {
			return false
		}
	}
	return true
}

// ErrPostLogoutRedirect is CheckPostLogoutRedirect's error for a
// post_logout_redirect_uri the client did not register.
var ErrPostLogoutRedirect = token.Errorf(token.Invalid, "invalid_request",
	"post_logout_redirect_uri is not registered for this client")

// CheckPostLogoutRedirect reports whether uri is one of client clientID's
// post_logout_redirect_uris, byte for byte; ErrPostLogoutRedirect if not
// (or if there is no such client).
func (s *Service) CheckPostLogoutRedirect(ctx context.Context, clientID, uri string) error {
	if clientID == "" || uri == "" {
		return ErrPostLogoutRedirect
	}
	c, err := s.Client(ctx, clientID)
	if err != nil {
		return err
	}
	if c == nil || !slices.Contains(c.Settings.PostLogoutRedirectURIs, uri) {
		return ErrPostLogoutRedirect
	}
	return nil
}

// SessionEnded sends back-channel logout tokens for a sign-in session
// that ended: to every app holding a grant approved in session sessionID
// of user userID, or, when all is set (every session of the user ended),
// to every app holding a grant of the user, with sub and without sid.
// The grants are looked up now; the deliveries run in the background,
// with retries (BackchannelRetries), and are logged, never returned.
func (s *Service) SessionEnded(ctx context.Context, userID, sessionID string, all bool) {
	if s.grants == nil || s.signer == nil || userID == "" || (!all && sessionID == "") {
		return
	}
	ctx = context.WithoutCancel(ctx)
	f := GrantFilter{UserID: userID}
	if !all {
		f.SessionID = sessionID
	} else {
		sessionID = ""
	}
	clients := map[string]bool{}
	for {
		page, err := s.grants.Grants(ctx, f)
		if err != nil {
			s.log.Error("back-channel logout: list grants", "user", userID, "err", err)
			return
		}
		for _, g := range page {
			clients[g.ClientID] = true
		}
		if len(page) == 0 || len(page) < defaultGrantList {
			break
		}
		f.After = page[len(page)-1].ID
	}
	for id := range clients {
		c, err := s.Client(ctx, id)
		if err != nil || c == nil || c.Settings.BackchannelLogoutURI == "" {
			continue
		}
		s.bcWG.Add(1)
		go func() {
			defer s.bcWG.Done()
			s.deliverLogout(ctx, id, c.Settings.BackchannelLogoutURI, s.subjectOf(c, userID), sessionID)
		}()
	}
}

// defaultGrantList is the page size of GrantStore.Grants with Limit 0.
const defaultGrantList = 100

// WaitBackchannel waits until every back-channel logout delivery started
// so far is done (for tests).
func (s *Service) WaitBackchannel() { s.bcWG.Wait() }

// DrainBackchannel is for shutdown: deliveries waiting for a retry make
// their next attempt at once (and it is their last), and it waits for
// all of them until ctx ends. It returns the number of deliveries still
// unfinished then; they are logged as abandoned by the delivery itself
// once its attempt ends.
func (s *Service) DrainBackchannel(ctx context.Context) int {
	s.bcOnce.Do(func() { close(s.bcDrain) })
	done := make(chan struct{})
	go func() { s.bcWG.Wait(); close(done) }()
	select {
	case <-done:
		return 0
	case <-ctx.Done():
		return int(s.bcPending.Load())
	}
}

// deliverLogout POSTs a fresh logout token, with sub as the client knows
// the user (a pairwise client's sub), for each attempt of the schedule
// until one is answered 2xx.
func (s *Service) deliverLogout(ctx context.Context, clientID, uri, sub, sessionID string) {
	s.bcPending.Add(1)
	defer s.bcPending.Add(-1)
	for i, delay := range s.bcRetries {
		last := i == len(s.bcRetries)-1
		if delay > 0 {
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-s.bcDrain:
				t.Stop()
				last = true
			}
		}
		now := time.Now()
		tok, err := signer.IssueLogoutToken(s.signer.Ring(), signer.LogoutClaims{Issuer: s.issuer, Audience: clientID,
			Subject: sub, SessionID: sessionID, ID: token.NewID("lot", now)}, now)
		if err != nil {
			s.log.Error("back-channel logout: sign", "client", clientID, "err", err)
			return
		}
		err = s.postLogout(ctx, uri, tok)
		if err == nil {
			s.log.Info("back-channel logout delivered", "client", clientID, "sub", sub, "session", sessionID, "attempt", i+1)
			return
		}
		if last {
			s.log.Error("back-channel logout abandoned: the app was not told", "client", clientID, "sub", sub,
				"session", sessionID, "attempts", i+1, "err", err)
			return
		}
		s.log.Warn("back-channel logout failed", "client", clientID, "sub", sub, "session", sessionID, "attempt", i+1, "err", err)
	}
}

func (s *Service) postLogout(ctx context.Context, uri, tok string) error {
	ctx, cancel := context.WithTimeout(ctx, BackchannelTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, uri, strings.NewReader(url.Values{"logout_token": {tok}}.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.bcClient.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) //nolint:errcheck // only the status counts
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// errPrivateAddress refuses an outbound connection to a non-public
// address.
var errPrivateAddress = outbound.ErrPrivateAddress

// OutboundClient returns the HTTP client of calls latchkey makes to URLs
// that apps registered: a 5 s timeout, no redirects followed, no proxy
// from the environment, and — unless allowPrivate — no connection to a
// loopback, private, link-local, shared, multicast or unspecified
// address, checked on the address actually dialled (after DNS, so a name
// resolving inside the network is refused as well).
func OutboundClient(allowPrivate bool) *http.Client {
	d := outbound.Guard(&net.Dialer{Timeout: BackchannelTimeout}, allowPrivate)
	return &http.Client{
		Timeout:       BackchannelTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{DialContext: d.DialContext, TLSHandshakeTimeout: BackchannelTimeout,
			ResponseHeaderTimeout: BackchannelTimeout, MaxIdleConnsPerHost: 2, IdleConnTimeout: 30 * time.Second},
	}
}

// publicAddr reports whether a is a public unicast address.
func publicAddr(a netip.Addr) bool { return outbound.PublicAddr(a) }
