package signer

import (
	"strconv"

	"github.com/latchkey/latchkey/internal/jsonenc"
)

// appendClaims appends the JSON of c.wire() exactly as encoding/json
// writes it (same field order, omissions and escaping), without
// reflection: Issue runs once per exchanged token.
// TestAppendClaimsMatchesEncodingJSON and FuzzAppendClaims hold it to that.
func appendClaims(b []byte, c *AccessClaims) []byte {
	b = append(b, `{"iss":`...)
	b = jsonenc.AppendString(b, c.Issuer)
	b = append(b, `,"sub":`...)
	b = jsonenc.AppendString(b, c.Subject)
	b = append(b, `,"aud":`...)
	switch {
	case len(c.Audience) == 1:
		b = jsonenc.AppendString(b, c.Audience[0])
	case c.Audience == nil:
		b = append(b, "null"...)
	default:
		b = append(b, '[')
		for i, a := range c.Audience {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonenc.AppendString(b, a)
		}
		b = append(b, ']')
	}
	b = append(b, `,"exp":`...)
	b = strconv.AppendInt(b, c.Expiry.Unix(), 10)
	b = append(b, `,"iat":`...)
	b = strconv.AppendInt(b, c.IssuedAt.Unix(), 10)
	if !c.NotBefore.IsZero() {
		if nbf := c.NotBefore.Unix(); nbf != 0 {
			b = append(b, `,"nbf":`...)
			b = strconv.AppendInt(b, nbf, 10)
		}
	}
	b = append(b, `,"jti":`...)
	b = jsonenc.AppendString(b, c.ID)
	if len(c.Scope) > 0 && (len(c.Scope) > 1 || c.Scope[0] != "") {
		b = append(b, `,"scope":"`...)
		for i, s := range c.Scope {
			if i > 0 {
				b = append(b, ' ')
			}
			b = jsonenc.AppendStringBody(b, s)
		}
		b = append(b, '"')
	}
	if c.ClientID != "" {
		b = append(b, `,"client_id":`...)
		b = jsonenc.AppendString(b, c.ClientID)
	}
	if c.KeyID != "" {
		b = append(b, `,"key_id":`...)
		b = jsonenc.AppendString(b, c.KeyID)
	}
	if c.ConfirmationJKT != "" {
		b = append(b, `,"cnf":{"jkt":`...)
		b = jsonenc.AppendString(b, c.ConfirmationJKT)
		b = append(b, '}')
	}
	if c.Actor != nil {
		b = append(b, `,"act":`...)
		b = appendActor(b, c.Actor)
	}
	return append(b, '}')
}

// appendActor appends an act chain as encoding/json writes an *Actor.
func appendActor(b []byte, a *Actor) []byte {
	b = append(b, `{"sub":`...)
	b = jsonenc.AppendString(b, a.Subject)
	if a.Actor != nil {
		b = append(b, `,"act":`...)
		b = appendActor(b, a.Actor)
	}
	return append(b, '}')
}
