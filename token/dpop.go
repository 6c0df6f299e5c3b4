package token

import (
	"context"
	"errors"
	"time"

	"github.com/latchkey/latchkey/dpop"
)

// DPoPCheck is the DPoP proof (RFC 9449) that came with a presented
// credential in an "Authorization: DPoP" header, and the request it was
// signed for. A credential sent as a bearer token has none.
type DPoPCheck struct {
	Proof  string // the DPoP header's value
	Method string
	URL    string // the request's absolute URL as the client addressed it
}

// DPoPNonce returns the current DPoP server nonce, for a DPoP-Nonce
// header ("" when the Service has no nonce key).
func (s *Service) DPoPNonce() string { return s.dpop.Nonce() }

// DPoPRequireNonce reports whether the authorization server demands a
// server nonce in every DPoP proof.
func (s *Service) DPoPRequireNonce() bool { return s.dpopRequireNonce }

// CheckDPoP verifies a DPoP proof and records its jti in the store, so
// that a replay is refused by every node. The error wraps
// dpop.ErrInvalidProof or is dpop.ErrUseNonce for a refusal; a store
// failure is Unavailable and refuses the proof too (fail closed).
func (s *Service) CheckDPoP(ctx context.Context, r dpop.Request) (*dpop.Proof, error) {
	p, err := s.dpop.Check(ctx, r)
	if err != nil && !errors.Is(err, dpop.ErrInvalidProof) && !errors.Is(err, dpop.ErrUseNonce) {
		var te *Error
		if errors.As(err, &te) {
			return nil, err
		}
		return nil, Unavailablef(err, "dpop: check the proof")
	}
	return p, err
}

// useDPoPJTI is the replay store of DPoP proofs: the nonce table, under
// the proof key's thumbprint.
func (s *Service) useDPoPJTI(ctx context.Context, jkt, id string, expires time.Time) (bool, error) {
	return s.UseNonce(ctx, "dpop:"+jkt, id, expires)
}

// checkKeyDPoP judges the DPoP proof that came with key k, which is
// bound to a DPoP key: CodeValid, CodeInvalidDPoPProof or
// CodeUseDPoPNonce. The proof must hash the presented key in its ath.
func (s *Service) checkKeyDPoP(ctx context.Context, k *Key, presented string, c *DPoPCheck) (Code, error) {
	if c == nil || c.Proof == "" {
		return CodeInvalidDPoPProof, nil
	}
	_, err := s.CheckDPoP(ctx, dpop.Request{Proof: c.Proof, Method: c.Method, URL: c.URL, AccessToken: presented, JKT: k.DPoPJKT})
	switch {
	case err == nil:
		return CodeValid, nil
	case errors.Is(err, dpop.ErrUseNonce):
		return CodeUseDPoPNonce, nil
	case errors.Is(err, dpop.ErrInvalidProof):
		return CodeInvalidDPoPProof, nil
	}
	return "", err
}
