package proxy

import (
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"

	"github.com/latchkey/latchkey/httpsig"
	"github.com/latchkey/latchkey/ratelimit"
	"github.com/latchkey/latchkey/scope"
	"github.com/latchkey/latchkey/verify"
)

// Verification codes of opaque keys (package token) that the gateway
// answers differently from a plain invalid credential.
const (
	verifyCodeForbiddenIP   = "FORBIDDEN_IP"
	verifyCodeUsageExceeded = "USAGE_EXCEEDED"
	verifyCodeInvalidSig    = "INVALID_SIGNATURE"
)

// admit decides whether the request may go to the upstream on its route
// x.route, filling in x, and returns the refusal if not.
func (g *gateway) admit(r *http.Request, x *exchange) *refusal {
	rt := x.route
	if !allowedIP(rt.ipAllow, x.clientIP) {
		return &errIP
	}
	if rt.anonymous {
		return g.limit(r, x, "ip:"+x.clientIP)
	}
	tok, fromAPIKey, isDPoP, f := credential(r, rt.apiKey)
	if f != nil {
		return f
	}
	// The route's keyspace and scope expression go to the verifier, so
	// that a key they refuse is refused before it spends credits or rate
	// limits; they are checked again below for verifiers that ignore them
	// (and for JWTs).
	vr := verify.Request{Token: tok, Scopes: rt.scopes, IP: x.clientIP, HTTP: r, Keyspace: rt.keyspace, ScopeQuery: rt.exprText}
	if isDPoP {
		// The proof's htu is the URL the client addressed: the gateway's
		// origin and the request's path (RFC 9449 §4.3, query ignored).
		if vr.DPoP = verify.DPoPOf(r, verify.Origin(r)); vr.DPoP == nil {
			return &errDPoPProof
		}
	}
	if fromAPIKey {
		if f := g.checkAPIKeyHeader(r, x, &vr); f != nil {
			return f
		}
	}
	id, err := g.check(r, vr)
	if err != nil {
		return g.refusalOf(r, x, err)
	}
	if id == nil {
		return &errInvalid
	}
	if fromAPIKey && id.Claims != nil {
		return &errInvalid // JWTs travel as bearer tokens only
	}
	if r.Header.Get("Signature-Input") != "" && r.Header.Get("Content-Digest") != "" {
		// The signature covered Content-Digest; the body must match it.
		// The check holds back the body's last byte until the digest is
		// confirmed, so a tampered body never reaches the upstream whole.
		bc, err := httpsig.NewBodyCheck(r.Header.Get("Content-Digest"))
		if err != nil {
			return &errInvalid
		}
		r.Body = bc.Wrap(r.Body)
	}
	x.id = id
	// A copy: the verifier may share id between requests.
	x.limits = append([]ratelimit.Status(nil), id.RateLimits...)
	if rt.expr != nil && !rt.expr.Eval(scope.Set(id.Scopes)) {
		return &errScope
	}
	if rt.keyspace != "" {
		// An API key must belong to the keyspace; a JWT must be meant
		// for it (its aud, which is the keyspace unless the exchange
		// asked for another of the keyspace's audiences). Either is
		// unknown here otherwise, as the verify API answers NOT_FOUND.
		if id.Claims == nil && id.Keyspace != rt.keyspace ||
			id.Claims != nil && !slices.Contains(id.Claims.Audience, rt.keyspace) {
			return &errInvalid
		}
	}
	return g.limit(r, x, subjectOf(id, x.clientIP))
}

// check verifies vr with the gateway's verifier.
func (g *gateway) check(r *http.Request, vr verify.Request) (*verify.Identity, error) {
	if rv, ok := g.verifier.(verify.RequestVerifier); ok {
		return rv.CheckRequest(r.Context(), vr)
	}
	return g.verifier.Check(r.Context(), vr.Token, vr.Scopes)
}

