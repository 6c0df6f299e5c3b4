// Package web serves latchkey's pages: sign-in (GET/POST /login, second
// factor, passkeys), sign-out, the self-service portal at /ui/me, the admin
// console at /ui (admin.go), the first administrator's setup at /ui/setup
// (setup.go) and the OAuth authorization endpoint with its consent page
// (/oauth2/authorize). Pages
// are server-rendered html/template with assets embedded in the binary; the
// only script is latchkey.js (WebAuthn ceremonies, copy buttons), served from the same
// origin under a strict Content-Security-Policy.
package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"rsc.io/qr"

	"github.com/latchkey/latchkey/oauth"
	"github.com/latchkey/latchkey/people"
	"github.com/latchkey/latchkey/people/upstream"
	"github.com/latchkey/latchkey/signer"
	"github.com/latchkey/latchkey/token"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// Config configures the pages.
type Config struct {
	People *people.Service
	Tokens *token.Service
	// OAuth serves the authorization endpoint (/oauth2/authorize) and the
	// portal's list of authorized apps; nil: no OAuth sign-in.
	OAuth *oauth.Service
	// ClientIP returns a request's client address (trusted proxies
	// applied); nil: the peer address.
	ClientIP func(*http.Request) string
	// Secure marks cookies Secure and names the session cookie with the
	// __Host- prefix; set it when latchkey is served over TLS (directly
	// or behind a TLS-terminating proxy).
	Secure bool
	Log    *slog.Logger
	// Upstreams are the OpenID Connect providers the sign-in page offers
	// ("Sign in with <name>"); UpstreamState seals their state cookie
	// (required with Upstreams).
	Upstreams     []*upstream.Provider
	UpstreamState *upstream.Codec
	// Signer is the JWT signing-key manager the console lists and
	// rotates; nil: JWT issuing is off.
	Signer *signer.Manager
	// The operations pages (admin_ops.go): webhooks, leak reports and the
	// audit chain's status; a nil one hides its page.
	Ops OpsConfig
}

// Handler serves the pages.
type Handler struct {
	people   *people.Service
	tokens   *token.Service
	oauth    *oauth.Service
	clientIP func(*http.Request) string
	secure   bool
	log      *slog.Logger
	pages    map[string]*template.Template
	mux      *http.ServeMux
	cop      *http.CrossOriginProtection

	upstreams     []*upstream.Provider
	upstreamState *upstream.Codec
	signer        *signer.Manager
	setup         setupState
	ops           opsState

	sessionCookie, csrfCookie, signinCookie, authzCookie, upstreamCookie string
}

