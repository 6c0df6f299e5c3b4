package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/oauth"
	"github.com/latchkey/latchkey/people"
	"github.com/latchkey/latchkey/token"
)

// maxAuthorizeReturn is how long a return_to to /oauth2/authorize may be:
// an authorization request carries more than a page path (state, PKCE
// challenge, scopes); a longer one should be pushed (/oauth2/par).
const maxAuthorizeReturn = 4096

// freshWindow bounds how long a forced sign-in (prompt=login, max_age) may
// take: the marker cookie expires after it.
//
// The marker is a cookie only latchkey sets (HttpOnly, __Host- under TLS),
// holding the time the browser was sent to sign in: a session created after
// it answers the request that asked for a new sign-in, so coming back does
// not ask again. Nothing in the URL can claim a fresh sign-in.
const freshWindow = 10 * time.Minute

// authorizePage is GET /oauth2/authorize: the request in the query.
func (h *Handler) authorizePage(w http.ResponseWriter, r *http.Request) error {
	return h.authorize(w, r, r.URL.Query())
}

// authorizeForm is POST /oauth2/authorize: the request in a form body
// (OpenID Connect Core §3.1.2.1 allows it).
func (h *Handler) authorizeForm(w http.ResponseWriter, r *http.Request) error {
	if h.oauth == nil {
		return errNoOAuth
	}
	if err := r.ParseForm(); err != nil {
		return h.authorizeFailure(w, r, &oauth.AuthorizeError{Err: &oauth.Error{Code: "invalid_request", Description: "the form is malformed"}})
	}
	return h.authorize(w, r, r.PostForm)
}

var errNoOAuth = token.Errorf(token.NotFound, "not_found", "this server does not offer OAuth sign-in")

// parseAuthorize checks the request q; a false answer means the answer is
// written (an error page or a redirect with the error).
func (h *Handler) parseAuthorize(w http.ResponseWriter, r *http.Request, q url.Values) (*oauth.AuthRequest, bool, error) {
	req, err := h.oauth.ParseAuthorize(r.Context(), q)
	if err != nil {
		return nil, false, h.authorizeFailure(w, r, err)
	}
	return req, true, nil
}

// authorizeFailure answers an error of the authorization endpoint: on
// latchkey's own page while the client or its redirect URI is not known
// good — never a redirect to a URI nobody registered (AS-01, AS-03) —
// else back to the client.
func (h *Handler) authorizeFailure(w http.ResponseWriter, r *http.Request, err error) error {
	var ae *oauth.AuthorizeError
	if !errors.As(err, &ae) {
		return err
	}
	if dest := ae.Redirect(h.oauth.Issuer()); dest != "" {
		http.Redirect(w, r, dest, http.StatusSeeOther)
		return nil
	}
	status := http.StatusBadRequest
	if ae.Err.Code == "temporarily_unavailable" {
		status = http.StatusServiceUnavailable
	}
	h.render(w, r, status, "message", h.data(w, r, map[string]any{"Title": "This sign-in link does not work",
		"Message": "The app that sent you here made a request latchkey cannot accept (" + ae.Err.Code + ": " +
			ae.Err.Description + "). Go back to the app and try again, or tell its developers.",
		"Link": "/ui/me", "LinkText": "Go to your account"}))
	return nil
}

// authorize runs an authorization request: sign-in when needed, then
// consent when needed, then the code.
func (h *Handler) authorize(w http.ResponseWriter, r *http.Request, q url.Values) error {
	if h.oauth == nil {
		return errNoOAuth
	}
	req, ok, err := h.parseAuthorize(w, r, q)
	if !ok {
		return err
	}
	sess, user, ok, err := h.authorizeSession(w, r, req)
	if !ok {
		return err
	}
	need, err := h.oauth.NeedsConsent(r.Context(), req, sess.UserID)
	if err != nil {
		return err
	}
	if need {
		if req.HasPrompt("none") {
			http.Redirect(w, r, h.oauth.ErrorRedirect(req, "consent_required", "the user has not allowed this app yet"), http.StatusSeeOther)
			return nil
		}
		allowFormTarget(w, req.RedirectURI)
		h.render(w, r, http.StatusOK, "consent", h.data(w, r, map[string]any{"Title": "Allow " + appName(req) + "?",
			"User": user, "App": appName(req), "ClientID": req.Client.AppID, "Scopes": describeScopes(req.Scopes),
			"Audiences": req.Audiences, "Request": req.Query.Encode(), "Redirect": redirectHost(req.RedirectURI)}))
		return nil
	}
	return h.approve(w, r, req, sess, false)
}

