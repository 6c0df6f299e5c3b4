package oauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/latchkey/latchkey/signer"
	"github.com/latchkey/latchkey/token"
)

// Error is an RFC 6749 §5.2 error: a code from the RFC's list and a
// description safe to show.
type Error struct {
	Code        string
	Description string
	// Basic marks an invalid_client answer to HTTP Basic authentication:
	// 401 with WWW-Authenticate.
	Basic      bool
	throttled  bool
	httpStatus int // overrides the code's status (413, 415)
}

func (e *Error) Error() string { return e.Code + ": " + e.Description }

// status maps an RFC 6749 error code to its HTTP status, in one place.
func (e *Error) status() int {
	if e.throttled {
		return http.StatusTooManyRequests
	}
	if e.httpStatus != 0 {
		return e.httpStatus
	}
	switch e.Code {
	case "invalid_client":
		return http.StatusUnauthorized
	case "unauthorized_client", "access_denied":
		return http.StatusBadRequest
	case "server_error":
		return http.StatusInternalServerError
	case "temporarily_unavailable":
		return http.StatusServiceUnavailable
	}
	return http.StatusBadRequest
}

// IsInvalidClient reports whether err is a failed client authentication
// (for the caller's brute-force throttle).
func IsInvalidClient(err error) bool {
	var oe *Error
	return errors.As(err, &oe) && oe.Code == "invalid_client"
}

// Throttled is the answer to a client address that failed to authenticate
// too often: 429 with an RFC 6749 body.
var Throttled = &Error{Code: "invalid_client", Description: "too many failed client authentications from this address; retry later", throttled: true}

