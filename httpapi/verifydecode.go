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
	return decodePooled(r, req, false, fastVerifyRequest)
}

// decodePooled reads r's body into a pooled buffer and decodes it into req:
// with fast when it recognises the body, else with decodeBytes
// (encoding/json; emptyOK lets an empty body mean {}). Both decoders copy
// what they keep, so the buffer goes back to the pool after.
func decodePooled[T any](r *http.Request, req *T, emptyOK bool, fast func([]byte, *T) bool) error {
	bp := bufPool.Get().(*[]byte)
	body, err := readBodyInto(r, MaxBodyBytes, *bp)
	if err != nil {
		bufPool.Put(bp)
		return err
	}
	defer func() {
		if cap(body) <= 64<<10 { // do not keep a buffer grown by a huge body
			*bp = body[:0]
		}
		bufPool.Put(bp)
	}()
	if fast(body, req) {
		return nil
	}
	var zero T
	*req = zero
	return decodeBytes(body, req, emptyOK)
}

// fastVerifyRequest fills req from body and reports true when body has the
// common shape described at decodeVerifyRequest; false leaves req partly
// filled and means "decode it the slow way", never "invalid".
func fastVerifyRequest(b []byte, req *api.VerifyRequest) bool {
	return plainObject(b, func(name []byte, i int) (int, uint8, bool) {
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
			return 0, 0, false
		}
		if dst != nil {
			v, j, ok := plainString(b, i)
			if !ok {
				return 0, 0, false
			}
			*dst = string(v)
			return j, bit, true
		}
		if i >= len(b) || b[i] != '[' {
			return 0, 0, false
		}
		i = skipWS(b, i+1)
		scopes := make([]string, 0, 4)
		if i < len(b) && b[i] == ']' {
			req.Scopes = scopes
			return i + 1, bit, true
		}
		for {
			v, j, ok := plainString(b, i)
			if !ok {
				return 0, 0, false
			}
			scopes = append(scopes, string(v))
			i = skipWS(b, j)
			if i >= len(b) {
				return 0, 0, false
			}
			if b[i] == ']' {
				req.Scopes = scopes
				return i + 1, bit, true
			}
			if b[i] != ',' {
				return 0, 0, false
			}
			i = skipWS(b, i+1)
		}
	})
}

// plainObject walks b, which must be one JSON object (and white space),
// calling member at each member's value with its name (a plain string) and
// the value's offset. member returns where the value ends, a bit of its own
// (a name seen twice is refused) and whether it read the value; false from
// member or any other shape makes plainObject report false: "decode it the
// slow way", never "invalid".
func plainObject(b []byte, member func(name []byte, i int) (next int, bit uint8, ok bool)) bool {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return skipWS(b, i+1) == len(b)
	}
	var seen uint8
	for {
		name, j, ok := plainString(b, i)
		if !ok {
			return false
		}
		i = skipWS(b, j)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		next, bit, ok := member(name, skipWS(b, i+1))
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
		i = skipWS(b, next)
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
