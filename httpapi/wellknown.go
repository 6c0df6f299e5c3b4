package httpapi

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/oauth"
	"github.com/latchkey/latchkey/signer"
)

// jwks answers GET /.well-known/jwks.json: the public keys of the ring that
// verify tokens now or will sign soon. It may be cached for half the lead
// with which new keys are published, so a cached copy always holds a key
// before it signs.
func (h *Handler) jwks(w http.ResponseWriter, r *http.Request) error {
	if h.signer == nil {
		return &httpError{status: http.StatusNotFound, code: "no_route", msg: "JWT issuing is not configured"}
	}
	body, err := h.signer.Ring().JWKS(h.svc.Now())
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	etag := `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
	hdr := w.Header()
	maxAge := h.signer.Schedule().Lead / 2
	hdr.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(maxAge/time.Second)))
	hdr.Set("ETag", etag)
	hdr.Set("Access-Control-Allow-Origin", "*")
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	hdr.Set("Content-Type", "application/jwk-set+json")
	w.Write(append(body, '\n'))
	return nil
}

// serverMetadata answers GET /.well-known/oauth-authorization-server
// (RFC 8414).
func (h *Handler) serverMetadata(w http.ResponseWriter, r *http.Request) error {
	if h.signer == nil {
		return &httpError{status: http.StatusNotFound, code: "no_route", msg: "JWT issuing is not configured"}
	}
	m := api.AuthorizationServerMetadata{
		Issuer:                 h.issuer,
		JWKSURI:                h.issuer + "/.well-known/jwks.json",
		ResponseTypesSupported: []string{},
		TokenExchangeEndpoint:  h.issuer + "/v1/tokens",
		RevocationFeedEndpoint: h.issuer + "/v1/revocations",
	}
	if h.oauth != nil {
		m.TokenEndpoint = h.issuer + "/oauth2/token"
		m.GrantTypesSupported = []string{oauth.GrantClientCredentials, oauth.GrantTokenExchange}
		m.TokenEndpointAuthMethodsSupported = []string{oauth.AuthSecretBasic, oauth.AuthSecretPost, oauth.AuthPrivateKeyJWT}
		for _, a := range oauth.AssertionAlgs {
			m.TokenEndpointAuthSigningAlgValuesSupported = append(m.TokenEndpointAuthSigningAlgValuesSupported, string(a))
		}
		m.IntrospectionEndpointAuthSigningAlgValuesSupported = m.TokenEndpointAuthSigningAlgValuesSupported
		m.RevocationEndpointAuthSigningAlgValuesSupported = m.TokenEndpointAuthSigningAlgValuesSupported
		m.IntrospectionEndpoint = h.issuer + "/oauth2/introspect"
		m.IntrospectionEndpointAuthMethodsSupported = m.TokenEndpointAuthMethodsSupported
		m.RevocationEndpoint = h.issuer + "/oauth2/revoke"
		m.RevocationEndpointAuthMethodsSupported = m.TokenEndpointAuthMethodsSupported
		if h.oauth.OffersCodeGrant() {
			m.GrantTypesSupported = append(m.GrantTypesSupported, oauth.GrantAuthorizationCode, oauth.GrantRefreshToken)
			// Public clients redeem codes and refresh, and revoke their
			// refresh tokens; they never introspect.
			m.TokenEndpointAuthMethodsSupported = append(slices.Clone(m.TokenEndpointAuthMethodsSupported), oauth.AuthNone)
			m.RevocationEndpointAuthMethodsSupported = m.TokenEndpointAuthMethodsSupported
			m.AuthorizationEndpoint = h.issuer + "/oauth2/authorize"
			m.ResponseTypesSupported = []string{"code"}
			m.ResponseModesSupported = []string{"query"}
			m.CodeChallengeMethodsSupported = []string{"S256"}
			m.AuthorizationResponseIssParameterSupported = true
			m.PushedAuthorizationRequestEndpoint = h.issuer + "/oauth2/par"
			m.RequirePushedAuthorizationRequests = h.oauth.RequiresPAR()
			m.UserinfoEndpoint = h.issuer + "/oauth2/userinfo"
			m.ScopesSupported = []string{"openid", "profile", "email", "groups", "offline_access"}
			m.SubjectTypesSupported = []string{oauth.SubjectPublic}
			if h.oauth.OffersPairwise() {
				m.SubjectTypesSupported = append(m.SubjectTypesSupported, oauth.SubjectPairwise)
			}
			m.ACRValuesSupported = []string{oauth.ACRPassword, oauth.ACRMFA}
			m.IDTokenSigningAlgValuesSupported = []string{signer.EdDSA, signer.ES256, signer.RS256}
			m.ClaimsSupported = []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "azp",
				"at_hash", "name", "preferred_username", "email", "email_verified", "groups"}
			m.EndSessionEndpoint = h.issuer + "/oauth2/logout"
			m.BackchannelLogoutSupported, m.BackchannelLogoutSessionSupported = true, true
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Write(append(b, '\n'))
	return nil
}
