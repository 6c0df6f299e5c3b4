package httpapi

import (
	"net/http"

	"github.com/latchkey/latchkey/api"
)

// decodeTokenRequest decodes the body of POST /v1/tokens (empty means {}).
// The common shape — an object of plain ASCII strings "scope" and
// "audience" and a plain integer "expires_in", exact names, no duplicates —
// is read without reflection by fastTokenRequest; anything else goes
// through decodeBytes (encoding/json), so every answer but the time taken
// is encoding/json's. FuzzTokenRequestDecode checks that both agree.
func decodeTokenRequest(r *http.Request, req *api.TokenRequest) error {
	return decodePooled(r, req, true, fastTokenRequest)
}

// fastTokenRequest fills req from body and reports true when body has the
// common shape described at decodeTokenRequest; false leaves req partly
// filled and means "decode it the slow way", never "invalid".
func fastTokenRequest(b []byte, req *api.TokenRequest) bool {
	if skipWS(b, 0) == len(b) {
		return true // empty: {}
	}
	return plainObject(b, func(name []byte, i int) (int, uint8, bool) {
		var bit uint8
		var dst *string
		switch string(name) {
		case "scope":
			bit, dst = 1, &req.Scope
		case "audience":
			bit, dst = 2, &req.Audience
		case "expires_in":
			bit = 4
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
		// A plain integer: 0, or 1–18 digits without a leading zero (no
		// sign, fraction or exponent; those go the slow way).
		j := i
		var n int64
		for j < len(b) && b[j] >= '0' && b[j] <= '9' && j-i < 18 {
			n = n*10 + int64(b[j]-'0')
			j++
		}
		if j == i || (b[i] == '0' && j-i > 1) || (j < len(b) && (b[j] >= '0' && b[j] <= '9' || b[j] == '.' || b[j] == 'e' || b[j] == 'E')) {
			return 0, 0, false
		}
		req.ExpiresIn = api.Seconds(n)
		return j, bit, true
	})
}
