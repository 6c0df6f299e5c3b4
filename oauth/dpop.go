package oauth

import (
	"errors"
	"net/http"

	"github.com/latchkey/latchkey/dpop"
)

// tokenDPoP checks the DPoP proof of a request to the token endpoint (RFC
// 9449 §5) and returns the thumbprint of its key ("" when the request has
// no DPoP header and client c does not require one). The proof's jti is
// recorded in the store, so a replay fails on every node; a server nonce
// is demanded when the server is configured so (use_dpop_nonce, with a
// fresh one in the DPoP-Nonce header), and checked whenever the proof
// carries one.
func (s *Service) tokenDPoP(w http.ResponseWriter, r *http.Request, c *Client) (string, error) {
	proofs := r.Header.Values("DPoP")
	switch {
	case len(proofs) > 1:
		return "", &Error{Code: "invalid_dpop_proof", Description: "one DPoP header expected"}
	case len(proofs) == 0 && c != nil && c.Settings.DPoPBoundAccessTokens:
		return "", s.dpopRefusal(w, &Error{Code: "invalid_dpop_proof", Description: "DPoP proof required"})
	case len(proofs) == 0:
		return "", nil
	}
	p, err := s.tokens.CheckDPoP(r.Context(), dpop.Request{
		Proof: proofs[0], Method: http.MethodPost, URL: s.issuer + "/oauth2/token",
		Nonce: s.tokens.DPoPRequireNonce(),
	})
	switch {
	case errors.Is(err, dpop.ErrUseNonce):
		return "", s.dpopRefusal(w, &Error{Code: "use_dpop_nonce", Description: "the DPoP proof must carry the server's nonce (DPoP-Nonce)"})
	case errors.Is(err, dpop.ErrInvalidProof):
		return "", &Error{Code: "invalid_dpop_proof", Description: err.Error()}
	case err != nil:
		s.log.Warn("dpop: the proof could not be checked", "err", err)
		return "", &Error{Code: "temporarily_unavailable", Description: "the DPoP proof cannot be checked now"}
	}
	if n := s.tokens.DPoPNonce(); n != "" {
		w.Header().Set("DPoP-Nonce", n) // the nonce for the client's next proof (§8.2)
	}
	return p.JKT, nil
}

// dpopRefusal adds a fresh server nonce to a refusal, when the server
// has nonces: the client's next proof can carry it at once.
func (s *Service) dpopRefusal(w http.ResponseWriter, e *Error) error {
	if n := s.tokens.DPoPNonce(); n != "" {
		w.Header().Set("DPoP-Nonce", n)
	}
	return e
}
