package oauth

import (
	"net/http"
)

// tokenDPoP checks the DPoP proof of a request to the token endpoint (RFC
// 9449 §5) and returns the thumbprint of its key ("" when the request has
// no DPoP header and client c does not require one). Not yet implemented:
// a DPoP header is refused.
func (s *Service) tokenDPoP(w http.ResponseWriter, r *http.Request, c *Client) (string, error) {
	if r.Header.Get("DPoP") != "" {
		return "", &Error{Code: "invalid_dpop_proof", Description: "DPoP is not available yet"}
	}
	return "", nil
}
