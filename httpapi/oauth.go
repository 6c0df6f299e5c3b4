package httpapi

import (
	"net/http"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/oauth"
	"github.com/latchkey/latchkey/ratelimit"
	"github.com/latchkey/latchkey/token"
)

// oauthSettings converts the wire settings.
func oauthSettings(s *api.OAuthSettings) oauth.Settings {
	return oauth.Settings{
		RedirectURIs: s.RedirectURIs, PostLogoutRedirectURIs: s.PostLogoutRedirectURIs, GrantTypes: s.GrantTypes,
		TokenEndpointAuthMethod: s.TokenEndpointAuthMethod, AccessTokenFormat: s.AccessTokenFormat,
		DPoPBoundAccessTokens: s.DPoPBoundAccessTokens, SkipConsent: s.SkipConsent,
		BackchannelLogoutURI: s.BackchannelLogoutURI, Audiences: s.Audiences, JWKS: s.JWKS, SubjectType: s.SubjectType,
	}
}

// apiOAuth renders a client's settings (never a secret).
func apiOAuth(c *oauth.Client) *api.OAuthSettings {
	s := c.Settings
	return &api.OAuthSettings{
		RedirectURIs: s.RedirectURIs, PostLogoutRedirectURIs: s.PostLogoutRedirectURIs, GrantTypes: s.GrantTypes,
		TokenEndpointAuthMethod: s.TokenEndpointAuthMethod, AccessTokenFormat: s.AccessTokenFormat,
		DPoPBoundAccessTokens: s.DPoPBoundAccessTokens, SkipConsent: s.SkipConsent,
		BackchannelLogoutURI: s.BackchannelLogoutURI, Audiences: s.Audiences, JWKS: s.JWKS, SubjectType: s.SubjectType,
	}
}

// withClient adds an app's OAuth client, if it has one, to its answer.
func (h *Handler) withClient(r *http.Request, p *token.Principal, out *api.Principal) error {
	if h.oauth == nil || p.Type != token.App {
		return nil
	}
	c, err := h.oauth.Client(r.Context(), p.ID)
	if err != nil || c == nil {
		return err
	}
	out.OAuth, out.ClientID = apiOAuth(c), p.ID
	return nil
}

var errNoOAuth = &httpError{status: http.StatusNotFound, code: "not_configured", msg: "OAuth is not configured on this server"}

// rotateClientSecret answers POST /v1/apps/{id}/secret.
func (h *Handler) rotateClientSecret(w http.ResponseWriter, r *http.Request) error {
	if h.oauth == nil {
		return errNoOAuth
	}
	var req api.RotateSecretRequest
	if err := decode(r, &req, true); err != nil {
		return err
	}
	var grace time.Duration
	if req.GracePeriod != "" {
		d, err := api.ParseDuration(req.GracePeriod)
		if err != nil {
			return badRequest("bad_grace_period", "grace_period: "+err.Error())
		}
		grace = d
	}
	id := r.PathValue("id")
	secret, until, err := h.oauth.RotateSecret(r.Context(), actorFrom(r.Context()), id, grace)
	if err != nil {
		return err
	}
	out := api.ClientSecret{ClientID: id, ClientSecret: secret}
	if !until.IsZero() {
		s := until.UTC().Format(time.RFC3339)
		out.PreviousValidUntil = &s
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// oauthToken answers POST /oauth2/token (RFC 6749 errors, not problem
// documents).
func (h *Handler) oauthToken(w http.ResponseWriter, r *http.Request) error {
	return h.oauthEndpoint(w, r, func() error { return h.oauth.HandleToken(w, r) })
}

// oauthIntrospect answers POST /oauth2/introspect (RFC 7662).
func (h *Handler) oauthIntrospect(w http.ResponseWriter, r *http.Request) error {
	return h.oauthEndpoint(w, r, func() error { return h.oauth.HandleIntrospect(w, r) })
}

// oauthRevoke answers POST /oauth2/revoke (RFC 7009).
func (h *Handler) oauthRevoke(w http.ResponseWriter, r *http.Request) error {
	return h.oauthEndpoint(w, r, func() error { return h.oauth.HandleRevoke(w, r) })
}

// oauthPAR answers POST /oauth2/par (RFC 9126).
func (h *Handler) oauthPAR(w http.ResponseWriter, r *http.Request) error {
	return h.oauthEndpoint(w, r, func() error { return h.oauth.HandlePAR(w, r) })
}

// oauthUserinfo answers GET and POST /oauth2/userinfo (OpenID Connect
// Core §5.3): authenticated by the access token, not a client.
func (h *Handler) oauthUserinfo(w http.ResponseWriter, r *http.Request) error {
	if h.oauth == nil {
		return errNoOAuth
	}
	if err := h.oauth.HandleUserinfo(w, r); err != nil {
		oauth.WriteError(w, err)
	}
	return nil
}

// oauthEndpoint serves an /oauth2 endpoint: its errors rendered as RFC
// 6749 errors, and failed client authentications counted against the
// address's budget of bad credentials (429 once it is spent; a valid
// client always passes).
func (h *Handler) oauthEndpoint(w http.ResponseWriter, r *http.Request, serve func() error) error {
	if h.oauth == nil {
		return errNoOAuth
	}
	err := serve()
	if err == nil {
		return nil
	}
	if oauth.IsInvalidClient(err) {
		if throttled, retry := h.guard.fail(r.Context(), "auth", h.guard.auth, h.clientIP(r)); throttled {
			ratelimit.SetRetryAfter(w.Header(), retry)
			err = oauth.Throttled
		}
	}
	if token.KindOf(err) == token.Unavailable || token.KindOf(err) == token.Internal {
		h.log.Error("oauth endpoint", "path", r.URL.Path, "err", err)
	}
	oauth.WriteError(w, err)
	return nil
}
