package oauth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/apitoken"
	"github.com/latchkey/latchkey/scope"
	"github.com/latchkey/latchkey/token"
)

// Prefixes of the secrets of the authorization code grant: latchkey
// tokens, checksummed (a typo fails without a lookup) and scannable.
const (
	CodePrefix    = "lkac"
	RefreshPrefix = "lkr"
)

// OIDC scopes (OpenID Connect Core §5.4, §11).
var oidcScopes = []string{"openid", "profile", "email", "groups", "offline_access"}

// IsOIDCScope reports whether sc is an OpenID Connect scope rather than a
// permission.
func IsOIDCScope(sc string) bool { return slices.Contains(oidcScopes, sc) }

// CodeTTL is how long an authorization code may be redeemed (AS-06:
// RFC 6749 §4.1.2 asks for at most 10 minutes).
const CodeTTL = 60 * time.Second

// PushedTTL is how long a request_uri of /oauth2/par is valid.
const PushedTTL = 60 * time.Second

// RequestURIPrefix starts every request_uri (RFC 9126 §2.2).
const RequestURIPrefix = "urn:ietf:params:oauth:request_uri:"

// AuthRequest is a checked authorization request (RFC 6749 §4.1.1 with
// PKCE, RFC 9126, RFC 9449 §10): what the sign-in and consent pages show
// and what the code will be bound to.
type AuthRequest struct {
	Client      *Client
	App         *token.Principal
	RedirectURI string
	// RedirectGiven records whether redirect_uri was in the request (the
	// token request must then repeat it).
	RedirectGiven bool
	State         string
	Scopes        []string // permissions asked for
	// OIDCScopes are the OpenID Connect scopes asked for (openid,
	// profile, email, offline_access): they say what the ID token and
	// userinfo tell, not what the tokens may do.
	OIDCScopes []string
	Audiences  []string
	Challenge  string
	Nonce      string
	Prompt     []string // "none", "login", "consent"
	MaxAge     int      // -1: none asked
	DPoPJKT    string
	// RequireMFA: acr_values asked for a sign-in with two factors.
	RequireMFA bool
	// Query is the request as it came (client_id and request_uri for a
	// pushed one), to carry through the sign-in and consent pages.
	Query  url.Values
	pushed []byte // digest of the request_uri, when pushed
}

// HasPrompt reports whether the request asked for prompt p.
func (r *AuthRequest) HasPrompt(p string) bool { return slices.Contains(r.Prompt, p) }

// AuthorizeError is an error at the authorization endpoint. Until the
// client and its redirect URI are known good it is shown on latchkey's own
// page (RedirectURI empty: never a redirect to a URI nobody registered,
// AS-01, AS-03); after that it goes back to the client (RFC 6749
// §4.1.2.1).
type AuthorizeError struct {
	Err         *Error
	RedirectURI string
	State       string
}

func (e *AuthorizeError) Error() string { return e.Err.Error() }

// Redirect returns where to send the browser with the error, or "" when
// the error is for latchkey's own page.
func (e *AuthorizeError) Redirect(issuer string) string {
	if e.RedirectURI == "" {
		return ""
	}
	return withParams(e.RedirectURI, url.Values{"error": {e.Err.Code}, "error_description": {e.Err.Description},
		"state": {e.State}, "iss": {issuer}})
}

func pageError(code, desc string) error {
	return &AuthorizeError{Err: &Error{Code: code, Description: desc}}
}

// ParseAuthorize checks an authorization request (the query of GET
// /oauth2/authorize, or the form of its POST). A request_uri of /oauth2/par
// stands for the parameters pushed with it.
func (s *Service) ParseAuthorize(ctx context.Context, q url.Values) (*AuthRequest, error) {
	return s.parseAuthorize(ctx, q, false)
}

