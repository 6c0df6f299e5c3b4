package server

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"

	"github.com/latchkey/latchkey/dpop"
	"github.com/latchkey/latchkey/httpapi"
	"github.com/latchkey/latchkey/oauth"
	"github.com/latchkey/latchkey/scope"
	"github.com/latchkey/latchkey/signer"
	"github.com/latchkey/latchkey/token"
	"github.com/latchkey/latchkey/verify"
)

// localVerifier verifies credentials for a gateway running inside
// latchkey serve: API keys through the Service (no network hop; the
// client's address and the request's signature included), JWTs offline
// against the node's own signing-key ring.
type localVerifier struct {
	svc      *token.Service
	sig      *signer.Manager // nil: JWTs refused
	issuer   string
	audience string
	queries  sync.Map // scope expression text → *scope.Expr (the routes' few)
}

// query returns the parsed scope expression s.
func (v *localVerifier) query(s string) (*scope.Expr, error) {
	if q, ok := v.queries.Load(s); ok {
		return q.(*scope.Expr), nil
	}
	q, err := scope.ParseExpr(s)
	if err != nil {
		return nil, err
	}
	v.queries.Store(s, q)
	return q, nil
}

var _ verify.RequestVerifier = (*localVerifier)(nil)

func (v *localVerifier) Check(ctx context.Context, tok string, scopes []string) (*verify.Identity, error) {
	return v.CheckRequest(ctx, verify.Request{Token: tok, Scopes: scopes})
}

func (v *localVerifier) CheckRequest(ctx context.Context, r verify.Request) (*verify.Identity, error) {
	if verify.IsJWT(r.Token) {
		return v.checkJWT(ctx, r)
	}
	// The gateway's only dry run is its probe ahead of the real check
	// (proxy/admit.go): not a use of its own.
	vr := token.VerifyRequest{Key: r.Token, Keyspace: r.Keyspace, Scopes: r.Scopes, IP: r.IP, DryRun: r.DryRun, Probe: r.DryRun}
	if r.ScopeQuery != "" {
		q, err := v.query(r.ScopeQuery)
		if err != nil {
			return nil, &verify.Error{Kind: verify.ErrInvalidToken, Code: "BAD_SCOPE_QUERY", Err: err}
		}
		vr.Query = q
	}
	if r.HTTP != nil {
		scheme := "http"
		if r.HTTP.TLS != nil {
			scheme = "https"
		}
		vr.Signature = httpapi.SignatureCheck(v.svc, r.HTTP, scheme, r.HTTP.Host)
	}
	if d := r.DPoP; d != nil {
		vr.DPoP = &token.DPoPCheck{Proof: d.Proof, Method: d.Method, URL: d.URL}
	}
	oauthToken := v.audience != "" && strings.HasPrefix(r.Token, oauth.AccessPrefix+"_")
	if oauthToken {
		// An opaque OAuth access token: a key of the oauth keyspace, for
		// this gateway when its audience is the gateway's JWT audience —
		// the same rule as for an at+jwt.
		vr.Keyspace = oauth.AccessKeyspace
	}
	res, err := v.svc.Verify(ctx, vr)
	if err != nil {
		return nil, &verify.Error{Kind: verify.ErrUnavailable, Err: err}
	}
	var aud []string
	if oauthToken && res.Key != nil {
		if aud = oauth.OpaqueAudience(res.Key); !slices.Contains(aud, v.audience) {
			return nil, &verify.Error{Kind: verify.ErrInvalidToken, Code: string(token.CodeNotFound)}
		}
	}
	out := httpapi.VerifyResponse(res)
	id, err := verify.IdentityOf(&out, r.Scopes, v.svc.Now())
	if err == nil && aud != nil {
		// Routes judge it by its audience, as an at+jwt.
		id.Claims = &verify.Claims{Issuer: v.issuer, Subject: id.Subject, Audience: aud, Scopes: id.Scopes,
			ClientID: oauth.OpaqueClientID(res.Key), KeyID: res.Key.ID, IssuedAt: res.Key.CreatedAt, ExpiresAt: res.Key.ExpiresAt}
	}
	return id, err
}

// checkJWT verifies a latchkey access token for the gateway's audience.
func (v *localVerifier) checkJWT(ctx context.Context, r verify.Request) (*verify.Identity, error) {
	if v.sig == nil || v.audience == "" {
		return nil, &verify.Error{Kind: verify.ErrInvalidToken, Code: "JWT_NOT_ACCEPTED"}
	}
	jv := signer.Verifier{Keys: v.sig.Ring(), Issuer: v.issuer, Audience: v.audience, Now: v.svc.Now}
	c, err := jv.Verify(r.Token)
	if err != nil {
		return nil, &verify.Error{Kind: verify.ErrInvalidToken, Code: "INVALID_JWT"}
	}
	// In process the key's current state is at hand: a JWT stops working
	// the moment its key is revoked, disabled or expires, or its owner is
	// disabled — no revocation feed delay.
	// Likewise narrowing: scopes taken from the key or its owner (or, for
	// an OAuth client_credentials token, the app) since the token was
	// issued are not granted by it any more.
	current, live, err := v.svc.JWTScopes(ctx, c.KeyID, c.Subject, c.ClientID, c.Scope)
	if err != nil {
		return nil, &verify.Error{Kind: verify.ErrUnavailable, Err: err}
	}
	if !live {
		return nil, &verify.Error{Kind: verify.ErrInvalidToken, Code: "REVOKED"}
	}
	if c.ConfirmationJKT != "" {
		// A DPoP-bound token (cnf.jkt): only with a proof of its key,
		// never as a bearer token (RFC 9449 §7.1, §7.2).
		if err := v.checkDPoP(ctx, r, c.ConfirmationJKT); err != nil {
			return nil, err
		}
	}
	c.Scope = current
	if !scope.Set(c.Scope).HasAll(r.Scopes) {
		return nil, &verify.Error{Kind: verify.ErrInsufficientScope, Code: "INSUFFICIENT_SCOPE", Err: errors.New("missing scope")}
	}
	return &verify.Identity{KeyID: c.KeyID, Subject: c.Subject, Scopes: c.Scope, Claims: &verify.Claims{
		Issuer: c.Issuer, Subject: c.Subject, Audience: c.Audience, Scopes: c.Scope, ClientID: c.ClientID,
		KeyID: c.KeyID, JTI: c.ID, IssuedAt: c.IssuedAt, NotBefore: c.NotBefore, ExpiresAt: c.Expiry,
	}}, nil
}

// checkDPoP judges the DPoP proof of a token bound to the key with
// thumbprint jkt: it must hash the token in its ath and be fresh (its jti
// is recorded in the store).
func (v *localVerifier) checkDPoP(ctx context.Context, r verify.Request, jkt string) error {
	if r.DPoP == nil {
		return &verify.Error{Kind: verify.ErrInvalidToken, Code: verify.CodeInvalidDPoPProof}
	}
	_, err := v.svc.CheckDPoP(ctx, dpop.Request{Proof: r.DPoP.Proof, Method: r.DPoP.Method, URL: r.DPoP.URL,
		AccessToken: r.Token, JKT: jkt})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, dpop.ErrUseNonce):
		return &verify.Error{Kind: verify.ErrInvalidToken, Code: verify.CodeUseDPoPNonce, DPoPNonce: v.svc.DPoPNonce()}
	case errors.Is(err, dpop.ErrInvalidProof):
		return &verify.Error{Kind: verify.ErrInvalidToken, Code: verify.CodeInvalidDPoPProof, Err: err}
	}
	return &verify.Error{Kind: verify.ErrUnavailable, Err: err}
}
