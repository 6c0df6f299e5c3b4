package proxy

import (
	"net/http"
	"strings"
)

// credential returns the credential the request presents: the token of
// its one "Authorization: Bearer" header or, where apiKey allows it, of
// its one X-API-Key header (fromAPIKey then reports true). Presenting
// none, both, several or a malformed one is refused.
func credential(r *http.Request, apiKey bool) (tok string, fromAPIKey bool, f *refusal) {
	tok, f = credentialOf(r, apiKey)
	return tok, f == nil && r.Header.Get("Authorization") == "", f
}

func credentialOf(r *http.Request, apiKey bool) (string, *refusal) {
	auth := r.Header.Values("Authorization")
	var keys []string
	if apiKey {
		keys = r.Header.Values("X-Api-Key")
	}
	switch {
	case len(auth) == 0 && len(keys) == 0:
		return "", &errNoCredential
	case len(auth) > 0 && len(keys) > 0, len(auth) > 1, len(keys) > 1:
		return "", &errMalformed
	case len(auth) == 1:
		tok, ok := bearer(auth[0])
		if !ok {
			return "", &errMalformed
		}
		return tok, nil
	}
	tok := strings.Trim(keys[0], " \t")
	if !validToken(tok) {
		return "", &errMalformed
	}
	return tok, nil
}

// bearer returns the token of an Authorization header value of the
// "Bearer" scheme (RFC 6750 §2.1; the scheme is case-insensitive), as
// verify.Middleware reads it.
func bearer(v string) (string, bool) {
	scheme, tok, ok := strings.Cut(v, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimLeft(tok, " ")
	return tok, validToken(tok)
}

// validToken reports whether tok is non-empty and has no whitespace.
func validToken(tok string) bool {
	return tok != "" && !strings.ContainsAny(tok, " \t")
}
