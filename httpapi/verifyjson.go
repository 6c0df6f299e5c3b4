package httpapi

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/latchkey/latchkey/api"
)

// appendVerifyResponse appends the JSON of v — what json.Marshal would
// write, up to whitespace in metadata — without reflection: the verify
// answer is the hot path (docs/benchmarks.md). TestVerifyResponseJSON and
// FuzzVerifyResponseJSON check it against encoding/json.
func appendVerifyResponse(b []byte, v *api.VerifyResponse) []byte {
	b = append(b, `{"valid":`...)
	b = strconv.AppendBool(b, v.Valid)
	b = append(b, `,"code":`...)
	b = appendString(b, v.Code)
	if v.KeyID != "" {
		b = append(b, `,"key_id":`...)
		b = appendString(b, v.KeyID)
	}
	if v.Keyspace != "" {
		b = append(b, `,"keyspace":`...)
		b = appendString(b, v.Keyspace)
	}
	if v.Name != "" {
		b = append(b, `,"name":`...)
		b = appendString(b, v.Name)
	}
	if o := v.Owner; o != nil {
		b = append(b, `,"owner":{"type":`...)
		b = appendString(b, o.Type)
		b = append(b, `,"id":`...)
		b = appendString(b, o.ID)
		b = append(b, '}')
	}
	if len(v.Scopes) > 0 {
		b = append(b, `,"scopes":[`...)
		for i, s := range v.Scopes {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, s)
		}
		b = append(b, ']')
	}
	if v.ExpiresAt != nil {
		b = append(b, `,"expires_at":"`...)
		b = v.ExpiresAt.AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
	}
	if len(v.Metadata) > 0 {
		b = append(b, `,"metadata":`...)
		b = append(b, v.Metadata...) // validated JSON, stored as given
	}
	if v.Remaining != nil {
		b = append(b, `,"remaining":`...)
		b = strconv.AppendInt(b, *v.Remaining, 10)
	}
	if len(v.RateLimits) > 0 {
		b = append(b, `,"ratelimits":[`...)
		for i, r := range v.RateLimits {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"name":`...)
			b = appendString(b, r.Name)
			b = append(b, `,"limit":`...)
			b = strconv.AppendInt(b, r.Limit, 10)
			b = append(b, `,"remaining":`...)
			b = strconv.AppendInt(b, r.Remaining, 10)
			b = append(b, `,"reset":`...)
			b = strconv.AppendInt(b, r.Reset, 10)
			b = append(b, `,"window":`...)
			b = appendString(b, r.Window)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

// jsonPlain marks the bytes appendString copies as they are: printable
// ASCII but for ", \, <, > and &.
var jsonPlain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendString appends s as a JSON string, escaped as encoding/json does:
// quotes, backslashes, control characters, <, > and &, U+2028 and U+2029;
// invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		for i < len(s) && jsonPlain[s[i]] { // the common run, one load a byte
			i++
		}
		if i == len(s) {
			break
		}
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
	b = append(b, s[start:]...)
	return append(b, '"')
}
