package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/httpsig"
	"github.com/latchkey/latchkey/token"
)

func (h *Handler) signatureCheck(r *http.Request, scheme, authority string) token.SignatureCheck {
	return SignatureCheck(h.svc, r, scheme, authority)
}

// SignatureCheck returns the check of r's RFC 9421 signature for keys with
// a signing secret, with (scheme, authority) the origin the client sent r
// to, and nonces kept in svc's store; nil when r carries no signature. An
// in-process gateway uses it too.
func SignatureCheck(svc *token.Service, r *http.Request, scheme, authority string) token.SignatureCheck {
	if r.Header.Get("Signature-Input") == "" && r.Header.Get("Signature") == "" {
		return nil
	}
	return func(ctx context.Context, keyID string, secret []byte) error {
		v := httpsig.Verifier{
			Keys: func(_ context.Context, id string) ([]byte, error) {
				if id != keyID { // keyid must name the key presented
					return nil, httpsig.ErrUnknownKey
				}
				return secret, nil
			},
			Nonces: nonces{svc},
			Now:    svc.Now,
			Origin: func(*http.Request) (string, string) { return scheme, authority },
		}
		_, err := v.Verify(r.WithContext(ctx))
		var te *token.Error
		switch {
		case err == nil:
			return nil
		case errors.As(err, &te):
			return err // the nonce store could not answer
		}
		return fmt.Errorf("%w: %w", token.ErrBadSignature, err)
	}
}

// nonces keeps signed requests' nonces in the store, so that a replay is
// refused by every node.
type nonces struct{ svc *token.Service }

func (n nonces) Seen(ctx context.Context, keyID, nonce string, ttl time.Duration) (bool, error) {
	fresh, err := n.svc.UseNonce(ctx, keyID, nonce, n.svc.Now().Add(ttl))
	return !fresh, err
}

// signedRequest rebuilds the request a gateway forwarded the components of
// (POST /v1/keys/verify "request") and returns the check of its signature.
func (h *Handler) signedRequest(sr *api.SignedRequest) (token.SignatureCheck, error) {
	u, err := url.Parse(sr.TargetURI)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(sr.TargetURI) > 8<<10 {
		return nil, badRequest("bad_request_components", "request.target_uri must be an absolute http(s) URI")
	}
	if sr.Method == "" || len(sr.Method) > 20 || strings.ContainsAny(sr.Method, " \t\r\n") {
		return nil, badRequest("bad_request_components", "request.method is missing or invalid")
	}
	r := &http.Request{Method: sr.Method, URL: u, Host: u.Host, Header: http.Header{}, RequestURI: u.RequestURI()}
	n := 0
	for name, vs := range sr.Headers {
		n += len(vs)
		for _, v := range vs {
			r.Header.Add(name, v)
		}
	}
	if n > 100 {
		return nil, badRequest("bad_request_components", "request.headers: at most 100 values")
	}
	if h := r.Header.Get("Host"); h != "" {
		r.Host = h
	}
	// Whether the request has a body decides whether its signature must
	// cover Content-Digest.
	switch cl := r.Header.Get("Content-Length"); {
	case r.Header.Get("Transfer-Encoding") != "":
		r.ContentLength = -1
	case cl != "":
		if _, err := fmt.Sscanf(cl, "%d", &r.ContentLength); err != nil || r.ContentLength < 0 {
			return nil, badRequest("bad_request_components", "request.headers: bad content-length")
		}
	}
	if r.Header.Get("Signature-Input") == "" {
		return nil, nil // not signed: keys with a signing secret answer INVALID_SIGNATURE
	}
	return h.signatureCheck(r, u.Scheme, u.Host), nil
}
