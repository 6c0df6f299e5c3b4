package httpapi

import (
	"strconv"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/internal/jsonenc"
)

// appendVerifyResponse appends the JSON of v — what json.Marshal would
// write, up to whitespace in metadata — without reflection: the verify
// answer is the hot path (docs/benchmarks.md). TestVerifyResponseJSON and
// FuzzVerifyResponseJSON check it against encoding/json.
func appendVerifyResponse(b []byte, v *api.VerifyResponse) []byte {
	b = append(b, `{"valid":`...)
	b = strconv.AppendBool(b, v.Valid)
	b = append(b, `,"code":`...)
	b = jsonenc.AppendString(b, v.Code)
	if v.KeyID != "" {
		b = append(b, `,"key_id":`...)
		b = jsonenc.AppendString(b, v.KeyID)
	}
	if v.Keyspace != "" {
		b = append(b, `,"keyspace":`...)
		b = jsonenc.AppendString(b, v.Keyspace)
	}
	if v.Name != "" {
		b = append(b, `,"name":`...)
		b = jsonenc.AppendString(b, v.Name)
	}
	if o := v.Owner; o != nil {
		b = append(b, `,"owner":{"type":`...)
		b = jsonenc.AppendString(b, o.Type)
		b = append(b, `,"id":`...)
		b = jsonenc.AppendString(b, o.ID)
		b = append(b, '}')
	}
	if len(v.Scopes) > 0 {
		b = append(b, `,"scopes":[`...)
		for i, s := range v.Scopes {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonenc.AppendString(b, s)
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
			b = jsonenc.AppendString(b, r.Name)
			b = append(b, `,"limit":`...)
			b = strconv.AppendInt(b, r.Limit, 10)
			b = append(b, `,"remaining":`...)
			b = strconv.AppendInt(b, r.Remaining, 10)
			b = append(b, `,"reset":`...)
			b = strconv.AppendInt(b, r.Reset, 10)
			b = append(b, `,"window":`...)
			b = jsonenc.AppendString(b, r.Window)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if v.DPoPNonce != "" {
		b = append(b, `,"dpop_nonce":`...)
		b = jsonenc.AppendString(b, v.DPoPNonce)
	}
	return append(b, '}')
}
