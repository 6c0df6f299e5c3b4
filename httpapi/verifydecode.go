package httpapi

import (
	"net/http"

	"github.com/latchkey/latchkey/api"
)

// decodeVerifyRequest decodes the body of POST /v1/keys/verify. The common
// shape — an object of plain ASCII strings "key", "keyspace", "scope_query",
// "ip" and an array "scopes", no escapes, no duplicates, exact field names —
// is read without reflection by fastVerifyRequest; anything else (escapes,
// other fields, "cost", "request", null, case variants, errors) goes through
// decodeBytes (encoding/json), so every answer but the time taken is the
// one encoding/json gives. FuzzVerifyRequestDecode checks that both agree.
func decodeVerifyRequest(r *http.Request, req *api.VerifyRequest) error {
	bp := bufPool.Get().(*[]byte)
	body, err := readBodyInto(r, MaxBodyBytes, *bp)
	if err != nil {
		bufPool.Put(bp)
		return err
	}
	// Both decoders copy what they keep, so the buffer is free again after.
	defer func() {
		if cap(body) <= 64<<10 { // do not keep a buffer grown by a huge body
			*bp = body[:0]
		}
		bufPool.Put(bp)
	}()
	if fastVerifyRequest(body, req) {
		return nil
	}
	*req = api.VerifyRequest{}
	return decodeBytes(body, req, false)
}

// fastVerifyRequest fills req from body and reports true when body has the
// common shape described at decodeVerifyRequest; false leaves req partly
// filled and means "decode it the slow way", never "invalid".
func fastVerifyRequest(b []byte, req *api.VerifyRequest) bool {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipWS(b, i+1)
	var seen uint8
	if i < len(b) && b[i] == '}' {
		return skipWS(b, i+1) == len(b)
	}
	for {
		name, j, ok := plainString(b, i)
		if !ok {
			return false
		}
		i = skipWS(b, j)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i = skipWS(b, i+1)
		var bit uint8
		var dst *string
		switch string(name) {
		case "key":
			bit, dst = 1, &req.Key
		case "keyspace":
			bit, dst = 2, &req.Keyspace
		case "scope_query":
			bit, dst = 4, &req.ScopeQuery
		case "ip":
			bit, dst = 8, &req.IP
		case "scopes":
			bit = 16
		default:
			return false
		}
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		if dst != nil {
			v, j, ok := plainString(b, i)
			if !ok {
				return false
			}
			*dst, i = string(v), j
		} else {
			if i >= len(b) || b[i] != '[' {
				return false
			}
			i = skipWS(b, i+1)
			scopes := make([]string, 0, 4)
			if i < len(b) && b[i] == ']' {
				i++
			} else {
				for {
					v, j, ok := plainString(b, i)
					if !ok {
						return false
					}
					scopes = append(scopes, string(v))
					i = skipWS(b, j)
					if i >= len(b) {
						return false
					}
					if b[i] == ']' {
						i++
						break
					}
					if b[i] != ',' {
						return false
					}
					i = skipWS(b, i+1)
				}
			}
			req.Scopes = scopes
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return false
		}
		if b[i] == '}' {
			return skipWS(b, i+1) == len(b)
		}
		if b[i] != ',' {
			return false
		}
		i = skipWS(b, i+1)
	}
}

// skipWS skips JSON whitespace from i.
func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// plainString reads a JSON string at i made of printable ASCII without
// escapes; it returns its contents and the index after the closing quote.
func plainString(b []byte, i int) ([]byte, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return b[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return nil, 0, false
		}
	}
	return nil, 0, false
}
