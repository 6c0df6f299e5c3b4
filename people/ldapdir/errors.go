package ldapdir

import "errors"

// Error kinds of Authenticate and Lookup, to test with errors.Is.
var (
	// ErrInvalidCredentials: the username is unknown or ambiguous, the
	// password is wrong or empty, or the directory refused the user's
	// bind (e.g. a locked account). Callers answer all of these alike.
	ErrInvalidCredentials = errors.New("ldap: invalid credentials")
	// ErrUnavailable: the directory cannot be used right now or is
	// misconfigured: no connection, TLS failure, the service account's
	// bind refused, a search failed, or the deadline passed.
	ErrUnavailable = errors.New("ldap: directory unavailable")
	// ErrNoSuchUser: Lookup found no entry for the username (the user was
	// removed from the directory or moved out of the search base).
	ErrNoSuchUser = errors.New("ldap: no such user")
	// ErrAmbiguousUser: the user filter matched more than one entry; it
	// comes with ErrInvalidCredentials from Authenticate and with
	// ErrUnavailable from Lookup. The filter needs fixing.
	ErrAmbiguousUser = errors.New("ldap: user filter matches more than one entry")
)

// Error is what Authenticate and Lookup return: a kind (one of the Err
// variables), the internal reason to log, and the cause. Its text never
// holds a password or the typed username (people type passwords into the
// username field); the directory's DNs may appear in it.
type Error struct {
	Kind   error
	Reason string
	Err    error
}

// Error returns the kind, the reason and the cause.
func (e *Error) Error() string {
	s := e.Kind.Error() + ": " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the kind and the cause, for errors.Is and errors.As.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

func fail(kind error, reason string, cause error) error {
	return &Error{Kind: kind, Reason: reason, Err: cause}
}
