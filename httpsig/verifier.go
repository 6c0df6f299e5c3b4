package httpsig

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Verifier defaults.
const (
	DefaultWindow        = 300 * time.Second
	DefaultMaxSignatures = 1
)

// KeyLookup returns the hmac-sha256 secret of the key keyID. For an unknown
// key it returns an error wrapping [ErrUnknownKey]; any other error (say,
// storage unavailable) is passed through [Verifier.Verify] wrapped.
type KeyLookup func(ctx context.Context, keyID string) (secret []byte, err error)

// Verifier verifies signed requests. Keys and Nonces are required; the other
// fields have defaults. A Verifier is safe for concurrent use if Keys,
// Nonces, Now and Origin are.
type Verifier struct {
	// Keys looks up secrets by key id.
	Keys KeyLookup
	// Nonces records nonces against replay.
	Nonces NonceCache
	// Label selects the signature to verify. If empty, the first member
	// of Signature-Input is verified.
	Label string
	// MaxSignatures is how many signatures a request may carry
	// (DefaultMaxSignatures if 0, at most 8).
	MaxSignatures int
	// Window is how far created may be from Now, either way
	// (DefaultWindow if 0).
	Window time.Duration
	// Now is the clock (time.Now if nil).
	Now func() time.Time
	// Origin gives the scheme and authority the request was sent to
	// (RequestOrigin if nil).
	Origin OriginFunc
}

// Result describes a verified signature.
type Result struct {
	KeyID string         // the keyid parameter; the key that signed
	Label string         // the label of the verified signature
	Input SignatureInput // the verified Signature-Input member

	// Body checks the request body against the signed Content-Digest. It
	// is non-nil exactly when content-digest is covered, and then the
	// caller must not act on the body before Body.Check (or the end of
	// a body read through Body.Wrap) has passed.
	Body *BodyCheck
}

// Verify verifies the signature of r. In order, it: reads Signature-Input
// and Signature ([ErrMissing], [ErrMalformed]); picks the signature with
// v.Label ([ErrMissing], [ErrPolicy] if there are too many); applies the
// policy ([ErrPolicy]): covered @method, @target-uri or both @path and
// @query, content-digest when r has a body or a Content-Digest field, and
// parameters created, nonce and keyid, alg absent or hmac-sha256; checks
// created against the window and expires ([ErrClock], [ErrExpired]); looks
// up the key ([ErrUnknownKey]); compares the MAC with hmac.Equal
// ([ErrBadSignature]); parses Content-Digest ([ErrMalformed]); and last
// records the nonce ([ErrReplay], or the cache's error).
//
// A request "has a body" when r.ContentLength is not 0 (unknown length
// counts). Verify does not read r.Body; see [Result].Body.
func (v *Verifier) Verify(r *http.Request) (*Result, error) {
	if v.Keys == nil || v.Nonces == nil {
		return nil, errors.New("httpsig: verifier needs Keys and Nonces")
	}
	in, sig, err := v.pick(r)
	if err != nil {
		return nil, err
	}
	if err := checkPolicy(r, in); err != nil {
		return nil, err
	}
	now := v.now()
	if err := v.checkClock(in.Params, now); err != nil {
		return nil, err
	}
	ctx := r.Context()
	secret, err := v.Keys(ctx, in.Params.KeyID)
	switch {
	case err != nil: // ErrUnknownKey stays visible through %w
		return nil, fmt.Errorf("httpsig: look up key: %w", err)
	case len(secret) == 0:
		return nil, fmt.Errorf("httpsig: look up key: %w", ErrUnknownKey)
	case len(secret) < MinSecretLen:
		return nil, fmt.Errorf("httpsig: look up key: secret shorter than %d bytes", MinSecretLen)
	}
	base, err := signatureBase(r, in, v.origin())
	if err != nil {
		return nil, err
	}
	if !hmac.Equal(mac(secret, base), sig) {
		return nil, ErrBadSignature
	}
	res := &Result{KeyID: in.Params.KeyID, Label: in.Label, Input: in}
	if covers(in, "content-digest") {
		field, _ := joinedField(r.Header, "Content-Digest")
		if res.Body, err = NewBodyCheck(field); err != nil {
			return nil, err
		}
	}
	ttl := in.Params.Created.Add(v.window()).Sub(now) + time.Second
	replayed, err := v.Nonces.Seen(ctx, in.Params.KeyID, in.Params.Nonce, ttl)
	if err != nil {
		return nil, fmt.Errorf("httpsig: nonce cache: %w", err)
	}
	if replayed {
		return nil, ErrReplay
	}
	return res, nil
}