// Content-Security-Policy of every page: no inline script or style, no
// framing, forms only to this origin.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// New returns the pages' handler.
func New(c Config) (*Handler, error) {
	h := &Handler{people: c.People, tokens: c.Tokens, oauth: c.OAuth, clientIP: c.ClientIP, secure: c.Secure, log: c.Log,
		mux: http.NewServeMux(), cop: http.NewCrossOriginProtection(),
		upstreams: c.Upstreams, upstreamState: c.UpstreamState, signer: c.Signer,
		sessionCookie: "latchkey_session", csrfCookie: "latchkey_csrf", signinCookie: "latchkey_signin", authzCookie: "latchkey_authz",
		upstreamCookie: "latchkey_upstream"}
	if h.secure {
		h.sessionCookie, h.csrfCookie, h.signinCookie = "__Host-latchkey_session", "__Host-latchkey_csrf", "__Host-latchkey_signin"
		h.authzCookie, h.upstreamCookie = "__Host-latchkey_authz", "__Host-latchkey_upstream"
	}
	if len(h.upstreams) > 0 && h.upstreamState == nil {
		return nil, errors.New("web: upstream providers need an UpstreamState codec")
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	// The client's own site may POST an authorization request (OpenID
	// Connect Core §3.1.2.1): it is a GET by other means, changing nothing
	// the user has not agreed to. The consent form stays same-origin only.
	h.cop.AddInsecureBypassPattern("POST /oauth2/authorize")
	// So may it POST a logout request (RP-Initiated Logout §2): it ends
	// the session only with an ID token of that very session, else the
	// user confirms on a same-origin form.
	h.cop.AddInsecureBypassPattern("POST /oauth2/logout")
	if h.clientIP == nil {
		h.clientIP = func(r *http.Request) string {
			host := r.RemoteAddr
			if i := strings.LastIndexByte(host, ':'); i > 0 {
				host = strings.Trim(host[:i], "[]")
			}
			return host
		}
	}
	funcs := template.FuncMap{
		"fmtTime":   func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
		"passkeyID": people.PasskeyID,
		"join":      strings.Join,
		"fmtDur":    fmtDuration,
		"fmtLimits": formatLimits,
		"deref":     func(p *int64) int64 { return *p },
		"keyState":  func(k *token.Key, now time.Time) string { return string(k.State(now)) },
		"owner": func(o *token.Owner) string {
			if o == nil {
				return ""
			}
			return string(o.Type) + ":" + o.ID
		},
	}
	h.pages = map[string]*template.Template{}
	for _, name := range []string{"login", "verify", "me", "stepup", "totp", "codes", "message", "consent", "logout",
		"secondfactor", "setup", "setup_totp", "setup_done", "admin_home", "admin_keyspaces", "admin_keyspace", "admin_principals",
		"admin_principal", "admin_keys", "admin_key", "admin_secret", "admin_audit", "admin_signing", "me_secret", "admin_reveal"} {
		t, err := template.New("layout").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/part_*.html", "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		h.pages[name] = t
	}
	assets, err := fs.Sub(assetFS, "assets")
	if err != nil {
		return nil, err
	}
	static := http.StripPrefix("/ui/assets/", http.FileServerFS(assets))
	h.mux.Handle("GET /ui/assets/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		static.ServeHTTP(w, r)
	}))
	routes := map[string]func(http.ResponseWriter, *http.Request) error{
		"GET /login":                         h.loginPage,
		"POST /login":                        h.login,
		"GET /login/verify":                  h.verifyPage,
		"POST /login/verify":                 h.verify,
		"POST /login/passkey/options":        h.passkeyLoginOptions,
		"POST /login/passkey":                h.passkeyLogin,
		"POST /login/verify/passkey/options": h.passkeySecondOptions,
		"POST /login/verify/passkey":         h.passkeySecond,
		"GET /login/upstream/{id}":           h.upstreamStart,
		"GET /login/upstream/{id}/callback":  h.upstreamCallback,
		"POST /logout":                       h.logout,
		"GET /oauth2/authorize":              h.authorizePage,
		"POST /oauth2/authorize":             h.authorizeForm,
		"POST /oauth2/authorize/consent":     h.consent,
		"GET /oauth2/logout":                 h.rpLogout,
		"POST /oauth2/logout":                h.rpLogout,
		"POST /oauth2/logout/confirm":        h.rpLogoutConfirm,
		"POST /ui/me/grants/{id}/revoke":     h.signedIn(h.revokeGrant),
		// Browsers ask for it on every page; a 404 is a console error on
		// each, so the answer is an empty one.
		"GET /favicon.ico": func(w http.ResponseWriter, r *http.Request) error {
			w.Header().Set("Cache-Control", "public, max-age=86400")
			w.WriteHeader(http.StatusNoContent)
			return nil
		},
		"GET /ui/me":                          h.me,
		"GET /ui/setup":                       h.setupPage,
		"POST /ui/setup":                      h.setupAdmin,
		"POST /ui/setup/totp":                 h.setupTOTP,
		"POST /ui/me/password":                h.signedIn(h.changePassword),
		"POST /ui/me/totp":                    h.signedIn(h.enrollTOTP),
		"POST /ui/me/totp/confirm":            h.signedIn(h.confirmTOTP),
		"POST /ui/me/totp/delete":             h.signedIn(h.stepUp(h.removeTOTP)),
		"POST /ui/me/recovery-codes":          h.signedIn(h.stepUp(h.newRecoveryCodes)),
		"POST /ui/me/passkeys/options":        h.signedIn(h.passkeyRegisterOptions),
		"POST /ui/me/passkeys":                h.signedIn(h.passkeyRegister),
		"POST /ui/me/passkeys/{id}/rename":    h.signedIn(h.renamePasskey),
		"POST /ui/me/passkeys/{id}/delete":    h.signedIn(h.stepUp(h.deletePasskey)),
		"POST /ui/me/sessions/{id}/end":       h.signedIn(h.endSession),
		"POST /ui/me/step-up":                 h.signedIn(h.stepUpCode),
		"POST /ui/me/step-up/passkey/options": h.signedIn(h.stepUpPasskeyOptions),
		"POST /ui/me/step-up/passkey":         h.signedIn(h.stepUpPasskey),
	}
	for pattern, fn := range h.adminRoutes() {
		routes[pattern] = fn
	}
	if err := h.initOps(c.Ops, funcs, routes); err != nil {
		return nil, err
	}
	for pattern, fn := range h.meTokenRoutes() {
		routes[pattern] = fn
	}
	for pattern, fn := range routes {
		h.mux.Handle(pattern, h.page(fn))
	}
	return h, nil
}

