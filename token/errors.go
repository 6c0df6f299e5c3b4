package token

import (
	"errors"
	"fmt"
)

// Kind classifies an error so that each transport can map it to its own
// status code in exactly one place.
type Kind int

// The error kinds of the domain.
const (
	Internal         Kind = iota // a bug or an unexpected failure; details stay internal
	Invalid                      // the request is malformed or violates a rule
	NotFound                     // no such object, or the caller may not know it exists
	Conflict                     // the object already exists or changed concurrently
	Unauthenticated              // no or a bad credential
	PermissionDenied             // the credential lacks a scope
	Unavailable                  // a dependency (storage) cannot answer; retry later
)

var kindNames = [...]string{
	Internal:         "internal",
	Invalid:          "invalid",
	NotFound:         "not_found",
	Conflict:         "conflict",
	Unauthenticated:  "unauthenticated",
	PermissionDenied: "permission_denied",
	Unavailable:      "unavailable",
}

// String returns the kind's stable snake_case name.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Error is a domain error: a kind, a message that is safe to show a client,
// and an optional internal cause that is only logged.
type Error struct {
	Kind Kind
	// Code is a stable machine-readable code such as "key_not_found";
	// empty means the kind's name.
	Code string
	// Msg is safe to show to the client. It never contains a secret.
	Msg string
	// Err is the internal cause; it may contain details that are not for
	// clients (but never a secret).
	Err error
}

// Error returns the client-safe message followed by the internal cause.
func (e *Error) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of the given kind with a client-safe message.
func Errorf(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Msg: fmt.Sprintf(format, args...)}
}

// internal wraps an unexpected failure. The message a client sees is generic.
func internal(err error, context string) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return &Error{Kind: Internal, Msg: "internal error", Err: fmt.Errorf("%s: %w", context, err)}
}

// KindOf returns the kind of err: the Kind of the first *Error in its chain,
// Internal for any other non-nil error.
func KindOf(err error) Kind {
	switch e := err.(type) {
	case nil:
		return Internal
	case *Error: // the common case, without errors.As's allocation
		return e.Kind
	}
	return kindOfWrapped(err)
}

func kindOfWrapped(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// ErrNotFound is returned by stores when an object does not exist.
var ErrNotFound = &Error{Kind: NotFound, Code: "not_found", Msg: "not found"}

// ErrConflict is returned by stores when an object already exists or a
// compare-and-swap lost.
var ErrConflict = &Error{Kind: Conflict, Code: "conflict", Msg: "conflict"}

// ErrDigestRevoked is returned by stores when a key to be imported has the
// digest of a key that was revoked (and possibly deleted since): a revoked
// secret never becomes valid again.
var ErrDigestRevoked = &Error{Kind: Conflict, Code: "digest_revoked", Msg: "digest revoked"}

// Unavailablef wraps a storage failure so that transports answer 503.
func Unavailablef(err error, format string, args ...any) error {
	return &Error{Kind: Unavailable, Code: "unavailable", Msg: "storage unavailable", Err: fmt.Errorf(format+": %w", append(args, err)...)}
}
