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
	tok, fromAPIKey, f := credential(r, rt.apiKey)
	if f != nil {
		return f
	}
	var id *verify.Identity
	var err error
	if rv, ok := g.verifier.(verify.RequestVerifier); ok {
		id, err = rv.CheckRequest(r.Context(), verify.Request{Token: tok, Scopes: rt.scopes, IP: x.clientIP, HTTP: r})
	} else {
		id, err = g.verifier.Check(r.Context(), tok, rt.scopes)
	}
	if err != nil {
		return g.refusalOf(r, x, err)
	}
	if id == nil {
		return &errInvalid
	}
	if fromAPIKey {
		// X-API-Key needs the route's consent (checked) and the key's
		// keyspace's (SPEC §2); JWTs travel as bearer tokens only.
		if id.Claims != nil {
			return &errInvalid
		}
		if g.apiKeyAllowed != nil {
			ok, err := g.apiKeyAllowed(r.Context(), id.Keyspace)
			if err != nil {
				g.log.LogAttrs(r.Context(), slog.LevelWarn, "proxy: keyspace lookup failed", slog.String("err", err.Error()))
				return &errUnavailable
			}
			if !ok {
				return &errInvalid
			}
		}
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
		// asked for another of the keyspace's audiences).
		if id.Claims == nil && id.Keyspace != rt.keyspace ||
			id.Claims != nil && !slices.Contains(id.Claims.Audience, rt.keyspace) {
			return &errKeyspace
		}
	}
	return g.limit(r, x, subjectOf(id, x.clientIP))
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