// Patterns lists the path prefixes the pages own, for the server's mux.
func Patterns() []string {
	return []string{"/login", "/login/", "/logout", "/ui", "/ui/", "/favicon.ico", "/oauth2/authorize", "/oauth2/authorize/consent",
		"/oauth2/logout", "/oauth2/logout/confirm"}
}

// ServeHTTP implements http.Handler: security headers on every answer,
// cross-origin POSTs refused (Sec-Fetch-Site / Origin), then the route.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", csp)
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	if !strings.HasPrefix(r.URL.Path, "/ui/assets/") {
		hd.Set("Cache-Control", "no-store")
	}
	if err := h.cop.Check(r); err != nil {
		h.render(w, r, http.StatusForbidden, "message", h.data(w, r, map[string]any{"Title": "Request refused",
			"Message": "This form was sent from another site, so latchkey refused it.", "Link": "/ui/me", "LinkText": "Back"}))
		return
	}
	h.mux.ServeHTTP(w, r)
}

// page turns a handler that returns an error into one that renders it.
func (h *Handler) page(fn func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := badInput(r); err != nil {
			h.fail(w, r, err)
			return
		}
		if err := fn(w, r); err != nil {
			h.fail(w, r, err)
		}
	})
}

// fail renders err: JSON for the passkey endpoints, a page otherwise.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := statusOf(err)
	if status >= 500 {
		h.log.Error("page", "path", r.URL.Path, "err", err)
	}
	var te *people.ThrottledError
	if errors.As(err, &te) {
		w.Header().Set("Retry-After", strconv.Itoa(int(te.RetryAfter.Seconds())+1))
	}
	if isJSON(r) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"error": codeOf(err), "detail": msg}) //nolint:errcheck
		return
	}
	h.render(w, r, status, "message", h.data(w, r, map[string]any{"Title": "Something went wrong", "Message": msg,
		"Link": "/ui/me", "LinkText": "Back to your account"}))
}

func isJSON(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Content-Type"), "application/json")
}

// statusOf maps an error to a status and a message safe to show.
func statusOf(err error) (int, string) {
	var te *people.ThrottledError
	if errors.As(err, &te) {
		return http.StatusTooManyRequests, te.Error()
	}
	var csrfErr csrfError
	if errors.As(err, &csrfErr) {
		return http.StatusForbidden, string(csrfErr)
	}
	var e *token.Error
	if !errors.As(err, &e) {
		return http.StatusInternalServerError, "internal error"
	}
	switch e.Kind {
	case token.Invalid:
		return http.StatusBadRequest, e.Msg
	case token.NotFound:
		return http.StatusNotFound, e.Msg
	case token.Conflict:
		return http.StatusConflict, e.Msg
	case token.Unauthenticated:
		return http.StatusUnauthorized, e.Msg
	case token.PermissionDenied:
		return http.StatusForbidden, e.Msg
	case token.Unavailable:
		return http.StatusServiceUnavailable, e.Msg
	}
	return http.StatusInternalServerError, "internal error"
}

func codeOf(err error) string {
	var e *token.Error
	if errors.As(err, &e) && e.Code != "" {
		return e.Code
	}
	return "error"
}

// render writes page name with data and status.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, data map[string]any) {
	var buf bytes.Buffer
	if err := h.pages[name].ExecuteTemplate(&buf, "layout", data); err != nil {
		h.log.Error("render page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes()) //nolint:errcheck // the client went away
}

// data returns a page's data with the CSRF token (set as a cookie if the
// browser has none yet).
func (h *Handler) data(w http.ResponseWriter, r *http.Request, d map[string]any) map[string]any {
	if d == nil {
		d = map[string]any{}
	}
	d["CSRF"] = h.csrfToken(w, r)
	if _, ok := d["Title"]; !ok {
		d["Title"] = "latchkey"
	}
	return d
}

// csrfToken returns the browser's CSRF token, issuing one if needed. Forms
// carry it in the hidden field csrf and scripts in X-CSRF-Token; both must
// equal the cookie (and cross-origin requests are refused before that).
func (h *Handler) csrfToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(h.csrfCookie); err == nil && len(c.Value) == 43 {
		return c.Value
	}
	if v, ok := r.Context().Value(csrfKey{}).(string); ok {
		return v
	}
	b := make([]byte, 32)
	rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: h.csrfCookie, Value: v, Path: "/", HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode})
	*r = *r.WithContext(context.WithValue(r.Context(), csrfKey{}, v))
	return v
}