// parseAuthorize is ParseAuthorize; pushing says q is being pushed to
// /oauth2/par, where RequirePAR cannot refuse it for not being pushed.
func (s *Service) parseAuthorize(ctx context.Context, q url.Values, pushing bool) (*AuthRequest, error) {
	if s.signer == nil || s.grants == nil {
		return nil, pageError("temporarily_unavailable", "this server does not offer the authorization code grant")
	}
	for k, v := range q {
		if len(v) > 1 && k != "audience" && k != "resource" {
			return nil, pageError("invalid_request", "parameter "+k+" is repeated")
		}
	}
	clientID := q.Get("client_id")
	if clientID == "" || len(clientID) > 128 {
		return nil, pageError("invalid_request", "client_id is missing or malformed")
	}
	c, err := s.client(ctx, clientID)
	if errors.Is(err, token.ErrNotFound) {
		return nil, pageError("invalid_client", "there is no such client")
	}
	if err != nil {
		return nil, unavailable(err, "get client")
	}
	app, err := s.tokens.LivePrincipal(ctx, token.App, clientID)
	if errors.Is(err, token.ErrNotFound) || (err == nil && app.Disabled) {
		return nil, pageError("invalid_client", "this client is disabled")
	}
	if err != nil {
		return nil, unavailable(err, "get app")
	}
	req := &AuthRequest{Client: c, App: app, Query: q, MaxAge: -1}
	params := q
	if ru := q.Get("request_uri"); ru != "" {
		if params, req.pushed, err = s.pushedParams(ctx, c, ru); err != nil {
			return nil, err
		}
	} else if s.requirePAR && !pushing {
		return nil, pageError("invalid_request", "this server requires pushed authorization requests (RFC 9126): POST the request to /oauth2/par first")
	}
	if req.RedirectURI, err = matchRedirect(c, params.Get("redirect_uri")); err != nil {
		return nil, err
	}
	req.RedirectGiven = params.Get("redirect_uri") != ""
	req.State = params.Get("state")
	if len(req.State) > 2048 {
		return nil, pageError("invalid_request", "state is longer than 2048 bytes")
	}
	// From here on, errors go back to the client.
	fail := func(code, desc string) error {
		return &AuthorizeError{Err: &Error{Code: code, Description: desc}, RedirectURI: req.RedirectURI, State: req.State}
	}
	if err := s.checkAuthParams(req, params, fail); err != nil {
		return nil, err
	}
	return req, nil
}

// checkAuthParams checks the parameters after the redirect URI.
func (s *Service) checkAuthParams(req *AuthRequest, params url.Values, fail func(code, desc string) error) error {
	c := req.Client
	switch rt := params.Get("response_type"); rt {
	case "code":
	case "":
		return fail("invalid_request", "response_type is required")
	default:
		return fail("unsupported_response_type", "only response_type=code is supported (RFC 9700 §2.1.2)")
	}
	if rm := params.Get("response_mode"); rm != "" && rm != "query" {
		return fail("invalid_request", "only response_mode=query is supported")
	}
	if !slices.Contains(c.Settings.GrantTypes, GrantAuthorizationCode) {
		return fail("unauthorized_client", "the client is not registered for the authorization_code grant")
	}
	// PKCE S256, for every client (RFC 9700 §2.1.1; AS-04).
	req.Challenge = params.Get("code_challenge")
	switch m := params.Get("code_challenge_method"); {
	case req.Challenge == "":
		return fail("invalid_request", "code_challenge is required (PKCE, S256)")
	case m != "S256":
		return fail("invalid_request", "code_challenge_method must be S256 (plain is not allowed)")
	case len(req.Challenge) != 43 || !isB64URL(req.Challenge):
		return fail("invalid_request", "code_challenge must be the base64url SHA-256 of the verifier (43 characters)")
	}
	requested := strings.Fields(params.Get("scope"))
	for _, sc := range requested {
		if IsOIDCScope(sc) && !slices.Contains(req.OIDCScopes, sc) {
			req.OIDCScopes = append(req.OIDCScopes, sc)
		}
	}
	if len(req.OIDCScopes) > 0 && !slices.Contains(req.OIDCScopes, "openid") {
		return fail("invalid_scope", "profile, email, groups and offline_access go with the openid scope")
	}
	requested = slices.DeleteFunc(requested, IsOIDCScope)
	scopes := []string{}
	if len(requested) > 0 || len(req.OIDCScopes) == 0 {
		// A sign-in alone (openid, no permission asked for) gets none;
		// otherwise no scope means all of the app's permissions.
		var err error
		if scopes, err = narrowScopes(req.App.Permissions, requested); err != nil {
			var oe *Error
			errors.As(err, &oe)
			return fail(oe.Code, oe.Description)
		}
	}
	req.Scopes = scopes
	aud, err := pickAudiences(c, append(params["audience"], params["resource"]...))
	if err != nil {
		var oe *Error
		errors.As(err, &oe)
		return fail(oe.Code, oe.Description)
	}
	if len(aud) == 0 {
		aud = []string{s.issuer}
	}
	req.Audiences = aud
	req.Nonce = params.Get("nonce")
	if len(req.Nonce) > 512 {
		return fail("invalid_request", "nonce is longer than 512 bytes")
	}
	for _, p := range strings.Fields(params.Get("prompt")) {
		switch p {
		case "none", "login", "consent":
			req.Prompt = append(req.Prompt, p)
		case "select_account":
			return fail("account_selection_required", "this server does not offer account selection")
		default:
			return fail("invalid_request", "prompt: unknown value "+strconv.Quote(p))
		}
	}
	if req.HasPrompt("none") && len(req.Prompt) > 1 {
		return fail("invalid_request", "prompt=none cannot be combined with other values")
	}
	if ma := params.Get("max_age"); ma != "" {
		n, err := strconv.Atoi(ma)
		if err != nil || n < 0 {
			return fail("invalid_request", "max_age must be a non-negative number of seconds")
		}
		req.MaxAge = n
	}
	if j := params.Get("dpop_jkt"); j != "" {
		if len(j) != 43 || !isB64URL(j) {
			return fail("invalid_request", "dpop_jkt must be a base64url SHA-256 JWK thumbprint")
		}
		req.DPoPJKT = j
	}
	for _, v := range strings.Fields(params.Get("acr_values")) {
		if v == ACRMFA {
			req.RequireMFA = true
		}
	}
	if params.Has("request") {
		return fail("request_not_supported", "request objects are not supported; use /oauth2/par")
	}
	return nil
}

