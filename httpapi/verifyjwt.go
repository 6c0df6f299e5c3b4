package httpapi

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/dpop"
	"github.com/latchkey/latchkey/scope"
	"github.com/latchkey/latchkey/signer"
	"github.com/latchkey/latchkey/token"
)

// verifyJWT is POST /v1/keys/verify for a latchkey JWT — an exchanged
// token or an OAuth access token — beside API keys, with the same codes:
// signed by the ring, for the request's keyspace (its name or one of its
// audiences) when it names one, still live (its key, grant, subject and
// client: REVOKED otherwise), with a proof of its DPoP key when it is
// bound, and holding the scopes asked for as they are now.
func (h *Handler) verifyJWT(ctx context.Context, req *api.VerifyRequest, vr token.VerifyRequest) (api.VerifyResponse, error) {
	notFound := api.VerifyResponse{Code: string(token.CodeNotFound)}
	auds := signer.PeekAudiences(req.Key)
	if req.Keyspace != "" {
		allowed, err := h.svc.KeyspaceAudiences(ctx, req.Keyspace)
		if token.KindOf(err) == token.NotFound {
			return notFound, nil
		}
		if err != nil {
			return api.VerifyResponse{}, err
		}
		auds = slices.DeleteFunc(auds, func(a string) bool { return a != req.Keyspace && !slices.Contains(allowed, a) })
	}
	var claims *signer.AccessClaims
	for _, aud := range auds {
		v := signer.Verifier{Keys: h.signer.Ring(), Issuer: h.issuer, Audience: aud, Now: h.svc.Now}
		c, err := v.Verify(req.Key)
		if errors.Is(err, signer.ErrExpired) {
			return api.VerifyResponse{Code: string(token.CodeExpired)}, nil
		}
		if err == nil {
			claims = c
			break
		}
	}
	if claims == nil {
		return notFound, nil
	}
	current, live, err := h.svc.JWTScopes(ctx, claims.KeyID, claims.Subject, claims.ClientID, claims.Scope)
	if err != nil {
		return api.VerifyResponse{}, err
	}
	out := api.VerifyResponse{Code: string(token.CodeRevoked), KeyID: claims.KeyID, Keyspace: req.Keyspace,
		Scopes: nonNil(current), ExpiresAt: timePtr(claims.Expiry)}
	if typ, id, ok := strings.Cut(claims.Subject, ":"); ok {
		out.Owner = &api.Owner{Type: typ, ID: id}
	}
	if !live {
		out.Scopes = nil
		return out, nil
	}
	if claims.ConfirmationJKT != "" {
		if vr.DPoP == nil {
			out.Code = string(token.CodeInvalidDPoPProof)
			return out, nil
		}
		_, err := h.svc.CheckDPoP(ctx, dpop.Request{Proof: vr.DPoP.Proof, Method: vr.DPoP.Method, URL: vr.DPoP.URL,
			AccessToken: req.Key, JKT: claims.ConfirmationJKT})
		switch {
		case errors.Is(err, dpop.ErrUseNonce):
			out.Code, out.DPoPNonce = string(token.CodeUseDPoPNonce), h.svc.DPoPNonce()
			return out, nil
		case errors.Is(err, dpop.ErrInvalidProof):
			out.Code = string(token.CodeInvalidDPoPProof)
			return out, nil
		case err != nil:
			return api.VerifyResponse{}, err
		}
	}
	granted := scope.Set(current)
	if !granted.HasAll(vr.Scopes) || (vr.Query != nil && !vr.Query.Eval(granted)) {
		out.Code = string(token.CodeInsufficientScope)
		return out, nil
	}
	out.Valid, out.Code = true, string(token.CodeValid)
	return out, nil
}
