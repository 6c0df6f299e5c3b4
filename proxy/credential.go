package proxy

import (
	"net/http"
	"strings"
)

// credential returns the credential the request presents: the token of
// its one "Authorization: Bearer" or "Authorization: DPoP" header (dpop
// then reports true: RFC 9449 §7.1) or, where apiKey allows it, of its one
// X-API-Key header (fromAPIKey then reports true). Presenting none, both,
// several or a malformed one is refused.
func credential(r *http.Request, apiKey bool) (tok string, fromAPIKey, dpop bool, f *refusal) {
	tok, dpop, f = credentialOf(r, apiKey)
	return tok, f == nil && r.Header.Get("Authorization") == "", dpop, f
}

func credentialOf(r *http.Request, apiKey bool) (string, bool, *refusal) {
	auth := r.Header.Values("Authorization")
	var keys []string
	if apiKey {
		keys = r.Header.Values("X-Api-Key")
	}
	switch {
	case len(auth) == 0 && len(keys) == 0:
		return "", false, &errNoCredential
	case len(auth) > 0 && len(keys) > 0, len(auth) > 1, len(keys) > 1:
		return "", false, &errMalformed
	case len(auth) == 1:
		tok, dpop, ok := bearer(auth[0])
		if !ok {
			return "", false, &errMalformed
		}
		return tok, dpop, nil
	}
	tok := strings.Trim(keys[0], " \t")
	if !validToken(tok) {
		return "", false, &errMalformed
	}
	return tok, false, nil
}

// bearer returns the token of an Authorization header value of the
// "Bearer" scheme (RFC 6750 §2.1; the scheme is case-insensitive), as
// verify.Middleware reads it, or of the "DPoP" scheme (RFC 9449 §7.1;
// dpop then reports true).
func bearer(v string) (tok string, dpop, ok bool) {
	scheme, tok, ok := strings.Cut(v, " ")
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
	tok = strings.TrimLeft(tok, " ")
	return tok, dpop, validToken(tok)
}

// validToken reports whether tok is non-empty and has no whitespace.
func validToken(tok string) bool {
	return tok != "" && !strings.ContainsAny(tok, " \t")
}