// pushedParams returns the parameters pushed with request_uri ru by client
// c, and the digest that will delete them once a code is issued.
func (s *Service) pushedParams(ctx context.Context, c *Client, ru string) (url.Values, []byte, error) {
	id, ok := strings.CutPrefix(ru, RequestURIPrefix)
	if !ok || apitoken.Check(id) != apitoken.Valid {
		return nil, nil, pageError("invalid_request_uri", "the request_uri is not one of this server's")
	}
	d := apitoken.Hash(id)
	p, err := s.grants.PushedRequest(ctx, d[:], s.tokens.Now())
	if errors.Is(err, token.ErrNotFound) {
		return nil, nil, pageError("invalid_request_uri", "the request_uri is unknown or expired")
	}
	if err != nil {
		return nil, nil, unavailable(err, "get pushed request")
	}
	if p.ClientID != c.AppID {
		return nil, nil, pageError("invalid_request_uri", "the request_uri was pushed by another client")
	}
	v, err := url.ParseQuery(string(p.Params))
	if err != nil {
		return nil, nil, pageError("invalid_request_uri", "the pushed request is malformed")
	}
	return v, d[:], nil
}

// matchRedirect returns the redirect URI of a request for client c: the
// one given, if it is registered — compared as strings, byte for byte
// (AS-01), but for the port of a loopback redirect of a native app (RFC
// 8252 §7.3, AS-02) — or the only one registered when none is given.
func matchRedirect(c *Client, given string) (string, error) {
	reg := c.Settings.RedirectURIs
	if given == "" {
		if len(reg) == 1 {
			return reg[0], nil
		}
		return "", pageError("invalid_request", "redirect_uri is required: the client registered several")
	}
	for _, r := range reg {
		if r == given || loopbackMatch(r, given) {
			return given, nil
		}
	}
	return "", pageError("invalid_request", "redirect_uri is not registered for this client")
}

// loopbackMatch reports whether given is registered loopback redirect URI
// reg with another port: http, the same IP literal or "localhost", and
// byte-identical path and query.
func loopbackMatch(reg, given string) bool {
	r, err := url.Parse(reg)
	if err != nil || r.Scheme != "http" {
		return false
	}
	g, err := url.Parse(given)
	if err != nil || g.Scheme != "http" || g.User != nil || g.Fragment != "" || strings.Contains(given, "#") {
		return false
	}
	host := r.Hostname()
	if ip := net.ParseIP(host); (ip == nil || !ip.IsLoopback()) && host != "localhost" {
		return false
	}
	if g.Hostname() != host || g.EscapedPath() != r.EscapedPath() || g.RawQuery != r.RawQuery {
		return false
	}
	port := g.Port()
	if port == "" {
		return r.Port() == ""
	}
	n, err := strconv.Atoi(port)
	return err == nil && n > 0 && n < 65536 && strconv.Itoa(n) == port
}

func isB64URL(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// withParams adds params (those not empty) to the query of URI u.
func withParams(u string, params url.Values) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	q := p.Query()
	for k, v := range params {
		if len(v) > 0 && v[0] != "" {
			q.Set(k, v[0])
		}
	}
	p.RawQuery = q.Encode()
	return p.String()
}

// NeedsConsent reports whether user userID must be asked before client
// req.Client gets req.Scopes: not for a first-party app (skip_consent),
// nor when the user allowed these scopes before, unless the request says
// prompt=consent.
func (s *Service) NeedsConsent(ctx context.Context, req *AuthRequest, userID string) (bool, error) {
	if req.HasPrompt("consent") {
		return true, nil
	}
	if req.Client.Settings.SkipConsent {
		return false, nil
	}
	c, err := s.grants.Consent(ctx, userID, req.Client.AppID)
	if errors.Is(err, token.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, unavailable(err, "get consent")
	}
	held := scope.Set(c.Scopes)
	for _, sc := range append(slices.Clone(req.Scopes), req.OIDCScopes...) {
		if !held.Has(sc) {
			return true, nil
		}
	}
	return false, nil
}