type csrfKey struct{}

type csrfError string

func (e csrfError) Error() string { return string(e) }

var errCSRF = csrfError("this form has expired or was not sent by this site: reload the page and try again")

// checkCSRF compares the request's token with the cookie in constant time.
func (h *Handler) checkCSRF(r *http.Request) error {
	c, err := r.Cookie(h.csrfCookie)
	if err != nil || c.Value == "" {
		return errCSRF
	}
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.PostFormValue("csrf")
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(c.Value)) != 1 {
		return errCSRF
	}
	return nil
}

// safeReturn returns return_to if it is a path on this site, else "".
// "//evil", "/\evil", "https:…", control characters and encoded tricks
// are all refused. It is at most 1024 bytes, or maxAuthorizeReturn for
// the authorization endpoint (a request carries state, PKCE and scopes).
func safeReturn(s string) string {
	limit := 1024
	if strings.HasPrefix(s, "/oauth2/authorize?") {
		limit = maxAuthorizeReturn
	}
	if s == "" || len(s) > limit || s[0] != '/' {
		return ""
	}
	if len(s) > 1 && (s[1] == '/' || s[1] == '\\') {
		return ""
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return ""
		}
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/") {
		return ""
	}
	if p, err := url.PathUnescape(u.EscapedPath()); err != nil || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
		return ""
	}
	return s
}

func (h *Handler) setSession(w http.ResponseWriter, cookie string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{Name: h.sessionCookie, Value: cookie, Path: "/", Expires: expires,
		HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode})
}

func (h *Handler) clear(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode})
}

func (h *Handler) cookie(r *http.Request, name string) string {
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
}

func (h *Handler) signInRequest(r *http.Request) people.SignInRequest {
	return people.SignInRequest{IP: h.clientIP(r), UserAgent: r.UserAgent(), RequestID: r.Header.Get("X-Request-Id"),
		Current: h.cookie(r, h.sessionCookie)}
}

// finish lands a signed-in browser: the session cookie, the pending one
// cleared, then return_to (or /ui/me).
func (h *Handler) finish(w http.ResponseWriter, r *http.Request, res *people.SignInResult, returnTo string) {
	h.setSession(w, res.Cookie, res.Session.ExpiresAt)
	h.clear(w, h.signinCookie)
	dest := safeReturn(returnTo)
	if dest == "" {
		dest = "/ui/me"
	}
	if isJSON(r) {
		writeJSON(w, map[string]string{"redirect": dest})
		return
	}
	http.Redirect(w, r, dest, http.StatusSeeOther)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v) //nolint:errcheck // the client went away
}

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) error {
	// prompt=login: the authorization endpoint asks for a new sign-in
	// even though this browser has a session.
	if _, _, err := h.people.Authenticate(r.Context(), h.cookie(r, h.sessionCookie)); err == nil && r.URL.Query().Get("prompt") != "login" {
		if dest := safeReturn(r.URL.Query().Get("return_to")); dest != "" {
			http.Redirect(w, r, dest, http.StatusSeeOther)
			return nil
		}
	}
	ret := safeReturn(r.URL.Query().Get("return_to"))
	allowFormTarget(w, h.returnTarget(r, ret))
	h.render(w, r, http.StatusOK, "login", h.data(w, r, map[string]any{"Title": "Sign in",
		"ReturnTo": ret, "Passkeys": h.people.PasskeysEnabled(), "Upstreams": h.upstreamLinks(ret)}))
	return nil
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) error {
	if err := h.checkCSRF(r); err != nil {
		return err
	}
	returnTo := safeReturn(r.PostFormValue("return_to"))
	req := h.signInRequest(r)
	req.Username, req.Password = r.PostFormValue("username"), r.PostFormValue("password")
	res, err := h.people.SignIn(r.Context(), req)
	if err != nil {
		status, msg := statusOf(err)
		var te *people.ThrottledError
		if errors.As(err, &te) {
			w.Header().Set("Retry-After", strconv.Itoa(int(te.RetryAfter.Seconds())+1))
		}
		if status >= 500 {
			h.log.Error("sign-in", "err", err)
		}
		allowFormTarget(w, h.returnTarget(r, returnTo))
		h.render(w, r, status, "login", h.data(w, r, map[string]any{"Title": "Sign in", "Error": msg,
			"ReturnTo": returnTo, "Username": req.Username, "Passkeys": h.people.PasskeysEnabled(), "Upstreams": h.upstreamLinks(returnTo)}))
		return nil
	}
	if res.Pending != nil {
		http.SetCookie(w, &http.Cookie{Name: h.signinCookie, Value: res.PendingCookie, Path: "/", MaxAge: int(people.PendingTimeout.Seconds()),
			HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode})
		dest := "/login/verify"
		if returnTo != "" {
			dest += "?return_to=" + url.QueryEscape(returnTo)
		}
		http.Redirect(w, r, dest, http.StatusSeeOther)
		return nil
	}
	h.finish(w, r, res, returnTo)
	return nil
}

