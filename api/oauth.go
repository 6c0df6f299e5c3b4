package api

import (
	"encoding/json"
	"time"
)

// OAuthSettings are an app's OAuth 2.0 client settings, the "oauth" object
// of POST /v1/apps, PATCH /v1/apps/{id} and an app's answer.
type OAuthSettings struct {
	RedirectURIs           []string `json:"redirect_uris,omitempty"`
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris,omitempty"`
	// GrantTypes: authorization_code, refresh_token, client_credentials,
	// urn:ietf:params:oauth:grant-type:token-exchange.
	GrantTypes []string `json:"grant_types,omitempty"`
	// TokenEndpointAuthMethod: client_secret_basic (default),
	// client_secret_post, private_key_jwt, none (a public client).
	TokenEndpointAuthMethod string `json:"token_endpoint_auth_method,omitempty"`
	// AccessTokenFormat: jwt (default) or opaque.
	AccessTokenFormat     string `json:"access_token_format,omitempty"`
	DPoPBoundAccessTokens bool   `json:"dpop_bound_access_tokens,omitempty"`
	SkipConsent           bool   `json:"skip_consent,omitempty"`
	BackchannelLogoutURI  string `json:"backchannel_logout_uri,omitempty"`
	// SubjectType: public (default: sub is the user ID) or pairwise (OIDC
	// Core §8: one sub per host of the redirect URIs, which must share
	// one host).
	SubjectType string          `json:"subject_type,omitempty"`
	Audiences   []string        `json:"audiences,omitempty"`
	JWKS        json.RawMessage `json:"jwks,omitempty"`
}

// ClientSecret is the answer of POST /v1/apps/{id}/secret: a new client
// secret, shown once.
type ClientSecret struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	// PreviousValidUntil is when the replaced secret stops working
	// (omitted when it stopped at once).
	PreviousValidUntil *string `json:"previous_valid_until,omitempty"`
}

// RotateSecretRequest is the body of POST /v1/apps/{id}/secret.
type RotateSecretRequest struct {
	// GracePeriod keeps the old secret working this long ("1h"; default
	// "0s": it stops at once).
	GracePeriod string `json:"grace_period,omitempty"`
}

// OAuthError is an RFC 6749 §5.2 error answer of the /oauth2 endpoints.
type OAuthError struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description,omitempty"`
}

// Grant is an app's standing authorization to act for a user (one
// authorization code grant and its refresh tokens), as GET
// /v1/users/{id}/grants lists it.
type Grant struct {
	ID         string     `json:"id"`
	ClientID   string     `json:"client_id"`
	ClientName string     `json:"client_name,omitempty"`
	Scopes     []string   `json:"scopes"` // what its tokens may do now
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"` // the end of its refresh tokens
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
}

// GrantList is the answer of GET /v1/users/{id}/grants.
type GrantList struct {
	Grants []Grant `json:"grants"`
}

// GrantsRevoked is the answer of DELETE /v1/users/{id}/grants?client_id=
// and DELETE /v1/apps/{id}/grants.
type GrantsRevoked struct {
	Revoked int `json:"revoked"`
}