// SignIn is what the authorization server needs to know of the sign-in
// session that approves a request.
type SignIn struct {
	UserID    string
	SessionID string
	AuthTime  time.Time
	AMR       []string
	RequestID string
	IP        string
}

// Approve issues an authorization code for req to the signed-in user —
// remembering the consent when consented is true — and returns where to
// send the browser: the redirect URI with code, state and iss (RFC 9207).
func (s *Service) Approve(ctx context.Context, req *AuthRequest, si SignIn, consented bool) (string, error) {
	user, err := s.tokens.LivePrincipal(ctx, token.User, si.UserID)
	if errors.Is(err, token.ErrNotFound) || (err == nil && user.Disabled) {
		return "", token.Errorf(token.Unauthenticated, "unauthenticated", "the user is disabled")
	}
	if err != nil {
		return "", unavailable(err, "get user")
	}
	now := s.tokens.Now()
	if consented {
		if err := s.rememberConsent(ctx, si.UserID, req.Client.AppID, append(slices.Clone(req.Scopes), req.OIDCScopes...), now); err != nil {
			return "", err
		}
	}
	code, err := apitoken.New(CodePrefix)
	if err != nil {
		return "", &token.Error{Kind: token.Internal, Msg: "internal error", Err: err}
	}
	d := code.Digest()
	rec := &Code{Digest: d[:], ClientID: req.Client.AppID, UserID: si.UserID, SessionID: si.SessionID,
		RedirectURI: req.RedirectURI, Challenge: req.Challenge, Scopes: append(slices.Clone(req.Scopes), req.OIDCScopes...), Audiences: req.Audiences,
		Nonce: req.Nonce, DPoPJKT: req.DPoPJKT, AuthTime: si.AuthTime, AMR: si.AMR, CreatedAt: now,
		ExpiresAt: now.Add(CodeTTL)}
	if !req.RedirectGiven {
		rec.RedirectURI = "" // the token request needs none then
	}
	if req.pushed != nil {
		// A request_uri is used once (RFC 9126 §4): of two approvals of it,
		// one gets a code.
		err := s.grants.DeletePushedRequest(ctx, req.pushed)
		if errors.Is(err, token.ErrNotFound) {
			return "", pageError("invalid_request_uri", "the request_uri was used already")
		}
		if err != nil {
			return "", unavailable(err, "delete pushed request")
		}
	}
	if err := s.grants.CreateCode(ctx, rec); err != nil {
		return "", unavailable(err, "create code")
	}
	return withParams(req.RedirectURI, url.Values{"code": {code.Reveal()}, "state": {req.State}, "iss": {s.issuer}}), nil
}

// Deny returns where to send the browser when the user declines req.
func (s *Service) Deny(req *AuthRequest) string {
	e := &AuthorizeError{Err: &Error{Code: "access_denied", Description: "the user declined"}, RedirectURI: req.RedirectURI, State: req.State}
	return e.Redirect(s.issuer)
}

// ErrorRedirect returns where to send the browser for error code on req
// (login_required, consent_required, interaction_required …).
func (s *Service) ErrorRedirect(req *AuthRequest, code, desc string) string {
	e := &AuthorizeError{Err: &Error{Code: code, Description: desc}, RedirectURI: req.RedirectURI, State: req.State}
	return e.Redirect(s.issuer)
}

// rememberConsent adds scopes to user's consent to client.
func (s *Service) rememberConsent(ctx context.Context, userID, clientID string, scopes []string, now time.Time) error {
	c, err := s.grants.Consent(ctx, userID, clientID)
	switch {
	case errors.Is(err, token.ErrNotFound):
		c = &Consent{UserID: userID, ClientID: clientID, CreatedAt: now}
	case err != nil:
		return unavailable(err, "get consent")
	}
	for _, sc := range scopes {
		if !slices.Contains(c.Scopes, sc) {
			c.Scopes = append(c.Scopes, sc)
		}
	}
	c.UpdatedAt = now
	if err := s.grants.PutConsent(ctx, c); err != nil {
		return unavailable(err, "put consent")
	}
	return nil
}

// checkVerifier checks a PKCE code_verifier against the code's challenge
// (RFC 7636 §4.1, §4.6): 43–128 unreserved characters whose SHA-256 is the
// challenge; a verifier for a code issued without challenge is refused too
// (AS-05).
func checkVerifier(challenge, verifier string) bool {
	if challenge == "" {
		return false
	}
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	for i := 0; i < len(verifier); i++ {
		c := verifier[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	sum := sha256.Sum256([]byte(verifier))
	return subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) == 1
}
