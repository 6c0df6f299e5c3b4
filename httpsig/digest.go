package httpsig

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"hash"
)

// ContentDigest returns the RFC 9530 Content-Digest field value of body with
// SHA-256: "sha-256=:<base64>:".
func ContentDigest(body []byte) string {
	sum := sha256.Sum256(body)
	return formatDigest(sum[:])
}

func formatDigest(sum []byte) string {
	return "sha-256=:" + base64.StdEncoding.EncodeToString(sum) + ":"
}

// Digester computes a SHA-256 Content-Digest over a body written to it in
// pieces, for example while the body streams. It implements hash.Hash.
type Digester struct {
	h hash.Hash
}

var _ hash.Hash = (*Digester)(nil)

// NewDigester returns an empty Digester.
func NewDigester() *Digester { return &Digester{h: sha256.New()} }

// Write adds p to the body. It never returns an error.
func (d *Digester) Write(p []byte) (int, error) { return d.h.Write(p) }

// Sum appends the SHA-256 of the body written so far to b.
func (d *Digester) Sum(b []byte) []byte { return d.h.Sum(b) }

// Reset forgets the body written so far.
func (d *Digester) Reset() { d.h.Reset() }

// Size returns the size of the sum, 32 bytes.
func (d *Digester) Size() int { return d.h.Size() }

// BlockSize returns SHA-256's block size.
func (d *Digester) BlockSize() int { return d.h.BlockSize() }

// Header returns the Content-Digest field value of the body written so far.
func (d *Digester) Header() string { return formatDigest(d.h.Sum(nil)) }

// digestAlg is a Content-Digest algorithm this package accepts.
type digestAlg struct {
	name string
	size int
	new  func() hash.Hash
}

var digestAlgs = []digestAlg{
	{"sha-256", sha256.Size, sha256.New},
	{"sha-512", sha512.Size, sha512.New},
}

// digestEntry is one supported algorithm in a Content-Digest field.
type digestEntry struct {
	alg  digestAlg
	want []byte
}

// parseContentDigest parses a Content-Digest field value and returns its
// sha-256 and sha-512 entries. Unknown algorithms are ignored; a field
// without a supported algorithm, a supported one whose value is not a byte
// sequence of the right length, or a duplicate key is an error wrapping
// [ErrMalformed].
func parseContentDigest(field string) ([]digestEntry, error) {
	members, err := parseDictionary(field)
	if err != nil {
		return nil, fmt.Errorf("%w: content-digest: %v", ErrMalformed, err)
	}
	var out []digestEntry
	for _, m := range members {
		for _, a := range digestAlgs {
			if m.key != a.name {
				continue
			}
			if m.inner || m.val.kind != kindBytes || len(m.val.raw) != a.size {
				return nil, fmt.Errorf("%w: content-digest: %s value is not a %d-byte sequence", ErrMalformed, a.name, a.size)
			}
			out = append(out, digestEntry{alg: a, want: m.val.raw})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: content-digest: no supported algorithm (sha-256, sha-512)", ErrMalformed)
	}
	return out, nil
}

// CheckContentDigest checks sum, the SHA-256 (32 bytes) or SHA-512 (64
// bytes) of a body, against the Content-Digest field value field, in
// constant time. The algorithm follows from len(sum). It returns an error
// wrapping [ErrMalformed] if field does not parse or has no supported
// algorithm, and one wrapping [ErrDigest] if field has no entry for sum's
// algorithm or the entry differs. To check every supported entry of a field
// against a body, use [NewBodyCheck] or [VerifyBody].
func CheckContentDigest(field string, sum []byte) error {
	entries, err := parseContentDigest(field)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.alg.size == len(sum) {
			if subtle.ConstantTimeCompare(e.want, sum) != 1 {
				return fmt.Errorf("%w: %s differs", ErrDigest, e.alg.name)
			}
			return nil
		}
	}
	return fmt.Errorf("%w: no entry for a %d-byte digest", ErrDigest, len(sum))
}
