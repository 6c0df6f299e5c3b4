package verify

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/httpsig"
)

// Request is a credential together with what a gateway knows about the
// request it came with.
type Request struct {
	Token  string
	Scopes []string
	// IP is the client's address: checked against the key's IP allowlist,
	// and the address unknown keys are throttled by.
	IP string
	// HTTP is the request itself, for keys that sign their requests
	// (RFC 9421); nil when there is none. Its body is not read.
	HTTP *http.Request
	// Keyspace, if set, is the only keyspace whose opaque keys are valid
	// (others are NOT_FOUND, before any credit or rate limit is spent).
	// A verifier with a keyspace of its own refuses a different one.
	Keyspace string
	// ScopeQuery, if set, is a scope expression ("a AND (b OR c)") that
	// the opaque key's scopes must satisfy, checked by the server before
	// it spends credits or rate limits.
	ScopeQuery string
	// DryRun checks without spending credits or rate limits: the answer
	// says whether a request would pass.
	DryRun bool
	// DPoP is the DPoP proof (RFC 9449) that came with Token when the
	// credential was sent as "Authorization: DPoP <token>" (see
	// [DPoPOf]); nil for a bearer credential. A credential bound to a
	// DPoP key is valid only with a valid proof of that key.
	DPoP *api.DPoPProof
}

// DPoP verification codes (Error.Code) of credentials bound to a DPoP key.
const (
	// CodeInvalidDPoPProof: the credential is bound to a DPoP key and
	// came without a valid proof of it (or as a bearer token).
	CodeInvalidDPoPProof = "INVALID_DPOP_PROOF"
	// CodeUseDPoPNonce: the proof lacks the server's nonce; Error.DPoPNonce
	// holds a fresh one.
	CodeUseDPoPNonce = "USE_DPOP_NONCE"
)

// DPoPOf returns the DPoP proof of r, with r's method and origin + path as
// its request (origin is "scheme://authority" as the client addressed
// it), or nil if r has not exactly one DPoP header.
func DPoPOf(r *http.Request, origin string) *api.DPoPProof {
	vs := r.Header.Values("DPoP")
	if len(vs) != 1 || vs[0] == "" {
		return nil
	}
	return &api.DPoPProof{Proof: vs[0], Method: r.Method, URL: origin + r.URL.EscapedPath()}
}

// RequestVerifier is a Verifier that can judge a credential by the request
// it came with: the client's address and the request's signature.
// [*Opaque] implements it; gateways use it when the verifier does.
type RequestVerifier interface {
	Verifier
	CheckRequest(ctx context.Context, r Request) (*Identity, error)
}

var _ RequestVerifier = (*Opaque)(nil)

// signatureHeaders are the fields a signed request's verification always
// needs besides the ones its signature covers.
var signatureHeaders = []string{"signature-input", "signature", "content-digest"}

// SignedRequestOf returns the components of r a latchkey server needs to
// check its RFC 9421 signature, or nil if r carries no signature. origin
// is "scheme://authority" as the client addressed it.
func SignedRequestOf(r *http.Request, origin string) *api.SignedRequest {
	if r == nil || r.Header.Get("Signature-Input") == "" {
		return nil
	}
	sr := &api.SignedRequest{Method: r.Method, TargetURI: origin + r.URL.RequestURI(), Headers: map[string][]string{}}
	names := append([]string(nil), signatureHeaders...)
	if ins, err := httpsig.ParseSignatureInput(strings.Join(r.Header.Values("Signature-Input"), ", ")); err == nil {
		for _, in := range ins {
			for _, c := range in.Components {
				if !strings.HasPrefix(c, "@") {
					names = append(names, c)
				}
			}
		}
	} // a malformed input is forwarded as it is, for the server to refuse
	for _, n := range names {
		if vs := r.Header.Values(n); len(vs) > 0 {
			sr.Headers[n] = vs
		}
	}
	if r.Host != "" {
		sr.Headers["host"] = []string{r.Host}
	}
	// net/http moves these out of Header; the server needs them to know
	// whether the request has a body (whose digest must then be signed).
	switch {
	case r.ContentLength > 0:
		sr.Headers["content-length"] = []string{strconv.FormatInt(r.ContentLength, 10)}
	case r.ContentLength < 0:
		sr.Headers["transfer-encoding"] = []string{"chunked"}
	}
	return sr
}

// Origin returns "scheme://host" of a request received by this process:
// https when it arrived over TLS.
func Origin(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}
