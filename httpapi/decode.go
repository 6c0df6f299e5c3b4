package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/latchkey/latchkey/api"
)

// MaxBodyBytes caps every request body.
const MaxBodyBytes = 1 << 20

// decode reads exactly one JSON object from r's body into v, rejecting
// unknown fields, trailing data, wrong types and oversized bodies with a
// message that says what is wrong. An empty body decodes as {} when
// allowEmpty is set.
func decode(r *http.Request, v any, allowEmpty bool) error {
	return decodeLimit(r, v, allowEmpty, MaxBodyBytes)
}

// decodeLimit is decode with a body cap of limit bytes.
func decodeLimit(r *http.Request, v any, allowEmpty bool, limit int64) error {
	body, err := readBody(r, limit)
	if err != nil {
		return err
	}
	return decodeBytes(body, v, allowEmpty)
}

// readBody checks the media type and reads at most limit bytes of r's body.
func readBody(r *http.Request, limit int64) ([]byte, error) { return readBodyInto(r, limit, nil) }

// readBodyInto is readBody reading into buf's storage (grown as needed):
// the hot path passes a pooled buffer.
func readBodyInto(r *http.Request, limit int64, buf []byte) ([]byte, error) {
	var ct string
	if v := r.Header["Content-Type"]; len(v) > 0 {
		ct = v[0]
	}
	if ct != "" && ct != "application/json" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return nil, &httpError{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type", msg: "request body must be application/json"}
		}
	}
	// Read up to limit+1 bytes: one more than allowed tells "too large".
	b := buf[:0]
	for int64(len(b)) <= limit {
		if len(b) == cap(b) {
			b = slices.Grow(b, 512)
		}
		room := b[len(b):cap(b)]
		if max := limit + 1 - int64(len(b)); int64(len(room)) > max {
			room = room[:max]
		}
		n, err := r.Body.Read(room)
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, badRequest("bad_body", "could not read the request body")
		}
	}
	if int64(len(b)) > limit {
		return nil, &httpError{status: http.StatusRequestEntityTooLarge, code: "body_too_large", msg: fmt.Sprintf("request body is larger than %d bytes", limit)}
	}
	return b, nil
}

// decodeBytes decodes exactly one JSON object from body into v with the
// rules of decode.
func decodeBytes(body []byte, v any, allowEmpty bool) error {
	if len(bytes.TrimSpace(body)) == 0 {
		if allowEmpty {
			return nil
		}
		return badRequest("malformed_json", "request body is empty; expected a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("malformed_json", describeJSONError(err))
	}
	if dec.More() {
		return badRequest("malformed_json", "request body has data after the JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("malformed_json", "request body has data after the JSON object")
	}
	if !validText(body) {
		return &httpError{status: http.StatusUnprocessableEntity, code: "invalid_utf8", msg: "request body has a string that is not valid UTF-8 (raw invalid bytes or a lone UTF-16 surrogate escape such as \\udc00)"}
	}
	return nil
}

// validText reports whether the JSON document b is valid UTF-8 and none of
// its strings escapes a lone UTF-16 surrogate. encoding/json would replace
// such text with U+FFFD in strings and keep it verbatim in raw values
// (metadata), which strict parsers then refuse when latchkey echoes it.
func validText(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	if !bytes.Contains(b, []byte(`\u`)) {
		return true
	}
	inStr := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !inStr {
			inStr = c == '"'
			continue
		}
		switch c {
		case '"':
			inStr = false
		case '\\':
			if i+1 < len(b) && b[i+1] != 'u' {
				i++
				continue
			}
			r, ok := hex4(b, i+2)
			if !ok {
				return true // a syntax error the decoder has already refused
			}
			i += 5
			switch {
			case r >= 0xD800 && r < 0xDC00:
				if i+2 < len(b) && b[i+1] == '\\' && b[i+2] == 'u' {
					if r2, ok := hex4(b, i+3); ok && r2 >= 0xDC00 && r2 < 0xE000 {
						i += 6
						continue
					}
				}
				return false
			case r >= 0xDC00 && r < 0xE000:
				return false
			}
		}
	}
	return true
}

// hex4 decodes the four hex digits of b[at:at+4].
func hex4(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[at : at+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

func describeJSONError(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("malformed JSON at byte %d: %v", se.Offset, se)
	case errors.As(err, &te):
		if te.Field != "" {
			return fmt.Sprintf("field %q must be %s, not %s", te.Field, jsonKind(te.Type.Kind().String()), te.Value)
		}
		return fmt.Sprintf("expected a JSON object, not %s", te.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "malformed JSON: unexpected end of input"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	}
	return "malformed JSON: " + err.Error()
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	case "map", "struct", "ptr":
		return "an object"
	case "int", "int64", "int32", "uint", "uint64", "float64":
		return "a number"
	}
	return "of type " + k
}

// MaxDuration bounds every duration accepted by the API (100 years).
const MaxDuration = api.MaxDuration

// parseDuration parses a duration for field name with api.ParseDuration,
// the parser the CLI uses too: Go syntax or whole days ("30d"). A value
// that is not a duration is 400 bad_duration; one outside 0…100 years
// (including one whose arithmetic would overflow) is 422
// duration_out_of_range.
func parseDuration(field, s string) (time.Duration, error) {
	d, err := api.ParseDuration(s)
	switch {
	case errors.Is(err, api.ErrDurationRange):
		return 0, &httpError{status: http.StatusUnprocessableEntity, code: "duration_out_of_range", msg: fmt.Sprintf("%s must be between 0s and 100 years (36500d), not %q", field, truncate(s, 40))}
	case err != nil:
		return 0, badRequest("bad_duration", fmt.Sprintf("%s: %q is not a duration; use Go syntax such as \"90s\", \"1h30m\", \"720h\" or days such as \"30d\"", field, truncate(s, 40)))
	}
	return d, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
