package httpsig

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// MinSecretLen is the shortest hmac-sha256 secret a [Signer] or [Verifier]
// accepts: 256 bits, the strength of SHA-256.
const MinSecretLen = 32

// DefaultLabel is the label a [Signer] uses unless [WithLabel] says
// otherwise.
const DefaultLabel = "sig1"

// Signer signs client requests with one key. Its fields are unexported and
// it never prints its secret. A Signer is safe for concurrent use.
type Signer struct {
	keyID     string
	secret    []byte
	label     string
	now       func() time.Time
	rand      io.Reader
	targetURI bool
}

// SignerOption configures a [Signer].
type SignerOption func(*Signer)

// WithClock sets the clock for the created parameter (time.Now by default).
func WithClock(now func() time.Time) SignerOption { return func(s *Signer) { s.now = now } }

// WithLabel sets the signature label (DefaultLabel by default). It must be
// an RFC 8941 key: lower-case letters, digits, "_", "-", ".", "*".
func WithLabel(label string) SignerOption { return func(s *Signer) { s.label = label } }

// WithRand sets the source of nonces (crypto/rand by default).
func WithRand(r io.Reader) SignerOption { return func(s *Signer) { s.rand = r } }

// WithoutTargetURI leaves @target-uri out of the covered components (which
// still include @path and @query). Use it when a proxy between client and
// server changes the scheme or authority.
func WithoutTargetURI() SignerOption { return func(s *Signer) { s.targetURI = false } }

// NewSigner returns a Signer for the key keyID with the hmac-sha256 secret.
// keyID must be non-empty printable ASCII of at most 256 bytes, and secret
// at least [MinSecretLen] bytes; NewSigner copies secret.
func NewSigner(keyID string, secret []byte, opts ...SignerOption) (*Signer, error) {
	if keyID == "" || len(keyID) > 256 || !isPrintableASCII(keyID) {
		return nil, errors.New("httpsig: key id must be 1 to 256 printable ASCII characters")
	}
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("httpsig: secret shorter than %d bytes", MinSecretLen)
	}
	s := &Signer{
		keyID:     keyID,
		secret:    append([]byte(nil), secret...),
		label:     DefaultLabel,
		now:       time.Now,
		rand:      rand.Reader,
		targetURI: true,
	}
	for _, o := range opts {
		o(s)
	}
	if !isKey(s.label) {
		return nil, errors.New("httpsig: label is not a structured-field key")
	}
	if s.now == nil || s.rand == nil {
		return nil, errors.New("httpsig: nil clock or random source")
	}
	return s, nil
}

// String describes s without its secret.
func (s *Signer) String() string { return "httpsig.Signer(keyid=" + s.keyID + ")" }

// GoString describes s without its secret.
func (s *Signer) GoString() string { return s.String() }

// KeyID returns the key id s signs with.
func (s *Signer) KeyID() string { return s.keyID }

// Sign signs req, whose body is body, and sets its Content-Digest,
// Signature-Input and Signature fields. Content-Digest is set when body is
// non-empty and always for POST, PUT and PATCH. Sign neither reads nor sets
// req.Body; body must be exactly what will be sent. req.URL must be
// absolute (scheme and host).
func (s *Signer) Sign(req *http.Request, body []byte) error {
	digest := ""
	if len(body) > 0 || needsDigest(req.Method) {
		digest = ContentDigest(body)
	}
	return s.SignDigest(req, digest)
}

// SignDigest is Sign for a body whose Content-Digest field value
// (for example from a [Digester]) is already known: if contentDigest is
// non-empty it is set as Content-Digest. Content-Digest is covered whenever
// req has one.
func (s *Signer) SignDigest(req *http.Request, contentDigest string) error {
	if req.URL == nil || req.URL.Scheme == "" || (req.URL.Host == "" && req.Host == "") {
		return errors.New("httpsig: sign: request URL is not absolute")
	}
	if req.Header == nil {
		req.Header = make(http.Header)
	}
	if contentDigest != "" {
		if _, err := parseContentDigest(contentDigest); err != nil {
			return fmt.Errorf("httpsig: sign: %w", err)
		}
		req.Header.Set("Content-Digest", contentDigest)
	}
	comps := []string{"@method"}
	if s.targetURI {
		comps = append(comps, "@target-uri")
	}
	comps = append(comps, "@path", "@query")
	if len(req.Header.Values("Content-Digest")) > 0 {
		comps = append(comps, "content-digest")
	}
	var n [16]byte
	if _, err := io.ReadFull(s.rand, n[:]); err != nil {
		return fmt.Errorf("httpsig: sign: nonce: %w", err)
	}
	in := SignatureInput{
		Label:      s.label,
		Components: comps,
		Params: Params{
			Created: time.Unix(s.now().Unix(), 0),
			Nonce:   base64.RawURLEncoding.EncodeToString(n[:]),
			KeyID:   s.keyID,
			Alg:     AlgHMACSHA256,
		},
	}
	base, err := SignatureBase(req, in)
	if err != nil {
		return fmt.Errorf("httpsig: sign: %w", err)
	}
	sig := mac(s.secret, base)
	req.Header.Set("Signature-Input", s.label+"="+in.String())
	req.Header.Set("Signature", s.label+"=:"+base64.StdEncoding.EncodeToString(sig)+":")
	return nil
}

func needsDigest(method string) bool {
	return method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch
}

// isKey reports whether s is an RFC 8941 key.
func isKey(s string) bool {
	if s == "" || len(s) > maxKeyLen || !(isLCAlpha(s[0]) || s[0] == '*') {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isKeyChar(s[i]) {
			return false
		}
	}
	return true
}
