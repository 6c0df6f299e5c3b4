package apitoken

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
)

// ErrSecretMarshal is returned by [Token.MarshalJSON] and
// [Token.MarshalText]: a plaintext token is never serialized implicitly.
var ErrSecretMarshal = errors.New("apitoken: refusing to marshal a secret token; use Token.Reveal")

const redacted = "apitoken.Token(REDACTED)"

// Token is a plaintext token. It is a secret: String, GoString, Format,
// LogValue print a fixed placeholder, and MarshalJSON and MarshalText
// refuse. [Token.Reveal] is the one way to read the plaintext. The zero
// Token is empty.
//
// The plaintext sits behind a pointer so that fmt, which cannot call methods
// on unexported fields, prints an address rather than the secret when a
// Token is a field of another struct. Compare tokens with [Token.Equal],
// not ==.
type Token struct{ s *string }

// FromString wraps s as a Token without any validation, for example a root
// key read from the environment or a token presented by a caller.
func FromString(s string) Token {
	if s == "" {
		return Token{}
	}
	return Token{s: &s}
}

// Reveal returns the plaintext token.
func (t Token) Reveal() string {
	if t.s == nil {
		return ""
	}
	return *t.s
}

// IsZero reports whether t is empty.
func (t Token) IsZero() bool { return t.s == nil || *t.s == "" }

// Prefix returns the prefix of t, or "" if t is not in this package's format.
// A token with a bad checksum still has a prefix.
func (t Token) Prefix() string {
	prefix, _, _ := split(t.Reveal())
	return prefix
}

// Start returns the part of t that is safe to display and store in the
// clear: the prefix, the underscore and the first 4 characters of the
// secret. For a token not in this package's format it is the first 4
// characters, fewer for a token shorter than 16 characters, and "" for a
// [Malformed] one.
func (t Token) Start() string {
	s := t.Reveal()
	if prefix, secret, ok := split(s); ok {
		return prefix + "_" + secret[:4]
	}
	if Check(s) == Malformed {
		return ""
	}
	return s[:min(4, len(s)/4)]
}

// Digest returns the SHA-256 of the plaintext, the only form that is stored.
func (t Token) Digest() Digest { return Hash(t.Reveal()) }

// Equal reports whether t and o hold the same plaintext, in time that does
// not depend on their contents.
func (t Token) Equal(o Token) bool { return t.Digest().Equal(o.Digest()) }

// String returns a placeholder, never the plaintext.
func (t Token) String() string { return redacted }

// GoString returns a placeholder, never the plaintext.
func (t Token) GoString() string { return redacted }

// Format implements fmt.Formatter: every verb prints a placeholder, never
// the plaintext.
func (t Token) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// LogValue implements slog.LogValuer: it logs a placeholder, never the
// plaintext.
func (t Token) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON returns [ErrSecretMarshal]. Put Reveal() in the response
// explicitly where the plaintext must be shown once, at creation.
func (t Token) MarshalJSON() ([]byte, error) { return nil, ErrSecretMarshal }

// MarshalText returns [ErrSecretMarshal], for the same reason as
// [Token.MarshalJSON].
func (t Token) MarshalText() ([]byte, error) { return nil, ErrSecretMarshal }
