package httpsig

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
)

// Transport returns an http.RoundTripper that signs every request with s
// and sends it with base (http.DefaultTransport if nil). It reads the whole
// request body into memory (from GetBody when the request has one) to
// compute Content-Digest, and sends a clone of the request; the caller's
// request is not modified. Redirected and retried requests are signed
// afresh, with a new nonce.
func (s *Signer) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{signer: s, base: base}
}

type transport struct {
	signer *Signer
	base   http.RoundTripper
}

// RoundTrip implements http.RoundTripper. Like every RoundTripper it closes
// req.Body, also on error.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := readBody(req)
	if err != nil {
		return nil, fmt.Errorf("httpsig: transport: read body: %w", err)
	}
	r2 := req.Clone(req.Context())
	r2.ContentLength = int64(len(body))
	if len(body) == 0 {
		r2.Body, r2.GetBody = http.NoBody, nil
	} else {
		r2.Body = io.NopCloser(bytes.NewReader(body))
		r2.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	r2.Header.Del("Content-Digest") // a stale one would be covered
	if err := t.signer.Sign(r2, body); err != nil {
		return nil, err
	}
	return t.base.RoundTrip(r2)
}

// readBody returns the request body, preferring a fresh copy from GetBody,
// and closes req.Body.
func readBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	defer req.Body.Close()
	src := req.Body
	if req.GetBody != nil {
		rc, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		src = rc
	}
	return io.ReadAll(src)
}
