package proxy

import (
	"encoding/json"
	"net/http"

	"github.com/latchkey/latchkey/api"
)

// Codes of the problem documents the gateway answers with when it refuses
// a request or cannot forward it. They are stable.
const (
	CodeNoRoute            = "no_route"                   // 404: no route matches the method and path
	CodeBodyTooLarge       = "body_too_large"             // 413: the request body exceeds the route's max_body
	CodeBodyTimeout        = "body_timeout"               // 408: the request body arrived too slowly
	CodeInvalidPath        = "invalid_path"               // 400: "." or ".." segments, a segment ending in "." or a space, "//" or "\"
	CodeInvalidMethod      = "invalid_method"             // 400: a method that is not upper-case letters
	CodeInvalidToken       = "invalid_token"              // 401: missing, malformed, unknown, expired or revoked
	CodeInsufficientScope  = "insufficient_scope"         // 403: the credential lacks a scope
	CodeForbidden          = "forbidden"                  // 403: client IP not allowed
	CodeAPIKeyHeader       = "api_key_header_not_allowed" // 401: the key's keyspace does not allow X-API-Key
	CodeRateLimited        = "rate_limited"               // 429: a rate limit is exhausted
	CodeUsageExceeded      = "usage_exceeded"             // 429: the key's usage credits are spent
	CodeInvalidDPoPProof   = "invalid_dpop_proof"         // 401: a DPoP-bound credential without a valid proof of its key (or sent as a bearer token)
	CodeUseDPoPNonce       = "use_dpop_nonce"             // 401: the DPoP proof lacks the server's nonce (a fresh one in DPoP-Nonce)
	CodeTemporarilyUnavail = "temporarily_unavailable"    // 503: the credential could not be checked
	CodeBadGateway         = "bad_gateway"                // 502: the upstream failed
	CodeGatewayTimeout     = "gateway_timeout"            // 504: the upstream did not answer in time
)

// problemTypeBase is the prefix of the problem type URIs, as in the /v1 API.
const problemTypeBase = "https://latchkey.dev/problems/"

// refusal is a response the gateway writes itself.
type refusal struct {
	status int
	code   string
	detail string
	nonce  string // a DPoP-Nonce for the client's next proof, with use_dpop_nonce
}

var (
	errNoRoute       = refusal{http.StatusNotFound, CodeNoRoute, "no route of the gateway matches this method and path", ""}
	errInvalidPath   = refusal{http.StatusBadRequest, CodeInvalidPath, "the path has empty, \".\" or \"..\" segments, a segment ending in \".\" or white space, or a backslash", ""}
	errInvalidMethod = refusal{http.StatusBadRequest, CodeInvalidMethod, "the method must be written in upper-case letters (GET, POST, DELETE, …)", ""}
	errBodyTooLarge  = refusal{http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "the request body is larger than this route accepts", ""}
	errSlowBody      = refusal{http.StatusRequestTimeout, CodeBodyTimeout, "the request body arrived too slowly", ""}
	errNoCredential  = refusal{http.StatusUnauthorized, CodeInvalidToken, "a bearer credential is required", ""}
	errMalformed     = refusal{http.StatusUnauthorized, CodeInvalidToken, "the credential is malformed or sent more than once", ""}
	errInvalid       = refusal{http.StatusUnauthorized, CodeInvalidToken, "the credential is not valid", ""}
	errScope         = refusal{http.StatusForbidden, CodeInsufficientScope, "the credential lacks a scope this route requires", ""}
	errIP            = refusal{http.StatusForbidden, CodeForbidden, "requests from this address are not allowed", ""}
	errAPIKeyHeader  = refusal{http.StatusUnauthorized, CodeAPIKeyHeader, "keys of this keyspace may not be sent as X-API-Key: send the key as \"Authorization: Bearer <key>\", or allow the header for its keyspace (latchkey keyspaces update NAME --allow-api-key-header)", ""}
	errRateLimited   = refusal{http.StatusTooManyRequests, CodeRateLimited, "rate limit exceeded", ""}
	errUsage         = refusal{http.StatusTooManyRequests, CodeUsageExceeded, "the key's usage credits are exhausted", ""}
	errDPoPProof     = refusal{status: http.StatusUnauthorized, code: CodeInvalidDPoPProof, detail: "the credential is bound to a DPoP key: send it as \"Authorization: DPoP <token>\" with a valid DPoP proof of that key"}
	errUseDPoPNonce  = refusal{status: http.StatusUnauthorized, code: CodeUseDPoPNonce, detail: "the DPoP proof must carry the server's nonce, given in the DPoP-Nonce header"}
	errUnavailable   = refusal{http.StatusServiceUnavailable, CodeTemporarilyUnavail, "the credential could not be checked; try again", ""}
	errBadGateway    = refusal{http.StatusBadGateway, CodeBadGateway, "the upstream service could not be reached or failed", ""}
	errTimeout       = refusal{http.StatusGatewayTimeout, CodeGatewayTimeout, "the upstream service did not answer in time", ""}
)

// write sends f as an RFC 9457 problem document, never cached. The
// WWW-Authenticate challenge of RFC 6750 §3 goes with 401 and with a
// missing scope.
func (f refusal) write(w http.ResponseWriter) {
	h := w.Header()
	switch f.code {
	case CodeInvalidToken, CodeAPIKeyHeader:
		h.Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	case CodeInsufficientScope:
		h.Set("WWW-Authenticate", `Bearer error="insufficient_scope"`)
	case CodeInvalidDPoPProof, CodeUseDPoPNonce:
		h.Set("WWW-Authenticate", `DPoP error="`+f.code+`", algs="EdDSA ES256 ES384 RS256 PS256"`)
		if f.nonce != "" {
			h.Set("DPoP-Nonce", f.nonce)
		}
	}
	b, err := json.Marshal(api.Problem{
		Type:   problemTypeBase + f.code,
		Title:  http.StatusText(f.status),
		Status: f.status,
		Detail: f.detail,
		Code:   f.code,
	})
	if err != nil { // cannot happen: only strings and an int
		b = []byte(`{"type":"about:blank","status":500,"code":"internal"}`)
	}
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Length")
	w.WriteHeader(f.status)
	_, _ = w.Write(append(b, '\n'))
}
