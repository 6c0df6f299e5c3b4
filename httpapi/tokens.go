package httpapi

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/internal/jsonenc"
	"github.com/latchkey/latchkey/ratelimit"
	"github.com/latchkey/latchkey/scope"
	"github.com/latchkey/latchkey/signer"
	"github.com/latchkey/latchkey/token"
)

// DefaultTokenTTL is the lifetime of an exchanged JWT when the request
// names none.
const DefaultTokenTTL = 5 * time.Minute

// createToken answers POST /v1/tokens: the API key in "Authorization:
// Bearer" is verified like POST /v1/keys/verify would (state, owner,
// scopes) and exchanged for a JWT carrying its effective scopes, or the
// requested subset of them. Keys whose bounds a bearer JWT would escape
// (signatures, IP allowlists, credits, rate limits) are refused.
func (h *Handler) createToken(w http.ResponseWriter, r *http.Request) error {
	if h.signer == nil {
		return &httpError{status: http.StatusNotFound, code: "no_route", msg: "JWT issuing is not configured"}
	}
	ip := h.clientIP(r) // unknown keys are throttled per address in tokenRefusal
	secret, ok := bearer(r)
	if !ok {
		return invalidToken(w, "missing_credential", "send the API key as \"Authorization: Bearer <key>\"")
	}
	var req api.TokenRequest
	if err := decodeTokenRequest(r, &req); err != nil {
		return err
	}
	requested := strings.Fields(req.Scope)
	if err := scope.ValidateAll(requested); err != nil {
		return badRequest("invalid_scope", "scope: "+err.Error())
	}
	ttl := DefaultTokenTTL
	if h.tokenTTL > 0 {
		ttl = h.tokenTTL
	}
	if req.ExpiresIn != 0 {
		if req.ExpiresIn < 1 || int64(req.ExpiresIn) > int64(signer.MaxTokenTTL/time.Second) {
			return badRequest("bad_expires_in", "expires_in must be between 1 and 3600 seconds")
		}
		ttl = time.Duration(req.ExpiresIn) * time.Second
	}
	// One verification, a dry run: a key whose constraints a bearer JWT
	// would drop is refused before anything is spent, and a key that may
	// be exchanged has nothing to spend (no credits, no rate limits), so
	// for it the dry run is the verification — it is counted once.
	vr := token.VerifyRequest{Key: secret, Scopes: requested, IP: ip, DryRun: true}
	res, err := h.svc.Verify(r.Context(), vr)
	if err != nil {
		return err
	}
	if k := res.Key; k != nil && res.Code != token.CodeNotFound {
		// A JWT is presented by anyone from anywhere, as often as they
		// like, and checked offline: it cannot carry a signing
		// requirement, an IP allowlist (KEY-06: a derived token must not
		// escape the key's CIDRs), credits or rate limits (the key's own,
		// its keyspace's defaults, which keys take at creation, or its
		// owner's shared ones — those the dry run reports).
		switch {
		case k.SigningSecret != nil || len(k.IPAllow) > 0 || k.DPoPJKT != "":
			return &httpError{status: http.StatusBadRequest, code: "key_not_exchangeable",
				msg: "keys that sign their requests or are bound to IP addresses or to a DPoP key cannot be exchanged for JWTs"}
		case k.Remaining != nil || len(k.RateLimits) > 0 || len(res.RateLimits) > 0:
			return &httpError{status: http.StatusBadRequest, code: "key_not_exchangeable",
				msg: "keys with credits or rate limits (their own, their keyspace's or their owner's) cannot be exchanged for JWTs"}
		}
	}
	if err := h.tokenRefusal(w, r, res, ip); err != nil {
		return err
	}
	k := res.Key
	aud := k.Keyspace
	if req.Audience != "" && req.Audience != aud {
		allowed, err := h.svc.KeyspaceAudiences(r.Context(), k.Keyspace)
		if err != nil {
			return err
		}
		if !slices.Contains(allowed, req.Audience) {
			return badRequest("invalid_target", "the key's keyspace does not allow this audience")
		}
		aud = req.Audience
	}
	now := h.svc.Now()
	exp := now.Add(ttl).Truncate(time.Second)
	if !k.ExpiresAt.IsZero() && k.ExpiresAt.Before(exp) {
		exp = k.ExpiresAt.Truncate(time.Second) // never outlive the key
	}
	if !exp.After(now) {
		return invalidToken(w, "invalid_token", "the API key expires within a second")
	}
	scopes := res.Scopes
	if len(requested) > 0 {
		scopes = requested
	}
	sub := k.ID
	if k.Owner != nil {
		sub = string(k.Owner.Type) + ":" + k.Owner.ID
	}
	jwt, err := signer.Issue(h.signer.Ring(), signer.AccessClaims{
		Issuer: h.issuer, Subject: sub, Audience: []string{aud}, Expiry: exp,
		Scope: scopes, ClientID: k.ID, KeyID: k.ID,
	}, now)
	if err != nil {
		return token.Unavailablef(err, "no signing key is available")
	}
	h.metrics.tokensIssued.Inc()
	writeTokenResponse(w, &api.TokenResponse{
		AccessToken: jwt, TokenType: "Bearer",
		ExpiresIn: int64(exp.Sub(now).Round(time.Second) / time.Second),
		Scope:     strings.Join(scopes, " "),
	})
	return nil
}