// pick parses both fields and returns the input and signature to verify.
func (v *Verifier) pick(r *http.Request) (SignatureInput, []byte, error) {
	inField, okIn := joinedField(r.Header, "Signature-Input")
	sigField, okSig := joinedField(r.Header, "Signature")
	if !okIn || !okSig {
		return SignatureInput{}, nil, ErrMissing
	}
	inputs, err := ParseSignatureInput(inField)
	if err != nil {
		return SignatureInput{}, nil, err
	}
	sigs, err := ParseSignature(sigField)
	if err != nil {
		return SignatureInput{}, nil, err
	}
	if max := v.maxSignatures(); len(inputs) > max {
		return SignatureInput{}, nil, fmt.Errorf("%w: more than %d signatures", ErrPolicy, max)
	}
	if len(inputs) != len(sigs) {
		return SignatureInput{}, nil, fmt.Errorf("%w: Signature and Signature-Input labels differ", ErrMalformed)
	}
	values := make(map[string][]byte, len(sigs))
	for _, s := range sigs {
		values[s.Label] = s.Value
	}
	for _, in := range inputs {
		if _, ok := values[in.Label]; !ok {
			return SignatureInput{}, nil, fmt.Errorf("%w: Signature and Signature-Input labels differ", ErrMalformed)
		}
	}
	label := v.Label
	if label == "" {
		label = inputs[0].Label
	}
	for _, in := range inputs {
		if in.Label == label {
			sig := values[label]
			if len(sig) != sha256.Size {
				return SignatureInput{}, nil, fmt.Errorf("%w: signature is not %d bytes", ErrMalformed, sha256.Size)
			}
			return in, sig, nil
		}
	}
	return SignatureInput{}, nil, fmt.Errorf("%w: no signature with the expected label", ErrMissing)
}

// checkPolicy applies the component and parameter rules.
func checkPolicy(r *http.Request, in SignatureInput) error {
	switch {
	case !covers(in, "@method"):
		return fmt.Errorf("%w: @method not covered", ErrPolicy)
	case !covers(in, "@target-uri") && !(covers(in, "@path") && covers(in, "@query")):
		return fmt.Errorf("%w: neither @target-uri nor @path and @query covered", ErrPolicy)
	case (r.ContentLength != 0 || len(r.Header.Values("Content-Digest")) > 0) && !covers(in, "content-digest"):
		return fmt.Errorf("%w: content-digest not covered", ErrPolicy)
	}
	p := in.Params
	switch {
	case p.Created.IsZero():
		return fmt.Errorf("%w: created parameter missing", ErrPolicy)
	case p.Nonce == "":
		return fmt.Errorf("%w: nonce parameter missing", ErrPolicy)
	case p.KeyID == "":
		return fmt.Errorf("%w: keyid parameter missing", ErrPolicy)
	case p.Alg != "" && p.Alg != AlgHMACSHA256:
		return fmt.Errorf("%w: alg is not %s", ErrPolicy, AlgHMACSHA256)
	}
	return nil
}

func (v *Verifier) checkClock(p Params, now time.Time) error {
	w := v.window()
	if d := now.Sub(p.Created); d > w || d < -w {
		return fmt.Errorf("%w (%s)", ErrClock, w)
	}
	if p.Expires.IsZero() {
		return nil
	}
	if p.Expires.Before(p.Created) {
		return fmt.Errorf("%w: expires before created", ErrMalformed)
	}
	if now.After(p.Expires) {
		return ErrExpired
	}
	return nil
}

func covers(in SignatureInput, c string) bool {
	for _, x := range in.Components {
		if x == c {
			return true
		}
	}
	return false
}

// joinedField joins the lines of a field with ", ", reporting whether there
// were any. Parsers bound the length.
func joinedField(h http.Header, name string) (string, bool) {
	lines := h.Values(name)
	return strings.Join(lines, ", "), len(lines) > 0
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

func (v *Verifier) window() time.Duration {
	if v.Window > 0 {
		return v.Window
	}
	return DefaultWindow
}

func (v *Verifier) maxSignatures() int {
	switch {
	case v.MaxSignatures <= 0:
		return DefaultMaxSignatures
	case v.MaxSignatures > maxMembers:
		return maxMembers
	}
	return v.MaxSignatures
}

func (v *Verifier) origin() OriginFunc {
	if v.Origin != nil {
		return v.Origin
	}
	return RequestOrigin
}
