package httpsig

import (
	"crypto/subtle"
	"fmt"
	"hash"
	"io"
)

// BodyCheck checks a body against a Content-Digest field value while the
// body is read, so a streamed body need not be buffered. Every supported
// algorithm in the field (sha-256, sha-512) must match, so that two readers
// that pick different algorithms cannot disagree about the body.
//
// Feed the body with Write, or read it through Wrap, then call Check. A
// BodyCheck is not safe for concurrent use.
type BodyCheck struct {
	entries []digestEntry
	hashes  []hash.Hash
}

// NewBodyCheck returns a BodyCheck for the Content-Digest field value field.
// It returns an error wrapping [ErrMalformed] if field does not parse or has
// no supported algorithm.
func NewBodyCheck(field string) (*BodyCheck, error) {
	entries, err := parseContentDigest(field)
	if err != nil {
		return nil, err
	}
	c := &BodyCheck{entries: entries}
	for _, e := range entries {
		c.hashes = append(c.hashes, e.alg.new())
	}
	return c, nil
}

// Write adds p to the body. It never returns an error.
func (c *BodyCheck) Write(p []byte) (int, error) {
	for _, h := range c.hashes {
		h.Write(p)
	}
	return len(p), nil
}

// Check reports, as an error wrapping [ErrDigest], whether the body written
// so far differs from the Content-Digest. It compares in constant time and
// may be called more than once.
func (c *BodyCheck) Check() error {
	for i, e := range c.entries {
		if subtle.ConstantTimeCompare(c.hashes[i].Sum(nil), e.want) != 1 {
			return fmt.Errorf("%w: %s differs", ErrDigest, e.alg.name)
		}
	}
	return nil
}

// VerifyBody checks a complete body against the Content-Digest field value
// field. Errors wrap [ErrMalformed] or [ErrDigest].
func VerifyBody(field string, body []byte) error {
	c, err := NewBodyCheck(field)
	if err != nil {
		return err
	}
	c.Write(body)
	return c.Check()
}

// Wrap returns a ReadCloser that reads rc, feeds c, and at the end of the
// body returns io.EOF only if Check passes, and its error otherwise.
//
// It holds back the last byte read until the end of rc has been seen and
// the digest checked, so a consumer never receives the complete body of a
// request whose digest does not match: a proxy forwarding the body with a
// known Content-Length cannot finish sending it upstream. Closing the
// result closes rc.
func (c *BodyCheck) Wrap(rc io.ReadCloser) io.ReadCloser {
	return &checkedBody{rc: rc, check: c}
}

type checkedBody struct {
	rc      io.ReadCloser
	check   *BodyCheck
	held    byte // the last byte read, not yet returned
	hasHeld bool
	one     [1]byte
	err     error // sticky: io.EOF after a passed check, or the failure
}

// maxEmptyReads bounds consecutive (0, nil) reads, as bufio does.
const maxEmptyReads = 100

func (b *checkedBody) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for empty := 0; ; {
		if b.err != nil {
			if b.err == io.EOF && b.hasHeld {
				p[0], b.hasHeld = b.held, false
				return 1, nil
			}
			return 0, b.err
		}
		off := 0
		if b.hasHeld {
			off = 1
		}
		dst := b.one[:]
		if off < len(p) {
			dst = p[off:]
		}
		n, err := b.rc.Read(dst)
		if n > 0 {
			b.check.Write(dst[:n])
		}
		if err != nil {
			b.finish(err)
		}
		if n == 0 {
			if err == nil {
				if empty++; empty == maxEmptyReads {
					return 0, io.ErrNoProgress
				}
			}
			continue
		}
		if off == len(p) {
			// len(p) == 1 and a byte is held: return it, hold the new one.
			p[0], b.held = b.held, b.one[0]
			return 1, nil
		}
		if b.hasHeld {
			p[0] = b.held
		}
		total := off + n
		b.held, b.hasHeld = p[total-1], true
		if total > 1 {
			return total - 1, nil
		}
	}
}

// finish records the end of rc: io.EOF if the digest matches, the
// mismatch otherwise, or rc's own error.
func (b *checkedBody) finish(err error) {
	if err != io.EOF {
		b.err = err
		return
	}
	if cerr := b.check.Check(); cerr != nil {
		b.err = cerr
		return
	}
	b.err = io.EOF
}

func (b *checkedBody) Close() error { return b.rc.Close() }