// authorizeSession returns the signed-in session that may answer req, or
// false when it sent the browser elsewhere: to /login (no session, or one
// older than prompt=login or max_age allow), or back to the client with
// login_required for prompt=none. A pending (second-factor) sign-in is no
// session.
func (h *Handler) authorizeSession(w http.ResponseWriter, r *http.Request, req *oauth.AuthRequest) (*people.Session, *token.Principal, bool, error) {
	sess, user, err := h.people.Authenticate(r.Context(), h.cookie(r, h.sessionCookie))
	if err != nil && token.KindOf(err) != token.Unauthenticated {
		return nil, nil, false, err
	}
	hadSession := sess != nil
	now := h.people.Now()
	fresh := sess != nil && h.freshSignIn(r, sess, now)
	mfaMissing := sess != nil && req.RequireMFA && !slices.Contains(amr(sess.Factors), "mfa")
	switch {
	case sess == nil:
	case fresh && mfaMissing:
		// Signed in again, still with one factor: this user cannot meet
		// acr_values (OIDC Core §3.1.2.1; RFC 9470's error).
		http.Redirect(w, r, h.oauth.ErrorRedirect(req, "unmet_authentication_requirements",
			"the sign-in did not use two factors"), http.StatusSeeOther)
		return nil, nil, false, nil
	case fresh:
		return sess, user, true, nil
	case mfaMissing:
		sess = nil
	case req.HasPrompt("login"):
		sess = nil
	case req.MaxAge >= 0 && now.Sub(sess.CreatedAt) > time.Duration(req.MaxAge)*time.Second:
		sess = nil
	default:
		return sess, user, true, nil
	}
	if req.HasPrompt("none") {
		http.Redirect(w, r, h.oauth.ErrorRedirect(req, "login_required", "the user is not signed in"), http.StatusSeeOther)
		return nil, nil, false, nil
	}
	back := "/oauth2/authorize?" + req.Query.Encode()
	if len(back) > maxAuthorizeReturn {
		http.Redirect(w, r, h.oauth.ErrorRedirect(req, "invalid_request",
			"the authorization request is too long to carry through sign-in: push it to /oauth2/par"), http.StatusSeeOther)
		return nil, nil, false, nil
	}
	// The sign-in page must ask even when a session exists (it would
	// send the browser straight back otherwise), and the marker tells the
	// way back that a session created after it is the answer: no loop on
	// prompt=login or max_age.
	dest := "/login?return_to=" + url.QueryEscape(back)
	if hadSession {
		dest = "/login?prompt=login&return_to=" + url.QueryEscape(back)
	}
	http.SetCookie(w, &http.Cookie{Name: h.authzCookie, Value: strconv.FormatInt(now.Unix(), 10), Path: "/",
		MaxAge: int(freshWindow.Seconds()), HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, dest, http.StatusSeeOther)
	return nil, nil, false, nil
}

// freshSignIn reports whether sess was signed in after this browser was
// sent to sign in again (the marker cookie, which only latchkey sets, and
// which lives freshWindow).
func (h *Handler) freshSignIn(r *http.Request, sess *people.Session, now time.Time) bool {
	v := h.cookie(r, h.authzCookie)
	if v == "" {
		return false
	}
	at, err := strconv.ParseInt(v, 10, 64)
	if err != nil || now.Unix()-at > int64(freshWindow.Seconds()) || at > now.Unix() {
		return false
	}
	return sess.CreatedAt.Unix() >= at
}

// consent is POST /oauth2/authorize/consent: the user's answer. The request
// comes back as a hidden field and is checked again from scratch, as is
// the session.
func (h *Handler) consent(w http.ResponseWriter, r *http.Request) error {
	if h.oauth == nil {
		return errNoOAuth
	}
	if err := h.checkCSRF(r); err != nil {
		return err
	}
	raw := r.PostFormValue("request")
	if len(raw) > 16<<10 {
		return token.Errorf(token.Invalid, "invalid_request", "the request is too long")
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return token.Errorf(token.Invalid, "invalid_request", "the request is malformed")
	}
	req, ok, err := h.parseAuthorize(w, r, q)
	if !ok {
		return err
	}
	sess, _, ok, err := h.authorizeSession(w, r, req)
	if !ok {
		return err
	}
	switch r.PostFormValue("decision") {
	case "allow":
		return h.approve(w, r, req, sess, true)
	case "deny":
		h.clearAuthz(w)
		http.Redirect(w, r, h.oauth.Deny(req), http.StatusSeeOther)
		return nil
	}
	return token.Errorf(token.Invalid, "invalid_request", "decision must be allow or deny")
}

// approve issues the code and sends the browser back to the client.
func (h *Handler) approve(w http.ResponseWriter, r *http.Request, req *oauth.AuthRequest, sess *people.Session, consented bool) error {
	dest, err := h.oauth.Approve(r.Context(), req, oauth.SignIn{UserID: sess.UserID, SessionID: sess.ID, AuthTime: sess.CreatedAt,
		AMR: amr(sess.Factors), RequestID: r.Header.Get("X-Request-Id"), IP: h.clientIP(r)}, consented)
	if err != nil {
		return err
	}
	h.clearAuthz(w)
	http.Redirect(w, r, dest, http.StatusSeeOther)
	return nil
}

func (h *Handler) clearAuthz(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: h.authzCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode})
}

