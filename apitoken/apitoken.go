// Package apitoken implements latchkey's opaque API token wire format.
//
// A token looks like
//
//	<prefix>_<secret><checksum>
//
// where prefix names the keyspace (for example "acme_live"; it matches
// ^[a-z][a-z0-9_]{0,31}$ and may itself contain underscores), secret is 32
// bytes from crypto/rand written as exactly [SecretLen] base62 characters
// (alphabet 0-9A-Za-z, left-padded with '0'), and checksum is the CRC32
// (IEEE) of "<prefix>_<secret>" written as exactly [ChecksumLen] base62
// characters. This is the scheme GitHub uses: [Check] rejects typos and
// random strings without touching storage, and secret scanners can find
// leaked tokens with a regular expression. Because base62 has no underscore,
// the prefix ends at the last underscore.
//
// Only [Hash] of a token is ever stored. The [Token] type keeps the plaintext
// out of logs, fmt output and JSON; [Token.Reveal] is the one way to read it.
//
// The package uses only the standard library; it is shared with the public SDK.
package apitoken

import (
	"crypto/rand"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
	"unsafe"
)

const (
	// SecretLen is the number of base62 characters of the secret part.
	// 43 is the fewest base62 digits that can hold 256 bits.
	SecretLen = 43
	// ChecksumLen is the number of base62 characters of the checksum part.
	ChecksumLen = 6
	// MaxPrefixLen is the longest valid prefix.
	MaxPrefixLen = 32
	// MaxLen is the longest string [Check] will even look at; anything
	// longer is [Malformed].
	MaxLen = 256

	secretBytes = 32
	bodyLen     = SecretLen + ChecksumLen
	alphabet    = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

// ErrInvalidPrefix is returned by [New] for a prefix that [ValidPrefix]
// rejects.
var ErrInvalidPrefix = errors.New("apitoken: invalid prefix")

// Shape is what [Check] can tell about a string without touching storage.
type Shape int

const (
	// Malformed is an empty string, a string longer than [MaxLen], or one
	// containing anything but printable ASCII (spaces and control characters
	// included). It cannot be a token of any kind.
	Malformed Shape = iota
	// Foreign is a plausible token that is not in this package's format: no
	// underscore, an invalid prefix, a body of the wrong length or with
	// non-base62 characters. It may still be an imported or root key.
	Foreign
	// BadChecksum is a string in this package's format whose checksum does
	// not match: a typo, a truncation or a forgery.
	BadChecksum
	// Valid is a well-formed token with a correct checksum. It says nothing
	// about whether the token exists or is active.
	Valid
)

// String returns a lower-case name for the shape.
func (s Shape) String() string {
	switch s {
	case Malformed:
		return "malformed"
	case Foreign:
		return "foreign"
	case BadChecksum:
		return "bad checksum"
	case Valid:
		return "valid"
	}
	return fmt.Sprintf("apitoken.Shape(%d)", int(s))
}

// New returns a fresh token with the given prefix and a 256-bit secret from
// crypto/rand. It returns an error wrapping [ErrInvalidPrefix] if
// [ValidPrefix] reports false for prefix.
func New(prefix string) (Token, error) {
	if !ValidPrefix(prefix) {
		return Token{}, fmt.Errorf("%w %q: want ^[a-z][a-z0-9_]{0,31}$", ErrInvalidPrefix, prefix)
	}
	var raw [secretBytes]byte
	if _, err := rand.Read(raw[:]); err != nil { // never fails since Go 1.24
		return Token{}, fmt.Errorf("apitoken: read random secret: %w", err)
	}
	buf := make([]byte, 0, len(prefix)+1+bodyLen)
	buf = append(buf, prefix...)
	buf = append(buf, '_')
	buf = appendSecret(buf, &raw)
	clear(raw[:])
	buf = appendChecksum(buf, crc32.ChecksumIEEE(buf))
	tok := FromString(string(buf))
	clear(buf)
	return tok, nil
}

// ValidPrefix reports whether prefix can be used as a token prefix: it
// matches ^[a-z][a-z0-9_]{0,31}$.
func ValidPrefix(prefix string) bool {
	if len(prefix) == 0 || len(prefix) > MaxPrefixLen || prefix[0] < 'a' || prefix[0] > 'z' {
		return false
	}
	for i := 1; i < len(prefix); i++ {
		c := prefix[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// Check reports the shape of s. It reads only s: no storage, no
// allocation, and time linear in len(s) up to [MaxLen].
func Check(s string) Shape {
	if len(s) == 0 || len(s) > MaxLen {
		return Malformed
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c > '~' {
			return Malformed
		}
	}
	cut := strings.LastIndexByte(s, '_')
	if cut < 0 || !ValidPrefix(s[:cut]) || len(s)-cut-1 != bodyLen {
		return Foreign
	}
	var sum uint64
	for i := cut + 1; i < len(s); i++ {
		d, ok := digit(s[i])
		if !ok {
			return Foreign
		}
		if i >= len(s)-ChecksumLen {
			sum = sum*62 + uint64(d)
		}
	}
	if sum != uint64(checksum(s[:len(s)-ChecksumLen])) {
		return BadChecksum
	}
	return Valid
}

// split returns the prefix and secret of s if s is in this package's format
// (Valid or BadChecksum).
func split(s string) (prefix, secret string, ok bool) {
	switch Check(s) {
	case Valid, BadChecksum:
		cut := strings.LastIndexByte(s, '_')
		return s[:cut], s[cut+1 : cut+1+SecretLen], true
	}
	return "", "", false
}

// digit returns the value of the base62 digit c.
func digit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'A' <= c && c <= 'Z':
		return c - 'A' + 10, true
	case 'a' <= c && c <= 'z':
		return c - 'a' + 36, true
	}
	return 0, false
}

// checksum is the CRC32 (IEEE) of s, without copying s.
func checksum(s string) uint32 { return crc32.ChecksumIEEE(readOnlyBytes(s)) }

// readOnlyBytes returns the bytes of s without copying them, for functions
// that neither modify nor keep their argument (crc32, sha256).
func readOnlyBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// appendChecksum appends c as exactly ChecksumLen base62 digits.
func appendChecksum(dst []byte, c uint32) []byte {
	var out [ChecksumLen]byte
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = alphabet[c%62]
		c /= 62
	}
	return append(dst, out[:]...)
}

// appendSecret appends the big-endian number raw as exactly SecretLen base62
// digits (62^43 > 2^256, so the quotient is zero at the end).
func appendSecret(dst []byte, raw *[secretBytes]byte) []byte {
	n := *raw
	var out [SecretLen]byte
	for i := len(out) - 1; i >= 0; i-- {
		var rem uint
		for j := range n {
			acc := rem<<8 | uint(n[j])
			n[j] = byte(acc / 62)
			rem = acc % 62
		}
		out[i] = alphabet[rem]
	}
	clear(n[:])
	return append(dst, out[:]...)
}
