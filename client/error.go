package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/latchkey/latchkey/api"
)

// Error is the error returned for a response with a status other than 2xx.
// Problem holds the server's problem document; when the body was not one
// (for example a proxy's HTML error page), Problem.Status and Problem.Title
// are filled from the HTTP status and Problem.Code is empty.
type Error struct {
	Status  int
	Problem api.Problem
}

// Error returns a message such as
// `latchkey: 404 key_not_found: key "x" not found`.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "latchkey: %d", e.Status)
	if e.Problem.Code != "" {
		b.WriteString(" " + e.Problem.Code)
	}
	msg := e.Problem.Detail
	if msg == "" {
		msg = e.Problem.Title
	}
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	if msg != "" {
		if e.Problem.Code != "" {
			b.WriteString(":")
		}
		b.WriteString(" " + msg)
	}
	return b.String()
}

// maxMessage bounds the length of a message taken from a response body that
// is not a problem document.
const maxMessage = 200

// newError builds the *Error of a non-2xx response with the given body.
func newError(status int, body []byte) *Error {
	e := &Error{Status: status}
	var p api.Problem
	if json.Unmarshal(body, &p) == nil && (p.Code != "" || p.Title != "" || p.Detail != "") {
		e.Problem = p
	} else {
		e.Problem.Title = http.StatusText(status)
		if text := plainMessage(body); text != "" {
			e.Problem.Detail = text
		}
	}
	e.Problem.Status = status
	return e
}

// plainMessage returns a short single-line excerpt of a non-JSON error body,
// or "" when it does not look like readable text.
func plainMessage(body []byte) string {
	s := strings.TrimSpace(string(body))
	if s == "" || !utf8.ValidString(s) || strings.HasPrefix(s, "<") {
		return ""
	}
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxMessage {
		s = s[:maxMessage]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		s += "…"
	}
	return s
}

// StatusOf returns the HTTP status of err if it is or wraps an [*Error],
// and 0 otherwise.
func StatusOf(err error) int {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Status
	}
	return 0
}

// CodeOf returns the problem code (such as "key_not_found") of err if it is
// or wraps an [*Error], and "" otherwise.
func CodeOf(err error) string {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Problem.Code
	}
	return ""
}

// IsNotFound reports whether err is an [*Error] with status 404.
func IsNotFound(err error) bool { return StatusOf(err) == http.StatusNotFound }

// IsConflict reports whether err is an [*Error] with status 409.
func IsConflict(err error) bool { return StatusOf(err) == http.StatusConflict }

// IsUnauthorized reports whether err is an [*Error] with status 401: the
// credential is missing, unknown, expired or revoked.
func IsUnauthorized(err error) bool { return StatusOf(err) == http.StatusUnauthorized }

// IsForbidden reports whether err is an [*Error] with status 403: the
// credential lacks a scope the call needs.
func IsForbidden(err error) bool { return StatusOf(err) == http.StatusForbidden }
