package httpsig

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"net/http"
)

// SignatureBase returns the signature base (RFC 9421 §2.5) of r for in: one
// line `"<component>": <value>` per covered component, then the
// `"@signature-params"` line, with no trailing newline. Scheme and authority
// come from [RequestOrigin]. Errors wrap [ErrMalformed].
func SignatureBase(r *http.Request, in SignatureInput) ([]byte, error) {
	return signatureBase(r, in, RequestOrigin)
}

func signatureBase(r *http.Request, in SignatureInput, origin OriginFunc) ([]byte, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	for _, c := range in.Components {
		v, err := componentValue(r, c, origin)
		if err != nil {
			return nil, err
		}
		b.WriteByte('"')
		b.WriteString(c)
		b.WriteString(`": `)
		b.WriteString(v)
		b.WriteByte('\n')
	}
	b.WriteString(`"@signature-params": `)
	b.WriteString(in.String())
	return b.Bytes(), nil
}

// mac is the hmac-sha256 algorithm of RFC 9421 §3.3.3.
func mac(secret, base []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write(base)
	return h.Sum(nil)
}
