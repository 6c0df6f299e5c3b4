package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
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
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" && ct != "application/json" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return nil, &httpError{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type", msg: "request body must be application/json"}
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, badRequest("bad_body", "could not read the request body")
	}
	if int64(len(body)) > limit {
		return nil, &httpError{status: http.StatusRequestEntityTooLarge, code: "body_too_large", msg: fmt.Sprintf("request body is larger than %d bytes", limit)}
	}
	return body, nil
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
	return nil
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
const MaxDuration = 100 * 365 * 24 * time.Hour

// parseDuration parses a Go duration string for field name, accepting also
// a "d" suffix for whole days ("30d").
func parseDuration(field, s string) (time.Duration, error) {
	var d time.Duration
	var err error
	if n, ok := strings.CutSuffix(s, "d"); ok && n != "" && !strings.ContainsAny(n, "hmsuµn.") {
		d, err = time.ParseDuration(n + "h")
		d *= 24
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil {
		return 0, badRequest("bad_duration", fmt.Sprintf("%s: %q is not a duration; use Go syntax such as \"90s\", \"1h30m\", \"720h\" or days such as \"30d\"", field, truncate(s, 40)))
	}
	if d < 0 || d > MaxDuration {
		return 0, badRequest("bad_duration", fmt.Sprintf("%s must be between 0s and 100 years", field))
	}
	return d, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
