// Package scope implements latchkey's permission strings ("scopes") and
// boolean scope expressions.
//
// A scope is 1 to [MaxLen] bytes of lowercase segments separated by ':',
// such as "orders:read" or "billing.invoices:write". The last segment may be
// the wildcard "*": "orders:*" grants every scope that starts with "orders:",
// at any depth. A bare "*" is not a scope; grant a named scope such as
// "admin" instead.
//
// A scope expression combines scopes with AND, OR and parentheses, for
// example "orders:read AND (billing:read OR admin)"; see [ParseExpr].
//
// Every parser in this package reads untrusted input: it never panics and
// bounds its work by [MaxLen], [MaxScopes], [MaxExprLen] and [MaxExprDepth].
package scope

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// MaxLen is the maximum length of a scope in bytes.
const MaxLen = 128

// MaxScopes is the most scopes one set may hold; [ValidateAll] rejects more.
const MaxScopes = 256

// Validate reports why s is not a valid scope, or returns nil if it is.
// The error message quotes the scope (scopes are not secret), truncated if
// it is long.
func Validate(s string) error {
	switch {
	case s == "":
		return errors.New("scope is empty")
	case len(s) > MaxLen:
		return fmt.Errorf("scope %s is %d bytes long, more than the limit of %d", quote(s), len(s), MaxLen)
	case s == "*":
		return errors.New(`scope "*" is not allowed: a bare wildcard would grant everything; use a named scope such as "admin"`)
	}
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != ':' {
			continue
		}
		if err := checkSegment(s, start, i); err != nil {
			return err
		}
		start = i + 1
	}
	return nil
}

// checkSegment validates the segment s[start:end].
func checkSegment(s string, start, end int) error {
	seg := s[start:end]
	switch {
	case seg == "":
		return fmt.Errorf("scope %s has an empty segment", quote(s))
	case seg == "*" && end == len(s):
		return nil
	case seg == "*":
		return fmt.Errorf("scope %s has a wildcard before its last segment", quote(s))
	}
	for j := 0; j < len(seg); j++ {
		c, off := seg[j], start+j
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case c == '.' || c == '_' || c == '/' || c == '-':
			if j == 0 {
				return fmt.Errorf("scope %s has a segment starting with %q at offset %d; segments start with a lowercase letter or digit", quote(s), c, off)
			}
		case c == '*':
			return fmt.Errorf(`scope %s has "*" inside a segment at offset %d; a wildcard must be the whole last segment`, quote(s), off)
		case 'A' <= c && c <= 'Z':
			return fmt.Errorf("scope %s has uppercase letter %q at offset %d; scopes are lowercase", quote(s), c, off)
		default:
			return fmt.Errorf("scope %s has invalid character %s at offset %d", quote(s), strconv.Quote(s[off:off+1]), off)
		}
	}
	return nil
}

// ValidateAll validates every scope in scopes and rejects a list of more
// than [MaxScopes] entries. Duplicates are not an error. It returns the
// first problem found.
func ValidateAll(scopes []string) error {
	if len(scopes) > MaxScopes {
		return fmt.Errorf("too many scopes: %d, more than the limit of %d", len(scopes), MaxScopes)
	}
	for _, s := range scopes {
		if err := Validate(s); err != nil {
			return err
		}
	}
	return nil
}

// Normalize returns a sorted copy of scopes without duplicates, or nil if
// scopes is empty. It does not validate.
func Normalize(scopes []string) []string {
	if len(scopes) == 0 {
		return nil
	}
	out := slices.Clone(scopes)
	slices.Sort(out)
	return slices.Clip(slices.Compact(out))
}

// Grants reports whether the granted scope g satisfies the required scope r:
// either g == r, or g is a wildcard "x:*" and r starts with "x:" followed by
// at least one more byte. So "orders:*" grants "orders:read",
// "orders:items:read" and the narrower wildcard "orders:items:*", but not
// "orders" nor "ordersx:read"; and a required wildcard is satisfied only by
// itself or a broader wildcard.
//
// Grants does not validate its arguments and never panics; its answer is
// meaningful only for valid scopes. It does not allocate.
func Grants(g, r string) bool {
	if g == r {
		return true
	}
	n := len(g) - 1 // length of the "x:" prefix of a wildcard g
	if n < 1 || g[n] != '*' || g[n-1] != ':' {
		return false
	}
	return len(r) > n && r[:n] == g[:n]
}

// quote returns s in Go quoted form for an error message, truncated if s is
// long so that untrusted input cannot blow up a message.
func quote(s string) string {
	const limit = 48
	if len(s) > limit {
		return strconv.Quote(s[:limit]) + "..."
	}
	return strconv.Quote(s)
}
