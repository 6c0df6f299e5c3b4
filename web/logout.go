package web

import (
	"net/http"
	"net/url"
	"slices"

	"github.com/latchkey/latchkey/oauth"
	"github.com/latchkey/latchkey/token"
)

// Lengths beyond which a logout request is refused outright.
const (
	maxLogoutRedirect = 2048
	maxLogoutState    = 1024
	maxLogoutClientID = 256
)

var errLogoutRequest = token.Errorf(token.Invalid, "invalid_request", "this sign-out request is not valid")

// logoutRequest is a checked RP-initiated logout request.
type logoutRequest struct {
	hint     *oauth.IDTokenHint // nil without id_token_hint
	clientID string
	redirect string // registered for clientID, or ""
	state    string
}

// parseLogout checks the parameters of /oauth2/logout (OpenID Connect
// RP-Initiated Logout 1.0 §2): id_token_hint must be an ID token we
// signed (expired is fine), client_id one of its audiences, and
// post_logout_redirect_uri registered byte for byte for that client;
// anything else is an error page and no redirect (§3).
func (h *Handler) parseLogout(r *http.Request, hintAllowed bool) (*logoutRequest, error) {
	if h.oauth == nil {
		return nil, errNoOAuth
	}
	if err := r.ParseForm(); err != nil {
		return nil, errLogoutRequest
	}
	one := func(name string, limit int) (string, error) {
		v := r.Form[name]
		if len(v) > 1 || (len(v) == 1 && len(v[0]) > limit) {
			return "", token.Errorf(token.Invalid, "invalid_request", "%s is repeated or too long", name)
		}
		if len(v) == 0 {
			return "", nil
		}
		return v[0], nil
	}
	lr := &logoutRequest{}
	var err error
	var hint string
	if hint, err = one("id_token_hint", 8<<10); err != nil {
		return nil, err
	}
	if lr.clientID, err = one("client_id", maxLogoutClientID); err != nil {
		return nil, err
	}
	if lr.redirect, err = one("post_logout_redirect_uri", maxLogoutRedirect); err != nil {
		return nil, err
	}
	if lr.state, err = one("state", maxLogoutState); err != nil {
		return nil, err
	}
	if hint != "" && hintAllowed {
		if lr.hint, err = h.oauth.CheckIDTokenHint(hint); err != nil {
			return nil, err
		}
		switch {
		case lr.clientID == "" && len(lr.hint.ClientIDs) == 1:
			lr.clientID = lr.hint.ClientIDs[0]
		case lr.clientID != "" && !slices.Contains(lr.hint.ClientIDs, lr.clientID):
			return nil, token.Errorf(token.Invalid, "invalid_request", "client_id is not the audience of id_token_hint")
		}
	}
	if lr.redirect != "" {
		if err := h.oauth.CheckPostLogoutRedirect(r.Context(), lr.clientID, lr.redirect); err != nil {
			return nil, err
		}
	}
	return lr, nil
}

// rpLogout serves GET and POST /oauth2/logout. A browser without a
// session goes straight on; a hint whose sid is the browser's session
// ends it at once; otherwise (no hint, or another session's) the user
// confirms on a page whose form is CSRF-protected.
func (h *Handler) rpLogout(w http.ResponseWriter, r *http.Request) error {
	lr, err := h.parseLogout(r, true)
	if err != nil {
		return err
	}
	sess, user, err := h.people.Authenticate(r.Context(), h.cookie(r, h.sessionCookie))
	if err != nil {
		if token.KindOf(err) != token.Unauthenticated {
			return err
		}
		return h.signedOut(w, r, lr)
	}
	if lr.hint != nil && lr.hint.SessionID != "" && lr.hint.SessionID == sess.ID && h.oauth.HintNames(r.Context(), lr.hint, sess.UserID) {
		return h.endBrowserSession(w, r, lr)
	}
	app := ""
	if lr.clientID != "" {
		if p, err := h.tokens.Store().Principal(r.Context(), token.App, lr.clientID); err == nil {
			app = p.Name
		}
	}
	h.render(w, r, http.StatusOK, "logout", h.data(w, r, map[string]any{"Title": "Sign out", "App": app, "ClientID": lr.clientID,
		"User": user, "Redirect": lr.redirect, "State": lr.state}))
	return nil
}

// rpLogoutConfirm serves POST /oauth2/logout/confirm, the confirmation
// page's form.
func (h *Handler) rpLogoutConfirm(w http.ResponseWriter, r *http.Request) error {
	if err := h.checkCSRF(r); err != nil {
		return err
	}
	lr, err := h.parseLogout(r, false)
	if err != nil {
		return err
	}
	return h.endBrowserSession(w, r, lr)
}

// endBrowserSession ends the browser's session (telling the apps of the
// session through back-channel logout) and goes on.
func (h *Handler) endBrowserSession(w http.ResponseWriter, r *http.Request, lr *logoutRequest) error {
	if err := h.people.Logout(r.Context(), h.cookie(r, h.sessionCookie), r.Header.Get("X-Request-Id")); err != nil {
		return err
	}
	h.people.Logout(r.Context(), h.cookie(r, h.signinCookie), "") //nolint:errcheck // pending sign-ins expire anyway
	h.clear(w, h.sessionCookie)
	h.clear(w, h.signinCookie)
	return h.signedOut(w, r, lr)
}

// signedOut sends the browser to the registered post_logout_redirect_uri
// with state, or shows that it is signed out.
func (h *Handler) signedOut(w http.ResponseWriter, r *http.Request, lr *logoutRequest) error {
	if lr.redirect != "" {
		u, err := url.Parse(lr.redirect)
		if err != nil {
			return errLogoutRequest
		}
		if lr.state != "" {
			q := u.Query()
			q.Set("state", lr.state)
			u.RawQuery = q.Encode()
		}
		http.Redirect(w, r, u.String(), http.StatusSeeOther)
		return nil
	}
	h.render(w, r, http.StatusOK, "message", h.data(w, r, map[string]any{"Title": "Signed out",
		"Message": "You are signed out of latchkey.", "Link": "/login", "LinkText": "Sign in again"}))
	return nil
}
