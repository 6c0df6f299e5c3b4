package httpsig

import "errors"

// Error kinds. Every error returned by this package for untrusted input wraps
// exactly one of them; test with errors.Is. Messages carry a short reason
// but never a secret, a MAC or a signature value.
var (
	// ErrMissing means the request carries no Signature-Input or Signature
	// field, or none with the requested label.
	ErrMissing = errors.New("httpsig: signature missing")

	// ErrMalformed means a Signature-Input, Signature or Content-Digest
	// field does not parse, exceeds a size bound, or uses a feature this
	// package does not support (for example a parameterized component).
	ErrMalformed = errors.New("httpsig: malformed signature")

	// ErrPolicy means the signature parses but does not meet the
	// verifier's policy: a required component or parameter is missing, an
	// algorithm other than hmac-sha256 is named, or there are too many
	// signatures.
	ErrPolicy = errors.New("httpsig: signature does not meet policy")

	// ErrClock means the created parameter is outside the allowed window
	// around the verifier's clock.
	ErrClock = errors.New("httpsig: signature created outside the allowed window")

	// ErrExpired means the expires parameter is in the past.
	ErrExpired = errors.New("httpsig: signature expired")

	// ErrUnknownKey means the keyid does not name a known key. A
	// [KeyLookup] returns it (possibly wrapped) for unknown key ids.
	ErrUnknownKey = errors.New("httpsig: unknown key")

	// ErrBadSignature means the MAC does not match the signature base:
	// the request or its signature was altered, or the key is wrong.
	ErrBadSignature = errors.New("httpsig: signature mismatch")

	// ErrDigest means the body does not match its Content-Digest.
	ErrDigest = errors.New("httpsig: content digest mismatch")

	// ErrReplay means the nonce has already been used with this key.
	ErrReplay = errors.New("httpsig: nonce replayed")
)