func (h *Handler) verifyPage(w http.ResponseWriter, r *http.Request) error {
	p, totpOn, passkey, err := h.people.PendingSignIn(r.Context(), h.cookie(r, h.signinCookie))
	if err != nil {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return nil
	}
	ret := safeReturn(r.URL.Query().Get("return_to"))
	allowFormTarget(w, h.returnTarget(r, ret))
	h.render(w, r, http.StatusOK, "verify", h.data(w, r, map[string]any{"Title": "Second step", "PendingUser": p.UserID,
		"TOTP": totpOn, "Passkey": passkey, "ReturnTo": ret}))
	return nil
}

func (h *Handler) verify(w http.ResponseWriter, r *http.Request) error {
	if err := h.checkCSRF(r); err != nil {
		return err
	}
	returnTo := safeReturn(r.PostFormValue("return_to"))
	pending := h.cookie(r, h.signinCookie)
	res, err := h.people.SecondFactor(r.Context(), pending, r.PostFormValue("otp"), h.signInRequest(r))
	if err != nil {
		p, totpOn, passkey, perr := h.people.PendingSignIn(r.Context(), pending)
		if perr != nil {
			return err
		}
		status, msg := statusOf(err)
		allowFormTarget(w, h.returnTarget(r, returnTo))
		h.render(w, r, status, "verify", h.data(w, r, map[string]any{"Title": "Second step", "Error": msg,
			"PendingUser": p.UserID, "TOTP": totpOn, "Passkey": passkey, "ReturnTo": returnTo}))
		return nil
	}
	h.finish(w, r, res, returnTo)
	return nil
}

// ceremonyBody is what latchkey.js posts to finish a ceremony.
type ceremonyBody struct {
	ChallengeID string          `json:"challenge_id"`
	Credential  json.RawMessage `json:"credential"`
	Name        string          `json:"name"`
	ReturnTo    string          `json:"return_to"`
}

func readCeremony(r *http.Request) (*ceremonyBody, error) {
	var b ceremonyBody
	body, err := io.ReadAll(r.Body)
	if err == nil {
		err = json.Unmarshal(body, &b)
	}
	if err != nil || b.ChallengeID == "" || len(b.Credential) == 0 {
		return nil, token.Errorf(token.Invalid, "invalid_request", "the passkey answer is malformed")
	}
	return &b, nil
}

func (h *Handler) passkeyLoginOptions(w http.ResponseWriter, r *http.Request) error {
	if err := h.checkCSRF(r); err != nil {
		return err
	}
	c, err := h.people.BeginPasskeySignIn(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, c)
	return nil
}

func (h *Handler) passkeyLogin(w http.ResponseWriter, r *http.Request) error {
	if err := h.checkCSRF(r); err != nil {
		return err
	}
	b, err := readCeremony(r)
	if err != nil {
		return err
	}
	res, err := h.people.FinishPasskeySignIn(r.Context(), b.ChallengeID, b.Credential, h.signInRequest(r))
	if err != nil {
		return err
	}
	h.finish(w, r, res, b.ReturnTo)
	return nil
}

func (h *Handler) passkeySecondOptions(w http.ResponseWriter, r *http.Request) error {
	if err := h.checkCSRF(r); err != nil {
		return err
	}
	c, err := h.people.BeginPasskeySecondFactor(r.Context(), h.cookie(r, h.signinCookie))
	if err != nil {
		return err
	}
	writeJSON(w, c)
	return nil
}