// checkAPIKeyHeader decides, before anything is spent, whether the key
// sent as X-API-Key may be: the route allows it (checked by credential),
// and so must the key's keyspace (SPEC §2). On a route of one keyspace
// that keyspace is asked; on a route of every keyspace a dry run (no
// credits, no rate limits, no signature nonce used) names the key's
// keyspace, which then pins vr.
func (g *gateway) checkAPIKeyHeader(r *http.Request, x *exchange, vr *verify.Request) *refusal {
	if verify.IsJWT(vr.Token) {
		return &errInvalid // JWTs travel as bearer tokens only
	}
	if g.apiKeyAllowed == nil {
		return nil
	}
	ks := vr.Keyspace
	if ks == "" {
		dry := *vr
		dry.DryRun, dry.HTTP, dry.DPoP = true, nil, nil
		id, err := g.check(r, dry)
		var e *verify.Error
		switch {
		case err == nil && id != nil:
			ks = id.Keyspace
		case errors.As(err, &e) && e.Keyspace != "":
			ks = e.Keyspace
			if e.Code != verifyCodeInvalidSig {
				// Refused anyway, and nothing was spent; the unsigned dry
				// run cannot judge a signature, the real check will.
				if f := g.apiKeyHeaderRefusal(r, ks); f != nil {
					return f
				}
				return g.refusalOf(r, x, err)
			}
		case err != nil:
			return g.refusalOf(r, x, err)
		default:
			return &errInvalid
		}
		vr.Keyspace = ks
	}
	return g.apiKeyHeaderRefusal(r, ks)
}

// apiKeyHeaderRefusal asks whether keys of keyspace ks may be sent as
// X-API-Key and returns the refusal if not.
func (g *gateway) apiKeyHeaderRefusal(r *http.Request, ks string) *refusal {
	ok, err := g.apiKeyAllowed(r.Context(), ks)
	if err != nil {
		g.log.LogAttrs(r.Context(), slog.LevelWarn, "proxy: keyspace lookup failed", slog.String("err", err.Error()))
		return &errUnavailable
	}
	if !ok {
		return &errAPIKeyHeader
	}
	return nil
}

// refusalOf maps a failed check to its refusal; the rate-limit state the
// verifier reported goes into x.
func (g *gateway) refusalOf(r *http.Request, x *exchange, err error) *refusal {
	var e *verify.Error
	if errors.As(err, &e) {
		x.limits = append([]ratelimit.Status(nil), e.RateLimits...)
		x.retryAfter = e.RetryAfter
	}
	switch {
	case e != nil && e.Code == verify.CodeInvalidDPoPProof:
		return &errDPoPProof
	case e != nil && e.Code == verify.CodeUseDPoPNonce:
		return &refusal{http.StatusUnauthorized, CodeUseDPoPNonce, errUseDPoPNonce.detail, e.DPoPNonce}
	case e != nil && e.Code == verifyCodeForbiddenIP:
		return &errIP
	case e != nil && e.Code == verifyCodeUsageExceeded:
		return &errUsage
	case errors.Is(err, verify.ErrRateLimited):
		return &errRateLimited
	case errors.Is(err, verify.ErrInsufficientScope):
		return &errScope
	case errors.Is(err, verify.ErrUnavailable):
		g.log.LogAttrs(r.Context(), slog.LevelWarn, "proxy: verification unavailable",
			slog.String("path", r.URL.Path), slog.String("err", err.Error()))
		return &errUnavailable
	}
	return &errInvalid
}

// subjectOf names the budget owner of a verified request for route rate
// limits: its key id, else its principal, else (a credential that names
// neither) the client address.
func subjectOf(id *verify.Identity, clientIP string) string {
	switch {
	case id.KeyID != "":
		return "key:" + id.KeyID
	case id.Subject != "":
		return "sub:" + id.Subject
	}
	return "ip:" + clientIP
}

// limit takes one request from each rate limit of x.route for subject,
// in order, and refuses at the first exhausted one (those before it have
// been charged). The state of each checked limit goes into x.
func (g *gateway) limit(r *http.Request, x *exchange, subject string) *refusal {
	rt := x.route
	if len(rt.limits) == 0 {
		return nil
	}
	now := g.now()
	prefix := "proxy:" + strconv.Itoa(rt.index) + ":"
	for _, l := range rt.limits {
		res, err := g.limiter.Allow(r.Context(), prefix+l.Name+":"+subject, l, 1, now)
		if err != nil {
			g.log.LogAttrs(r.Context(), slog.LevelWarn, "proxy: rate limiter failed",
				slog.String("path", r.URL.Path), slog.String("err", err.Error()))
			return &errUnavailable
		}
		x.limits = append(x.limits, ratelimit.StatusOf(res))
		if !res.Allowed {
			x.retryAfter = max(x.retryAfter, res.RetryAfter)
			return &errRateLimited
		}
	}
	return nil
}
