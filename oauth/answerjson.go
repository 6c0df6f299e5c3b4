package oauth

import (
	"net/http"
	"strconv"

	"github.com/latchkey/latchkey/internal/jsonenc"
)

// appendJSON appends r as encoding/json's Encoder writes it (the same
// fields, order, omitempty and escaping, and the trailing newline),
// without reflection: the token endpoint answers one per request.
func (r *TokenResponse) appendJSON(b []byte) []byte {
	b = jsonenc.AppendString(append(b, `{"access_token":`...), r.AccessToken)
	if r.IssuedTokenType != "" {
		b = jsonenc.AppendString(append(b, `,"issued_token_type":`...), r.IssuedTokenType)
	}
	b = jsonenc.AppendString(append(b, `,"token_type":`...), r.TokenType)
	b = strconv.AppendInt(append(b, `,"expires_in":`...), r.ExpiresIn, 10)
	if r.Scope != "" {
		b = jsonenc.AppendString(append(b, `,"scope":`...), r.Scope)
	}
	if r.RefreshToken != "" {
		b = jsonenc.AppendString(append(b, `,"refresh_token":`...), r.RefreshToken)
	}
	if r.IDToken != "" {
		b = jsonenc.AppendString(append(b, `,"id_token":`...), r.IDToken)
	}
	return append(b, "}\n"...)
}

// appendJSON appends in as encoding/json's Encoder writes it, without
// reflection (introspection answers one per request).
func (in *Introspection) appendJSON(b []byte) []byte {
	if in.Active {
		b = append(b, `{"active":true`...)
	} else {
		b = append(b, `{"active":false`...)
	}
	str := func(name, v string) {
		if v != "" {
			b = jsonenc.AppendString(append(append(append(b, ",\""...), name...), "\":"...), v)
		}
	}
	num := func(name string, v int64) {
		if v != 0 {
			b = strconv.AppendInt(append(append(append(b, ",\""...), name...), "\":"...), v, 10)
		}
	}
	str("scope", in.Scope)
	str("client_id", in.ClientID)
	str("sub", in.Subject)
	if len(in.Audience) > 0 {
		b = append(b, `,"aud":[`...)
		for i, a := range in.Audience {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonenc.AppendString(b, a)
		}
		b = append(b, ']')
	}
	str("iss", in.Issuer)
	num("exp", in.Expiry)
	num("iat", in.IssuedAt)
	str("jti", in.ID)
	str("token_type", in.TokenType)
	str("key_id", in.KeyID)
	if in.Confirmation != nil {
		b = jsonenc.AppendString(append(b, `,"cnf":{"jkt":`...), in.Confirmation.JKT)
		b = append(b, '}')
	}
	return append(b, "}\n"...)
}

// writeJSON writes an answer made by appendJSON with the headers of RFC
// 6749 §5.1 (Pragma only when pragma: RFC 7662 does not ask for it). The
// header values are set as shared slices: Header.Set would allocate one
// per call.
func writeJSON(w http.ResponseWriter, body []byte, pragma bool) error {
	h := w.Header()
	h["Content-Type"] = hdrJSON
	h["Cache-Control"] = hdrNoStore
	if pragma {
		h["Pragma"] = hdrNoCache
	}
	_, err := w.Write(body)
	return err
}

// Shared header values: never modified in place (len = cap = 1, so
// Header.Add copies before appending).
var (
	hdrJSON    = []string{"application/json"}
	hdrNoStore = []string{"no-store"}
	hdrNoCache = []string{"no-cache"}
)
