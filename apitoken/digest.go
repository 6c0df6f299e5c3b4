package apitoken

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
)

// ErrInvalidDigest is returned by [ParseDigest] for a string that is not a
// hex or base64 SHA-256 digest.
var ErrInvalidDigest = errors.New("apitoken: invalid digest")

// Digest is the SHA-256 of a full plaintext token. It is what storage keeps
// and looks tokens up by; it is not secret. Digest is comparable and can be a
// map key, but compare digests from untrusted input with [Digest.Equal].
type Digest [sha256.Size]byte

// Hash returns the SHA-256 of plaintext. It does not allocate.
func Hash(plaintext string) Digest {
	return sha256.Sum256(readOnlyBytes(plaintext))
}

// Equal reports whether d and o are the same, in constant time.
func (d Digest) Equal(o Digest) bool { return subtle.ConstantTimeCompare(d[:], o[:]) == 1 }

// IsZero reports whether d is the zero Digest (no token hashes to it).
func (d Digest) IsZero() bool { return d == Digest{} }

// String returns d as 64 lower-case hex characters.
func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// MarshalText encodes d as 64 lower-case hex characters.
func (d Digest) MarshalText() ([]byte, error) { return hex.AppendEncode(nil, d[:]), nil }

// UnmarshalText decodes any form [ParseDigest] accepts.
func (d *Digest) UnmarshalText(text []byte) error {
	v, err := ParseDigest(string(text))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// ParseDigest decodes a SHA-256 digest, to import keys by hash. It accepts
// 64 hex characters in either case, or base64 of the 32 bytes: 44
// characters padded or 43 unpadded, standard or URL alphabet. It returns an
// error wrapping [ErrInvalidDigest] for anything else.
func ParseDigest(hexOrBase64 string) (Digest, error) {
	var d Digest
	s := hexOrBase64
	switch len(s) {
	case hex.EncodedLen(len(d)):
		if _, err := hex.Decode(d[:], []byte(s)); err != nil {
			return Digest{}, fmt.Errorf("%w: bad hex", ErrInvalidDigest)
		}
		return d, nil
	case base64.StdEncoding.EncodedLen(len(d)), base64.RawStdEncoding.EncodedLen(len(d)):
		for _, enc := range []*base64.Encoding{
			base64.StdEncoding, base64.URLEncoding,
			base64.RawStdEncoding, base64.RawURLEncoding,
		} {
			if len(s) != enc.EncodedLen(len(d)) {
				continue
			}
			// Strict: one digest, one encoding.
			var buf [48]byte // room for DecodedLen of any candidate
			if n, err := enc.Strict().Decode(buf[:], []byte(s)); err == nil && n == len(d) {
				copy(d[:], buf[:n])
				return d, nil
			}
		}
		return Digest{}, fmt.Errorf("%w: bad base64", ErrInvalidDigest)
	}
	return Digest{}, fmt.Errorf("%w: want 64 hex or 43/44 base64 characters, got %d", ErrInvalidDigest, len(s))
}
