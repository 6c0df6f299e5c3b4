package oauth

import (
	"net/http"
	"net/url"
)

// ClientAssertionType is the only client_assertion_type accepted (RFC 7523 §2.2).
const ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// authenticateAssertion authenticates a private_key_jwt client (RFC 7523,
// OpenID Connect Core §9): a JWT signed by a key of the client's
// registered jwks. Not yet implemented: every assertion fails.
func (s *Service) authenticateAssertion(r *http.Request, form url.Values) (*Client, error) {
	return nil, &Error{Code: "invalid_client", Description: "private_key_jwt is not available yet"}
}