// writeTokenResponse answers 201 with t, written without reflection as
// encoding/json would write it (TestAppendTokenResponseMatchesEncodingJSON).
func writeTokenResponse(w http.ResponseWriter, t *api.TokenResponse) {
	bp := bufPool.Get().(*[]byte)
	b := append(appendTokenResponse((*bp)[:0], t), '\n')
	hdr := w.Header()
	hdr["Content-Type"] = hdrJSON
	hdr["Cache-Control"] = hdrNoStore
	w.WriteHeader(http.StatusCreated)
	w.Write(b)
	*bp = b
	bufPool.Put(bp)
}

func appendTokenResponse(b []byte, t *api.TokenResponse) []byte {
	b = append(b, `{"access_token":`...)
	b = jsonenc.AppendString(b, t.AccessToken)
	b = append(b, `,"token_type":`...)
	b = jsonenc.AppendString(b, t.TokenType)
	b = append(b, `,"expires_in":`...)
	b = strconv.AppendInt(b, t.ExpiresIn, 10)
	if t.Scope != "" {
		b = append(b, `,"scope":`...)
		b = jsonenc.AppendString(b, t.Scope)
	}
	return append(b, '}')
}

// tokenRefusal maps a verification that is not VALID to the exchange's
// refusal (nil for VALID).
func (h *Handler) tokenRefusal(w http.ResponseWriter, r *http.Request, res *token.VerifyResult, ip string) error {
	h.metrics.verified(res.Code)
	if len(res.RateLimits) > 0 {
		ratelimit.SetHeaders(w.Header(), statuses(res.RateLimits), h.svc.Now())
	}
	switch res.Code {
	case token.CodeValid:
		return nil
	case token.CodeNotFound:
		if throttled, retry := h.guard.fail(r.Context(), "verify", h.guard.verify, ip); throttled {
			return tooManyFailures(w, retry)
		}
		return invalidToken(w, "invalid_token", "the API key is not valid")
	case token.CodeInsufficientScope:
		return badRequest("invalid_scope", "the key does not grant every requested scope")
	case token.CodeForbiddenIP:
		return &httpError{status: http.StatusForbidden, code: "forbidden_ip", msg: "this key may not be used from this address"}
	case token.CodeRateLimited:
		var retry time.Duration
		if n := len(res.RateLimits); n > 0 {
			retry = res.RateLimits[n-1].RetryAfter
		}
		ratelimit.SetRetryAfter(w.Header(), retry)
		return &httpError{status: http.StatusTooManyRequests, code: "rate_limited", msg: "rate limit exceeded"}
	case token.CodeUsageExceeded:
		return &httpError{status: http.StatusTooManyRequests, code: "usage_exceeded", msg: "the key has no credits left"}
	}
	return invalidToken(w, "invalid_token", "the API key is not valid")
}

// invalidToken is 401 with an RFC 6750 challenge naming the error.
func invalidToken(w http.ResponseWriter, code, msg string) error {
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	return &httpError{status: http.StatusUnauthorized, code: code, msg: msg}
}

func statuses(rs []ratelimit.Result) []ratelimit.Status {
	out := make([]ratelimit.Status, len(rs))
	for i, r := range rs {
		out[i] = ratelimit.StatusOf(r)
	}
	return out
}