// WriteError renders err as an RFC 6749 error answer. Domain errors map
// to their nearest RFC code; storage trouble is 503 temporarily_unavailable,
// never a token.
func WriteError(w http.ResponseWriter, err error) {
	var oe *Error
	if !errors.As(err, &oe) {
		switch token.KindOf(err) {
		case token.Unavailable:
			oe = &Error{Code: "temporarily_unavailable", Description: "the server cannot answer now; retry later"}
		case token.Invalid:
			var te *token.Error
			errors.As(err, &te)
			oe = &Error{Code: "invalid_request", Description: te.Msg}
		default:
			oe = &Error{Code: "server_error", Description: "internal error"}
		}
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	if oe.Code == "invalid_client" && oe.Basic {
		h.Set("WWW-Authenticate", `Basic realm="latchkey", charset="UTF-8"`)
	}
	if oe.Code == "temporarily_unavailable" {
		h.Set("Retry-After", "1")
	}
	w.WriteHeader(oe.status())
	json.NewEncoder(w).Encode(struct {
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description,omitempty"`
	}{oe.Code, oe.Description}) //nolint:errcheck // the client went away
}

var errClient = &Error{Code: "invalid_client", Description: "client authentication failed"}

// authenticate finds and authenticates the client of a token-endpoint
// request: HTTP Basic (client_secret_basic, RFC 6749 §2.3.1 — both parts
// form-urlencoded), or client_id + client_secret in the body
// (client_secret_post), or a client_assertion (private_key_jwt, RFC 7523),
// or client_id alone for a public client. The method
// must be the one the client registered. Every failure is the same
// invalid_client.
func (s *Service) authenticate(r *http.Request, form url.Values) (*Client, *token.Principal, error) {
	now := s.tokens.Now()
	var id, secret, method string
	basic := false
	if h := r.Header.Get("Authorization"); h != "" {
		if len(h) < 6 || !strings.EqualFold(h[:6], "basic ") {
			return nil, nil, &Error{Code: "invalid_client", Description: "use HTTP Basic (client_secret_basic) or client_secret_post"}
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(h[6:]))
		u, p, ok := strings.Cut(string(raw), ":")
		if err != nil || !ok {
			return nil, nil, &Error{Code: "invalid_client", Description: "malformed HTTP Basic credentials", Basic: true}
		}
		if id, err = url.QueryUnescape(u); err == nil {
			secret, err = url.QueryUnescape(p)
		}
		if err != nil {
			return nil, nil, &Error{Code: "invalid_client", Description: "malformed HTTP Basic credentials", Basic: true}
		}
		method, basic = AuthSecretBasic, true
		if form.Has("client_secret") {
			return nil, nil, &Error{Code: "invalid_request", Description: "send the client secret one way only"}
		}
		if form.Has("client_assertion") || form.Has("client_assertion_type") {
			return nil, nil, &Error{Code: "invalid_request", Description: "authenticate one way only: HTTP Basic or client_assertion"}
		}
		if fid := form.Get("client_id"); fid != "" && fid != id {
			return nil, nil, &Error{Code: "invalid_request", Description: "client_id differs from the authenticated client"}
		}
	} else if form.Has("client_assertion") || form.Has("client_assertion_type") {
		c, err := s.authenticateAssertion(r, form)
		if err != nil {
			return nil, nil, err
		}
		return s.livePrincipal(r, c, &Error{Code: "invalid_client", Description: errClient.Description})
	} else {
		id, secret = form.Get("client_id"), form.Get("client_secret")
		method = AuthSecretPost
		if secret == "" {
			method = AuthNone
		}
	}
	fail := &Error{Code: "invalid_client", Description: errClient.Description, Basic: basic}
	if id == "" || len(id) > 128 || len(secret) > 256 {
		return nil, nil, fail
	}
	c, err := s.client(r.Context(), id)
	if errors.Is(err, token.ErrNotFound) {
		checkSecret(&Client{SecretDigest: make([]byte, 32)}, secret, now) // the same work as a known client
		return nil, nil, fail
	}
	if err != nil {
		return nil, nil, unavailable(err, "get client")
	}
	if c.Settings.TokenEndpointAuthMethod != method {
		return nil, nil, fail
	}
	if method != AuthNone && !checkSecret(c, secret, now) {
		return nil, nil, fail
	}
	return s.livePrincipal(r, c, fail)
}

// livePrincipal returns the app of authenticated client c, or fail when it
// is gone or disabled.
func (s *Service) livePrincipal(r *http.Request, c *Client, fail error) (*Client, *token.Principal, error) {
	p, err := s.tokens.LivePrincipal(r.Context(), token.App, c.AppID)
	if errors.Is(err, token.ErrNotFound) || (err == nil && p.Disabled) {
		return nil, nil, fail
	}
	if err != nil {
		return nil, nil, unavailable(err, "get app")
	}
	return c, p, nil
}

// TokenResponse is the RFC 6749 §5.1 answer (and RFC 8693 §2.2.1's, with
// IssuedTokenType).
type TokenResponse struct {
	AccessToken     string `json:"access_token"`
	IssuedTokenType string `json:"issued_token_type,omitempty"`
	TokenType       string `json:"token_type"`
	ExpiresIn       int64  `json:"expires_in"`
	Scope           string `json:"scope,omitempty"`
	RefreshToken    string `json:"refresh_token,omitempty"`
	// IDToken is the OpenID Connect ID token, for a grant with openid.
	IDToken string `json:"id_token,omitempty"`
}

// tokenType is the token_type of an access token bound to DPoP key jkt
// ("" for none).
func tokenType(jkt string) string {
	if jkt != "" {
		return "DPoP"
	}
	return "Bearer"
}

// maxForm bounds a token request body.
const maxForm = 16 << 10

// HandleToken answers POST /oauth2/token; an error it returns is for
// WriteError (after the caller counted a failed client authentication).
func (s *Service) HandleToken(w http.ResponseWriter, r *http.Request) error {
	form, err := readForm(w, r)
	if err != nil {
		return err
	}
	grant := form.Get("grant_type")
	if grant == "" {
		return &Error{Code: "invalid_request", Description: "grant_type is required"}
	}
	if s.signer == nil {
		return &Error{Code: "temporarily_unavailable", Description: "token issuing is not configured"}
	}
	c, p, err := s.authenticate(r, form)
	if err != nil {
		return err
	}
	switch grant {
	case GrantClientCredentials, GrantTokenExchange, GrantAuthorizationCode, GrantRefreshToken:
	case "password", "implicit":
		return &Error{Code: "unsupported_grant_type", Description: "the " + grant + " grant is not supported (RFC 9700)"}
	default:
		return &Error{Code: "unsupported_grant_type", Description: "unknown grant_type"}
	}
	if !slices.Contains(c.Settings.GrantTypes, grant) {
		return &Error{Code: "unauthorized_client", Description: "the client is not registered for the " + grant + " grant"}
	}
	jkt, err := s.tokenDPoP(w, r, c)
	if err != nil {
		return err
	}
	scopes, audiences := strings.Fields(form.Get("scope")), append(form["audience"], form["resource"]...)
	var res *TokenResponse
	switch grant {
	case GrantTokenExchange:
		res, err = s.exchange(r.Context(), c, p, form, scopes, audiences, jkt)
	case GrantAuthorizationCode:
		res, err = s.redeemCode(r.Context(), c, p, form, jkt)
	case GrantRefreshToken:
		res, err = s.refresh(r.Context(), c, p, form, scopes, jkt)
	default:
		res, err = s.clientCredentials(r.Context(), c, p, scopes, audiences, jkt)
	}
	if err != nil {
		return err
	}
	return writeJSON(w, res.appendJSON(make([]byte, 0, 1024)), true)
}

// clientCredentials issues an access token to the app itself: at most its
// permissions, for an audience it registered (all of them when none is
// asked for; the issuer when it registered none).
func (s *Service) clientCredentials(ctx context.Context, c *Client, p *token.Principal, requested, audiences []string, jkt string) (*TokenResponse, error) {
	scopes, err := narrowScopes(p.Permissions, requested)
	if err != nil {
		return nil, err
	}
	aud, err := pickAudiences(c, audiences)
	if err != nil {
		return nil, err
	}
	if len(aud) == 0 {
		aud = []string{s.issuer}
	}
	now := s.tokens.Now()
	exp := now.Add(s.ttl).Truncate(time.Second)
	if c.Settings.AccessTokenFormat == "opaque" {
		tok, err := s.issueOpaque(ctx, token.Owner{Type: token.App, ID: p.ID}, opaqueMeta{ClientID: p.ID, Audience: aud}, scopes, exp, jkt)
		if err != nil {
			return nil, err
		}
		return &TokenResponse{AccessToken: tok, TokenType: tokenType(jkt), ExpiresIn: int64(exp.Sub(now) / time.Second),
			Scope: strings.Join(scopes, " ")}, nil
	}
	jwt, err := signer.Issue(s.signer.Ring(), signer.AccessClaims{
		Issuer: s.issuer, Subject: string(token.App) + ":" + p.ID, Audience: aud, Expiry: exp,
		Scope: scopes, ClientID: p.ID, ConfirmationJKT: jkt,
	}, now)
	if err != nil {
		return nil, &Error{Code: "temporarily_unavailable", Description: "no signing key is available"}
	}
	return &TokenResponse{AccessToken: jwt, TokenType: tokenType(jkt), ExpiresIn: int64(exp.Sub(now) / time.Second),
		Scope: strings.Join(scopes, " ")}, nil
}

// readForm reads the form body of a POST to an /oauth2 endpoint: form
// encoding only, nothing in the URL (parameters there end up in logs), at
// most maxForm bytes, no parameter twice but audience and resource.
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	ct := r.Header.Get("Content-Type")
	if !strings.HasPrefix(ct, formType) {
		return nil, &Error{Code: "invalid_request", Description: "send the parameters as application/x-www-form-urlencoded", httpStatus: http.StatusUnsupportedMediaType}
	}
	if r.URL.RawQuery != "" {
		return nil, &Error{Code: "invalid_request", Description: "request parameters belong in the body, not the URL"}
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	var err error
	if ct == formType && r.Body != nil {
		err = parseFormBody(r)
	} else {
		err = r.ParseForm() // parameters to the media type: the general parser
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &Error{Code: "invalid_request", Description: "the body is larger than 16 KiB", httpStatus: http.StatusRequestEntityTooLarge}
		}
		return nil, &Error{Code: "invalid_request", Description: "the body is not a valid form"}
	}
	for k, v := range r.PostForm {
		if len(v) > 1 && k != "audience" && k != "resource" {
			return nil, &Error{Code: "invalid_request", Description: "parameter " + k + " is repeated"}
		}
	}
	return r.PostForm, nil
}