func (h *Handler) passkeySecond(w http.ResponseWriter, r *http.Request) error {
	if err := h.checkCSRF(r); err != nil {
		return err
	}
	b, err := readCeremony(r)
	if err != nil {
		return err
	}
	res, err := h.people.FinishPasskeySecondFactor(r.Context(), h.cookie(r, h.signinCookie), b.ChallengeID, b.Credential, h.signInRequest(r))
	if err != nil {
		return err
	}
	h.finish(w, r, res, b.ReturnTo)
	return nil
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) error {
	if err := h.checkCSRF(r); err != nil {
		return err
	}
	if err := h.people.Logout(r.Context(), h.cookie(r, h.sessionCookie), r.Header.Get("X-Request-Id")); err != nil {
		return err
	}
	h.people.Logout(r.Context(), h.cookie(r, h.signinCookie), "") //nolint:errcheck // pending sign-ins expire anyway
	h.clear(w, h.sessionCookie)
	h.clear(w, h.signinCookie)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

// signedInFunc is a page of a signed-in user.
type signedInFunc func(w http.ResponseWriter, r *http.Request, sess *people.Session, user *token.Principal) error

// signedIn checks CSRF and the session, or sends the browser to /login.
func (h *Handler) signedIn(fn signedInFunc) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := h.checkCSRF(r); err != nil {
			return err
		}
		sess, user, err := h.people.Authenticate(r.Context(), h.cookie(r, h.sessionCookie))
		if err != nil {
			if token.KindOf(err) == token.Unauthenticated {
				if isJSON(r) {
					return err
				}
				http.Redirect(w, r, "/login?return_to=/ui/me", http.StatusSeeOther)
				return nil
			}
			return err
		}
		return fn(w, r, sess, user)
	}
}

// stepUp asks for a fresh second factor before fn (SPEC §3.5 step-up).
func (h *Handler) stepUp(fn signedInFunc) signedInFunc {
	return func(w http.ResponseWriter, r *http.Request, sess *people.Session, user *token.Principal) error {
		if err := h.people.RequireStepUp(sess); err != nil {
			return h.stepUpPage(w, r, sess, user, http.StatusForbidden,
				"This change needs a second factor used in the last 5 minutes. Confirm it, then do it again.")
		}
		return fn(w, r, sess, user)
	}
}

func (h *Handler) stepUpPage(w http.ResponseWriter, r *http.Request, sess *people.Session, user *token.Principal, status int, msg string) error {
	f, err := h.people.Factors(r.Context(), people.SessionActor(sess, "", h.clientIP(r)), sess.UserID)
	if err != nil {
		return err
	}
	h.render(w, r, status, "stepup", h.data(w, r, map[string]any{"Title": "Confirm it is you", "User": user, "Message": msg,
		"TOTP": f.TOTP == "active", "Passkey": len(f.Passkeys) > 0 && h.people.PasskeysEnabled(), "Return": stepUpReturn(r.URL.Path)}))
	return nil
}

// stepUpReturn is the page to go back to after a step-up asked for by a
// console action at path: the console page the action's form is on.
func stepUpReturn(path string) string {
	switch {
	case path == "/ui/keys":
		return "/ui/keys"
	case strings.HasPrefix(path, "/ui/signing-keys"):
		return "/ui/signing-keys"
	case path == "/ui/webhooks" || strings.HasPrefix(path, "/ui/webhooks/"):
		return webhookReturn(path)
	case strings.HasPrefix(path, "/ui/keys/"):
		// A key's page, from an action on it (reveal, rotate).
		if id, _, _ := strings.Cut(strings.TrimPrefix(path, "/ui/keys/"), "/"); validKeyID(id) {
			return "/ui/keys/" + id
		}
	}
	return "/ui/me"
}

func (h *Handler) me(w http.ResponseWriter, r *http.Request) error {
	sess, user, err := h.people.Authenticate(r.Context(), h.cookie(r, h.sessionCookie))
	if err != nil {
		if token.KindOf(err) == token.Unauthenticated {
			http.Redirect(w, r, "/login?return_to=/ui/me", http.StatusSeeOther)
			return nil
		}
		return err
	}
	return h.mePage(w, r, sess, user, http.StatusOK, "", "")
}

