package signer

import (
	"strconv"
	"unicode/utf8"
)

// appendClaims appends the JSON of c.wire() exactly as encoding/json
// writes it (same field order, omissions and escaping), without
// reflection: Issue runs once per exchanged token.
// TestAppendClaimsMatchesEncodingJSON and FuzzAppendClaims hold it to that.
func appendClaims(b []byte, c *AccessClaims) []byte {
	b = append(b, `{"iss":`...)
	b = appendJSONString(b, c.Issuer)
	b = append(b, `,"sub":`...)
	b = appendJSONString(b, c.Subject)
	b = append(b, `,"aud":`...)
	switch {
	case len(c.Audience) == 1:
		b = appendJSONString(b, c.Audience[0])
	case c.Audience == nil:
		b = append(b, "null"...)
	default:
		b = append(b, '[')
		for i, a := range c.Audience {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, a)
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
	b = appendJSONString(b, c.ID)
	if len(c.Scope) > 0 && (len(c.Scope) > 1 || c.Scope[0] != "") {
		b = append(b, `,"scope":"`...)
		for i, s := range c.Scope {
			if i > 0 {
				b = append(b, ' ')
			}
			b = appendJSONStringBody(b, s)
		}
		b = append(b, '"')
	}
	if c.ClientID != "" {
		b = append(b, `,"client_id":`...)
		b = appendJSONString(b, c.ClientID)
	}
	if c.KeyID != "" {
		b = append(b, `,"key_id":`...)
		b = appendJSONString(b, c.KeyID)
	}
	if c.ConfirmationJKT != "" {
		b = append(b, `,"cnf":{"jkt":`...)
		b = appendJSONString(b, c.ConfirmationJKT)
		b = append(b, '}')
	}
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string, escaped as encoding/json
// does: quotes, backslashes, control characters, <, > and &, U+2028 and
// U+2029; invalid UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	return append(appendJSONStringBody(b, s), '"')
}

// appendJSONStringBody is appendJSONString without the quotes: strings
// joined by spaces inside one JSON string escape piece by piece.
func appendJSONStringBody(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(b, s[start:]...)
}
