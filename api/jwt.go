package api

import "time"

// TokenRequest is the optional body of POST /v1/tokens, which exchanges the
// API key sent as "Authorization: Bearer" for a short-lived JWT.
type TokenRequest struct {
	// Scope narrows the token to these space-separated scopes, each of
	// which the key must grant; empty means all the key's effective scopes.
	Scope string `json:"scope,omitempty"`
	// Audience is the token's aud: the key's keyspace (the default) or one
	// of the keyspace's audiences.
	Audience string `json:"audience,omitempty"`
	// ExpiresIn is the lifetime in seconds: default 300, at most 3600, and
	// never past the key's own expiry. A request may give it as a duration
	// string too ("5m").
	ExpiresIn Seconds `json:"expires_in,omitempty"`
}

// TokenResponse is the answer of POST /v1/tokens (RFC 6749 §5.1 shape).
type TokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	Scope       string `json:"scope,omitempty"`
}

// AuthorizationServerMetadata is the document at
// /.well-known/oauth-authorization-server (RFC 8414).
type AuthorizationServerMetadata struct {
	Issuer  string `json:"issuer"`
	JWKSURI string `json:"jwks_uri"`
	// ResponseTypesSupported is required by RFC 8414: ["code"] when the
	// authorization code grant is offered, else empty.
	ResponseTypesSupported []string `json:"response_types_supported"`
	// AuthorizationEndpoint is GET /oauth2/authorize, with PKCE S256 only,
	// iss in its answers (RFC 9207) and query responses.
	AuthorizationEndpoint                      string   `json:"authorization_endpoint,omitempty"`
	CodeChallengeMethodsSupported              []string `json:"code_challenge_methods_supported,omitempty"`
	ResponseModesSupported                     []string `json:"response_modes_supported,omitempty"`
	AuthorizationResponseIssParameterSupported bool     `json:"authorization_response_iss_parameter_supported,omitempty"`
	// PushedAuthorizationRequestEndpoint is POST /oauth2/par (RFC 9126).
	PushedAuthorizationRequestEndpoint string `json:"pushed_authorization_request_endpoint,omitempty"`
	RequirePushedAuthorizationRequests bool   `json:"require_pushed_authorization_requests,omitempty"`
	// OpenID Connect Discovery 1.0 §3.
	UserinfoEndpoint                 string   `json:"userinfo_endpoint,omitempty"`
	ScopesSupported                  []string `json:"scopes_supported,omitempty"`
	SubjectTypesSupported            []string `json:"subject_types_supported,omitempty"`
	IDTokenSigningAlgValuesSupported []string `json:"id_token_signing_alg_values_supported,omitempty"`
	ClaimsSupported                  []string `json:"claims_supported,omitempty"`
	ACRValuesSupported               []string `json:"acr_values_supported,omitempty"`
	// EndSessionEndpoint is GET and POST /oauth2/logout (OpenID Connect
	// RP-Initiated Logout 1.0).
	EndSessionEndpoint string `json:"end_session_endpoint,omitempty"`
	// BackchannelLogoutSupported and BackchannelLogoutSessionSupported:
	// apps that register a backchannel_logout_uri get logout tokens, with
	// sid (OpenID Connect Back-Channel Logout 1.0 §2.1).
	BackchannelLogoutSupported        bool `json:"backchannel_logout_supported,omitempty"`
	BackchannelLogoutSessionSupported bool `json:"backchannel_logout_session_supported,omitempty"`
	// TokenExchangeEndpoint is POST /v1/tokens (API key → JWT).
	TokenExchangeEndpoint string `json:"latchkey_token_exchange_endpoint"`
	// RevocationFeedEndpoint is GET /v1/revocations.
	RevocationFeedEndpoint string `json:"latchkey_revocation_feed_endpoint"`
	// TokenEndpoint is POST /oauth2/token, with the grants and client
	// authentication methods it offers.
	TokenEndpoint                     string   `json:"token_endpoint,omitempty"`
	GrantTypesSupported               []string `json:"grant_types_supported,omitempty"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported,omitempty"`
	// TokenEndpointAuthSigningAlgValuesSupported are the JWS algorithms a
	// private_key_jwt client assertion may use.
	TokenEndpointAuthSigningAlgValuesSupported []string `json:"token_endpoint_auth_signing_alg_values_supported,omitempty"`
	// IntrospectionEndpoint is POST /oauth2/introspect (RFC 7662).
	IntrospectionEndpoint                     string   `json:"introspection_endpoint,omitempty"`
	IntrospectionEndpointAuthMethodsSupported []string `json:"introspection_endpoint_auth_methods_supported,omitempty"`
	// IntrospectionEndpointAuthSigningAlgValuesSupported: as for the token
	// endpoint.
	IntrospectionEndpointAuthSigningAlgValuesSupported []string `json:"introspection_endpoint_auth_signing_alg_values_supported,omitempty"`
	// RevocationEndpoint is POST /oauth2/revoke (RFC 7009).
	RevocationEndpoint                     string   `json:"revocation_endpoint,omitempty"`
	RevocationEndpointAuthMethodsSupported []string `json:"revocation_endpoint_auth_methods_supported,omitempty"`
	// RevocationEndpointAuthSigningAlgValuesSupported: as for the token
	// endpoint.
	RevocationEndpointAuthSigningAlgValuesSupported []string `json:"revocation_endpoint_auth_signing_alg_values_supported,omitempty"`
}

// SigningKey describes one JWT signing key; its private part never leaves
// the server.
type SigningKey struct {
	KID string `json:"kid"`
	Alg string `json:"alg"`
	// State is "pending" (published, not signing yet), "active" (signing),
	// or "retiring" (published until the tokens it signed expire).
	State     string    `json:"state"`
	NotBefore time.Time `json:"not_before"`
	SignUntil time.Time `json:"sign_until"`
	RetireAt  time.Time `json:"retire_at"`
}

// SigningKeyList is the answer of GET /v1/signing-keys.
type SigningKeyList struct {
	Keys []SigningKey `json:"keys"`
}

// RotateSigningKeyRequest is the optional body of
// POST /v1/signing-keys/rotate.
type RotateSigningKeyRequest struct {
	// Alg of the new key: EdDSA (default), ES256 or RS256.
	Alg string `json:"alg,omitempty"`
	// Immediately makes the new key sign at once and withdraws every other
	// key: tokens they signed stop verifying. For a compromised key.
	Immediately bool `json:"immediately,omitempty"`
}

// Revocation says that a key or a principal stopped being valid at
// RevokedAt: JWTs derived from it and issued at or before that time are
// invalid from then on.
type Revocation struct {
	// Kind is "key" (ID is a key ID, matched against a JWT's key_id),
	// "principal" (ID is "<type>:<id>", matched against a JWT's sub) or
	// "signing_key" (ID is the kid of a signing key withdrawn before its
	// time: every token it signed is invalid, whatever its iat). A key or
	// principal entry is also written when scopes are taken from the key
	// or permissions from the principal: JWTs issued before carry the old
	// scopes, and their holders must exchange the key again.
	Kind      string    `json:"kind"`
	ID        string    `json:"id"`
	RevokedAt time.Time `json:"revoked_at"`
}

// RevocationList is the answer of GET /v1/revocations.
type RevocationList struct {
	Revocations []Revocation `json:"revocations"`
	// Cursor is the since parameter of the next request.
	Cursor string `json:"cursor"`
	// HasMore says that more revocations are waiting: ask again at once.
	HasMore bool `json:"has_more"`
}