// amr maps a session's factors to RFC 8176 authentication method
// references, with "mfa" when there were two or more.
func amr(fs []people.Factor) []string {
	var out []string
	add := func(m string) {
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	for _, f := range fs {
		switch f.Method {
		case people.MethodPassword, people.MethodDirectory:
			add("pwd")
		case people.MethodTOTP, people.MethodRecoveryCode:
			add("otp")
		case people.MethodPasskey:
			add("hwk")
		}
	}
	if len(out) > 1 {
		add("mfa")
	}
	return out
}

func appName(req *oauth.AuthRequest) string {
	if req.App.Name != "" {
		return req.App.Name
	}
	return req.App.ID
}

// redirectHost is the host the browser goes back to, shown on the consent
// page so the user sees where the answer goes.
func redirectHost(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || u.Host == "" {
		return uri
	}
	return u.Host
}

// scopeLine is a scope as the consent page shows it.
type scopeLine struct {
	Name, Plain string
}

// describeScopes gives each scope a plain-language line made from its name
// ("orders:read" → "read orders"): the keyspace catalogue has no
// descriptions, so the page says no more than the name does.
func describeScopes(scopes []string) []scopeLine {
	out := make([]scopeLine, 0, len(scopes))
	for _, s := range scopes {
		out = append(out, scopeLine{Name: s, Plain: plainScope(s)})
	}
	return out
}

func plainScope(s string) string {
	res, act, ok := strings.Cut(s, ":")
	if !ok {
		return "use " + s
	}
	what := res
	if res == "*" {
		what = "everything"
	}
	switch act {
	case "read":
		return "read " + what
	case "write":
		return "change " + what
	case "*":
		return "do anything with " + what
	case "admin":
		return "administer " + what
	}
	return act + " " + what
}

// allowFormTarget lets the page being answered submit forms whose
// redirects end at the origin of redirect URI target (the client of an
// authorization request): browsers apply form-action to every redirect
// after a form submission (CSP Level 3 §6.4.1), so a sign-in or consent
// page limited to 'self' could never send the code back. Only a URI the
// client registered comes here; anything that is not a plain origin is
// ignored, so nothing can be injected into the policy.
func allowFormTarget(w http.ResponseWriter, target string) {
	src := formSource(target)
	if src == "" {
		return
	}
	w.Header().Set("Content-Security-Policy", strings.Replace(csp, "form-action 'self'", "form-action 'self' "+src, 1))
}

// formSource returns the CSP source of redirect URI u: its scheme, host and
// port for http(s), its scheme for a native app's private-use scheme.
func formSource(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Scheme == "" {
		return ""
	}
	for _, c := range p.Scheme + p.Host {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(".-+:[]", c)) {
			return ""
		}
	}
	switch p.Scheme {
	case "http", "https":
		if p.Host == "" {
			return ""
		}
		return p.Scheme + "://" + p.Host
	}
	return p.Scheme + ":"
}

// returnTarget returns the redirect URI of the authorization request a
// sign-in will return to (return_to, a path of this site), or "".
func (h *Handler) returnTarget(r *http.Request, returnTo string) string {
	if h.oauth == nil || returnTo == "" {
		return ""
	}
	u, err := url.Parse(returnTo)
	if err != nil || u.Path != "/oauth2/authorize" {
		return ""
	}
	req, err := h.oauth.ParseAuthorize(r.Context(), u.Query())
	if err == nil {
		return req.RedirectURI
	}
	var ae *oauth.AuthorizeError
	if errors.As(err, &ae) {
		return ae.RedirectURI
	}
	return ""
}
