package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/token"
)

// statusOf is the one mapping from a domain error kind to an HTTP status.
func statusOf(k token.Kind) int {
	switch k {
	case token.Invalid:
		return http.StatusUnprocessableEntity
	case token.NotFound:
		return http.StatusNotFound
	case token.Conflict:
		return http.StatusConflict
	case token.Unauthenticated:
		return http.StatusUnauthorized
	case token.PermissionDenied:
		return http.StatusForbidden
	case token.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// httpError is an error that carries its own status: malformed requests
// that never reach the domain.
type httpError struct {
	status int
	code   string
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(code, msg string) error {
	return &httpError{status: http.StatusBadRequest, code: code, msg: msg}
}

// writeError renders err as an RFC 9457 problem document and logs internal
// causes with the request id. Client-visible text comes only from
// token.Error.Msg or httpError, never from a wrapped cause.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	p := api.Problem{RequestID: requestID(r.Context())}
	var he *httpError
	var te *token.Error
	switch {
	case errors.As(err, &he):
		p.Status, p.Code, p.Detail = he.status, he.code, he.msg
	case errors.As(err, &te):
		p.Status, p.Code, p.Detail = statusOf(te.Kind), te.Code, te.Msg
		if p.Code == "" {
			p.Code = te.Kind.String()
		}
	default:
		p.Status, p.Code, p.Detail = http.StatusInternalServerError, "internal", "internal error"
	}
	if p.Status >= 500 {
		log.Error("request failed", "request_id", p.RequestID, "method", r.Method, "path", redactSecrets(r.URL.Path), "status", p.Status, "err", err)
		if p.Status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "1")
		}
	}
	if p.Status == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="latchkey"`)
	}
	p.Detail = redactSecrets(p.Detail)
	p.Title = http.StatusText(p.Status)
	p.Type = "https://latchkey.dev/problems/" + p.Code
	writeJSONType(w, p.Status, "application/problem+json", p)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	writeJSONType(w, status, "application/json", v)
}

func writeJSONType(w http.ResponseWriter, status int, ctype string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"type":"about:blank","title":"Internal Server Error","status":500,"code":"internal"}`)
		ctype = "application/problem+json"
	}
	h := w.Header()
	if ctype == "application/json" {
		h["Content-Type"] = hdrJSON
	} else {
		h.Set("Content-Type", ctype)
	}
	h["Cache-Control"] = hdrNoStore
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// redactSecrets shortens, in a message about to be sent to a client,
// everything that looks like the random part of a token — a run of at least
// 20 letters and digits mixing upper and lower case — to its
// first 4 characters and "…". Messages quote what the client sent ("key
// %q not found", "unknown field %q"), and a client that puts a key where an
// id, a field name or a duration belongs must not get it echoed into its
// terminal, CI log or proxy log. Key ids, names and codes are lower case or
// short and pass unchanged.
func redactSecrets(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if !isAlnum(s[i]) {
			b.WriteByte(s[i])
			i++
			continue
		}
		j := i
		for j < len(s) && isAlnum(s[j]) {
			j++
		}
		if run := s[i:j]; len(run) >= 20 && mixesCase(run) {
			b.WriteString(run[:4])
			b.WriteString("…")
		} else {
			b.WriteString(run)
		}
		i = j
	}
	return b.String()
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z'
}

// mixesCase reports whether s has both an upper-case and a lower-case
// letter, as random base62 text of 20 characters or more almost always does
// (a 43-character secret lacks one of them with probability about 1e-10).
func mixesCase(s string) bool {
	var upper, lower bool
	for i := 0; i < len(s); i++ {
		c := s[i]
		upper = upper || 'A' <= c && c <= 'Z'
		lower = lower || 'a' <= c && c <= 'z'
	}
	return upper && lower
}
