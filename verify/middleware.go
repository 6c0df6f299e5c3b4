package verify

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/latchkey/latchkey/ratelimit"
)

// Error codes passed to MiddlewareOptions.OnError.
const (
	CodeInvalidToken       = "invalid_token"           // 401
	CodeInsufficientScope  = "insufficient_scope"      // 403
	CodeRateLimited        = "rate_limited"            // 429
	CodeTemporarilyUnavail = "temporarily_unavailable" // 503
	CodeDPoPProof          = "invalid_dpop_proof"      // 401: a DPoP-bound credential without a valid proof
	CodeDPoPNonce          = "use_dpop_nonce"          // 401: the proof lacks the server's nonce
)

// MiddlewareOptions configure [Middleware].
type MiddlewareOptions struct {
	// Scopes are required of every request.
	Scopes []string
	// OnError writes the body of a refused request; status and code
	// (one of the Code constants) are decided, and the WWW-Authenticate,
	// Retry-After and rate-limit headers already set. Default: a short
	// JSON body {"error": code}.
	OnError func(w http.ResponseWriter, r *http.Request, status int, code string)
	// Now is the clock for rate-limit headers (default time.Now).
	Now func() time.Time
}

// Middleware returns net/http middleware that admits only requests with a
// valid bearer credential granting opts.Scopes, and puts the caller's
// [Identity] in the request context ([FromContext]).
//
// The credential is read from "Authorization: Bearer" only, never from
// the URL, and is never logged or echoed. A missing or invalid credential
// gets 401 with WWW-Authenticate: Bearer error="invalid_token"; a missing
// scope 403 insufficient_scope; an exhausted rate limit 429 with
// Retry-After; a verifier that cannot answer (latchkey or the JWKS
// unreachable) 503. Rate-limit headers are set whenever the verifier
// reported limits.
func Middleware(v Verifier, opts MiddlewareOptions) func(http.Handler) http.Handler {
	if opts.OnError == nil {
		opts.OnError = writeError
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			token, isDPoP, ok := bearer(r)
			if !ok {
				fail(w, r, opts, http.StatusUnauthorized, CodeInvalidToken)
				return
			}
			var id *Identity
			var err error
			if isDPoP {
				// "Authorization: DPoP": the proof goes to the verifier
				// (offline for JWTs, to the server for keys).
				rv, ok := v.(RequestVerifier)
				proof := DPoPOf(r, Origin(r))
				if !ok || proof == nil {
					failDPoP(w, r, opts, CodeInvalidDPoPProof, "")
					return
				}
				id, err = rv.CheckRequest(r.Context(), Request{Token: token, Scopes: opts.Scopes, DPoP: proof})
			} else {
				id, err = v.Check(r.Context(), token, opts.Scopes)
			}
			if err != nil {
				var e *Error
				if errors.As(err, &e) {
					ratelimit.SetHeaders(w.Header(), e.RateLimits, opts.Now())
				}
				switch {
				case e != nil && (e.Code == CodeInvalidDPoPProof || e.Code == CodeUseDPoPNonce):
					failDPoP(w, r, opts, e.Code, e.DPoPNonce)
				case errors.Is(err, ErrRateLimited):
					d := time.Duration(0)
					if e != nil {
						d = e.RetryAfter
					}
					ratelimit.SetRetryAfter(w.Header(), d)
					fail(w, r, opts, http.StatusTooManyRequests, CodeRateLimited)
				case errors.Is(err, ErrInsufficientScope):
					fail(w, r, opts, http.StatusForbidden, CodeInsufficientScope)
				case errors.Is(err, ErrUnavailable):
					fail(w, r, opts, http.StatusServiceUnavailable, CodeTemporarilyUnavail)
				default:
					fail(w, r, opts, http.StatusUnauthorized, CodeInvalidToken)
				}
				return
			}
			ratelimit.SetHeaders(w.Header(), id.RateLimits, opts.Now())
			next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), id)))
		})
	}
}

// bearer returns the credential of an "Authorization: Bearer" header
// (RFC 6750 §2.1; the scheme is case-insensitive) or "Authorization:
// DPoP" (RFC 9449 §7.1; dpop then reports true). Exactly one such header
// is accepted, and no credential longer than MaxTokenSize (JWT-09:
// refused before any verifier splits or decodes it).
func bearer(r *http.Request) (token string, dpop, ok bool) {
	hs := r.Header.Values("Authorization")
	if len(hs) != 1 {
		return "", false, false
	}
	scheme, token, ok := strings.Cut(hs[0], " ")
	if !ok {
		return "", false, false
	}
	switch {
	case strings.EqualFold(scheme, "Bearer"):
	case strings.EqualFold(scheme, "DPoP"):
		dpop = true
	default:
		return "", false, false
	}
	token = strings.TrimLeft(token, " ")
	if token == "" || len(token) > MaxTokenSize || strings.ContainsAny(token, " \t") {
		return "", false, false
	}
	return token, dpop, true
}

// failDPoP refuses a DPoP-bound credential without a valid proof: 401
// with a DPoP challenge (RFC 9449 §7.1) and, for use_dpop_nonce, the
// server's nonce.
func failDPoP(w http.ResponseWriter, r *http.Request, opts MiddlewareOptions, code, nonce string) {
	e := CodeDPoPProof
	if code == CodeUseDPoPNonce {
		e = CodeDPoPNonce
	}
	w.Header().Set("WWW-Authenticate", `DPoP error="`+e+`", algs="EdDSA ES256 ES384 RS256 PS256"`)
	if nonce != "" {
		w.Header().Set("DPoP-Nonce", nonce)
	}
	w.Header().Set("Cache-Control", "no-store")
	opts.OnError(w, r, http.StatusUnauthorized, e)
}

func fail(w http.ResponseWriter, r *http.Request, opts MiddlewareOptions, status int, code string) {
	switch status {
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	case http.StatusForbidden:
		w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope"`)
	}
	w.Header().Set("Cache-Control", "no-store")
	opts.OnError(w, r, status, code)
}

func writeError(w http.ResponseWriter, _ *http.Request, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"error":"` + code + `"}`))
}