func (h *Handler) mePage(w http.ResponseWriter, r *http.Request, sess *people.Session, user *token.Principal, status int, notice, errMsg string) error {
	a := people.SessionActor(sess, r.Header.Get("X-Request-Id"), h.clientIP(r))
	f, err := h.people.Factors(r.Context(), a, sess.UserID)
	if err != nil {
		return err
	}
	sessions, err := h.people.Sessions(r.Context(), a, sess.UserID)
	if err != nil {
		return err
	}
	var grants []oauth.GrantInfo
	var apps map[string][]oauth.SessionApp
	if h.oauth != nil {
		if grants, err = h.oauth.UserGrants(r.Context(), a, sess.UserID); err != nil {
			return err
		}
		if apps, err = h.oauth.SessionApps(r.Context(), a, sess.UserID); err != nil {
			return err
		}
	}
	d, err := h.tokensData(r, sess, user)
	if err != nil {
		return err
	}
	maps.Copy(d, map[string]any{"Title": "Your account", "User": user, "Session": sess,
		"Factors": f, "Sessions": sessions, "PasskeysEnabled": h.people.PasskeysEnabled(), "OAuth": h.oauth != nil, "Grants": grants, "SessionApps": apps,
		"SteppedUp": people.SteppedUp(sess, h.people.Now()), "Notice": notice, "Error": errMsg})
	h.render(w, r, status, "me", h.data(w, r, d))
	return nil
}

func actor(h *Handler, r *http.Request, sess *people.Session) *token.Actor {
	return people.SessionActor(sess, r.Header.Get("X-Request-Id"), h.clientIP(r))
}

// changePassword needs the current password (if there is one): a session
// left open on a shared computer must not be enough to take the account.
func (h *Handler) changePassword(w http.ResponseWriter, r *http.Request, sess *people.Session, user *token.Principal) error {
	nw, confirm := r.PostFormValue("new"), r.PostFormValue("confirm")
	if nw != confirm {
		return h.mePage(w, r, sess, user, http.StatusBadRequest, "", "The two new passwords differ.")
	}
	f, err := h.people.Factors(r.Context(), actor(h, r, sess), sess.UserID)
	if err != nil {
		return err
	}
	if f.Password {
		req := h.signInRequest(r)
		req.Username, req.Password, req.Current = sess.UserID, r.PostFormValue("current"), ""
		if err := h.people.CheckCurrentPassword(r.Context(), req); err != nil {
			_, msg := statusOf(err)
			return h.mePage(w, r, sess, user, http.StatusBadRequest, "", "Current password: "+msg)
		}
	}
	if err := h.people.SetPassword(r.Context(), actor(h, r, sess), sess.UserID, nw); err != nil {
		status, msg := statusOf(err)
		return h.mePage(w, r, sess, user, status, "", msg)
	}
	return h.mePage(w, r, sess, user, http.StatusOK, "Your password was changed. Your other sessions were signed out.", "")
}

func (h *Handler) enrollTOTP(w http.ResponseWriter, r *http.Request, sess *people.Session, user *token.Principal) error {
	e, err := h.people.EnrollTOTP(r.Context(), actor(h, r, sess), sess.UserID)
	if errors.Is(err, people.ErrStepUpRequired) {
		return h.stepUpPage(w, r, sess, user, http.StatusForbidden,
			"Adding an authenticator needs a second factor used in the last 5 minutes. Confirm it, then do it again.")
	}
	if err != nil {
		return err
	}
	code, err := qr.Encode(e.URI, qr.M)
	if err != nil {
		return err
	}
	code.Scale = 6
	h.render(w, r, http.StatusOK, "totp", h.data(w, r, map[string]any{"Title": "Set up your authenticator app", "User": user,
		"Secret": e.Secret, "QR": template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(code.PNG()))}))
	return nil
}

func (h *Handler) confirmTOTP(w http.ResponseWriter, r *http.Request, sess *people.Session, user *token.Principal) error {
	codes, err := h.people.ConfirmTOTP(r.Context(), actor(h, r, sess), sess.UserID, r.PostFormValue("code"))
	if err != nil {
		status, msg := statusOf(err)
		return h.mePage(w, r, sess, user, status, "", "The authenticator app was not turned on: "+msg+". Set it up again.")
	}
	h.render(w, r, http.StatusOK, "codes", h.data(w, r, map[string]any{"Title": "Your recovery codes", "User": user, "Codes": codes}))
	return nil
}

func (h *Handler) removeTOTP(w http.ResponseWriter, r *http.Request, sess *people.Session, user *token.Principal) error {
	if err := h.people.RemoveTOTP(r.Context(), actor(h, r, sess), sess.UserID); err != nil {
		return err
	}
	return h.mePage(w, r, sess, user, http.StatusOK, "The authenticator app was removed.", "")
}