const formType = "application/x-www-form-urlencoded"

// parseFormBody is r.ParseForm for a body of exactly formType and no
// query: the same url.Values in r.PostForm and r.Form, without the media
// type parsing, the empty query's parsing and the copy between the two
// maps, reading the body into a pooled buffer.
func parseFormBody(r *http.Request) error {
	bp := formBufs.Get().(*[]byte)
	defer formBufs.Put(bp)
	b := (*bp)[:0]
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Body.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	if cap(b) <= 4<<10 {
		*bp = b
	}
	v, err := url.ParseQuery(string(b))
	r.PostForm, r.Form = v, v
	return err
}

var formBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// pickAudiences returns the audiences a token for client c gets: those
// requested, each of which it must have registered (invalid_target
// otherwise), or all it registered when none is requested.
func pickAudiences(c *Client, requested []string) ([]string, error) {
	if len(requested) == 0 {
		return slices.Clone(c.Settings.Audiences), nil
	}
	var aud []string
	for _, a := range requested {
		if !slices.Contains(c.Settings.Audiences, a) {
			return nil, &Error{Code: "invalid_target", Description: "the client may not receive tokens for this audience"}
		}
		if !slices.Contains(aud, a) {
			aud = append(aud, a)
		}
	}
	return aud, nil
}