func (h *Handler) newRecoveryCodes(w http.ResponseWriter, r *http.Request, sess *people.Session, user *token.Principal) error {
	codes, err := h.people.RegenerateRecoveryCodes(r.Context(), actor(h, r, sess), sess.UserID)
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "codes", h.data(w, r, map[string]any{"Title": "Your recovery codes", "User": user, "Codes": codes}))
	return nil
}

func (h *Handler) passkeyRegisterOptions(w http.ResponseWriter, r *http.Request, sess *people.Session, _ *token.Principal) error {
	c, err := h.people.BeginPasskeyRegistration(r.Context(), sess)
	if err != nil {
		return err
	}
	writeJSON(w, c)
	return nil
}

func (h *Handler) passkeyRegister(w http.ResponseWriter, r *http.Request, sess *people.Session, _ *token.Principal) error {
	b, err := readCeremony(r)
	if err != nil {
		return err
	}
	if _, err := h.people.FinishPasskeyRegistration(r.Context(), sess, b.ChallengeID, b.Name, b.Credential, r.Header.Get("X-Request-Id")); err != nil {
		return err
	}
	writeJSON(w, map[string]string{"redirect": "/ui/me"})
	return nil
}

func (h *Handler) renamePasskey(w http.ResponseWriter, r *http.Request, sess *people.Session, user *token.Principal) error {
	if err := h.people.RenamePasskey(r.Context(), actor(h, r, sess), sess.UserID, r.PathValue("id"), r.PostFormValue("name")); err != nil {
		return err
	}
	return h.mePage(w, r, sess, user, http.StatusOK, "The passkey was renamed.", "")
}

func (h *Handler) deletePasskey(w http.ResponseWriter, r *http.Request, sess *people.Session, user *token.Principal) error {
	if err := h.people.DeletePasskey(r.Context(), actor(h, r, sess), sess.UserID, r.PathValue("id")); err != nil {
		return err
	}
	return h.mePage(w, r, sess, user, http.StatusOK, "The passkey was removed.", "")
}

func (h *Handler) endSession(w http.ResponseWriter, r *http.Request, sess *people.Session, user *token.Principal) error {
	id := r.PathValue("id")
	if err := h.people.EndSession(r.Context(), actor(h, r, sess), sess.UserID, id); err != nil {
		return err
	}
	if id == sess.ID {
		h.clear(w, h.sessionCookie)
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return nil
	}
	return h.mePage(w, r, sess, user, http.StatusOK, "That session was signed out.", "")
}

func (h *Handler) revokeGrant(w http.ResponseWriter, r *http.Request, sess *people.Session, user *token.Principal) error {
	if h.oauth == nil {
		return errNoOAuth
	}
	if err := h.oauth.RevokeUserGrant(r.Context(), actor(h, r, sess), sess.UserID, r.PathValue("id")); err != nil {
		return err
	}
	return h.mePage(w, r, sess, user, http.StatusOK, "The app's access was revoked: it is signed out of your account.", "")
}

func (h *Handler) stepUpCode(w http.ResponseWriter, r *http.Request, sess *people.Session, user *token.Principal) error {
	if err := h.people.StepUp(r.Context(), sess, r.PostFormValue("otp"), h.clientIP(r), r.Header.Get("X-Request-Id")); err != nil {
		status, msg := statusOf(err)
		return h.stepUpPage(w, r, sess, user, status, msg)
	}
	if ret := r.PostFormValue("return_to"); ret != "/ui/me" && stepUpReturn(ret) == ret {
		http.Redirect(w, r, ret, http.StatusSeeOther)
		return nil
	}
	return h.mePage(w, r, sess, user, http.StatusOK, "Confirmed. You can now make the change.", "")
}

func (h *Handler) stepUpPasskeyOptions(w http.ResponseWriter, r *http.Request, sess *people.Session, _ *token.Principal) error {
	c, err := h.people.BeginPasskeyStepUp(r.Context(), sess)
	if err != nil {
		return err
	}
	writeJSON(w, c)
	return nil
}

func (h *Handler) stepUpPasskey(w http.ResponseWriter, r *http.Request, sess *people.Session, _ *token.Principal) error {
	b, err := readCeremony(r)
	if err != nil {
		return err
	}
	if err := h.people.FinishPasskeyStepUp(r.Context(), sess, b.ChallengeID, b.Credential, r.Header.Get("X-Request-Id")); err != nil {
		return err
	}
	ret := "/ui/me"
	if stepUpReturn(b.ReturnTo) == b.ReturnTo {
		ret = b.ReturnTo
	}
	writeJSON(w, map[string]string{"redirect": ret})
	return nil
}
