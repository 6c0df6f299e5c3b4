package verify

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// segments splits a compact JWS into its three segments without
// allocating; ok is false unless there are exactly three, all non-empty.
func segments(token string) (h, p, s string, ok bool) {
	h, rest, ok1 := strings.Cut(token, ".")
	p, s, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || h == "" || p == "" || s == "" || strings.IndexByte(s, '.') >= 0 {
		return "", "", "", false
	}
	return h, p, s, true
}

// decodeSegment decodes unpadded, strict base64url.
func decodeSegment(s string) ([]byte, error) {
	return base64.RawURLEncoding.Strict().DecodeString(s)
}

// decodeObject decodes a JSON object of valid UTF-8 whose member names are
// all distinct (RFC 7515 §5.2, RFC 8725 §2.6), with nothing after it.
func decodeObject(b []byte) (map[string]json.RawMessage, error) {
	if !utf8.Valid(b) {
		return nil, errors.New("invalid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	m := make(map[string]json.RawMessage)
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name, _ := t.(string)
		if _, dup := m[name]; dup {
			return nil, errors.New("duplicate member " + name)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		m[name] = v
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return nil, errors.New("malformed JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after JSON object")
	}
	return m, nil
}

// stringMember returns member name of m if it is a JSON string.
func stringMember(m map[string]json.RawMessage, name string) (string, bool) {
	raw, ok := m[name]
	if !ok {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// parseClaims reads the registered and latchkey claims from a verified
// payload. Member names match exactly (not case-insensitively, as
// encoding/json struct fields would) and each must have its JSON type.
func parseClaims(payload []byte) (*Claims, error) {
	m, err := decodeObject(payload)
	if err != nil {
		return nil, err
	}
	var c Claims
	var scope string
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{"iss", &c.Issuer}, {"sub", &c.Subject}, {"jti", &c.JTI},
		{"client_id", &c.ClientID}, {"key_id", &c.KeyID}, {"scope", &scope},
	} {
		if raw, ok := m[f.name]; ok {
			if err := json.Unmarshal(raw, f.dst); err != nil {
				return nil, errors.New(f.name + ": not a string")
			}
		}
	}
	c.Scopes = strings.Fields(scope)
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"exp", &c.ExpiresAt}, {"nbf", &c.NotBefore}, {"iat", &c.IssuedAt}} {
		if raw, ok := m[f.name]; ok {
			t, err := numericDate(raw)
			if err != nil {
				return nil, errors.New(f.name + ": " + err.Error())
			}
			*f.dst = t
		}
	}
	if raw, ok := m["cnf"]; ok {
		var cnf struct {
			JKT *string `json:"jkt"`
		}
		if err := json.Unmarshal(raw, &cnf); err != nil {
			return nil, errors.New("cnf: not an object")
		}
		if cnf.JKT != nil {
			if *cnf.JKT == "" {
				return nil, errors.New("cnf.jkt: empty")
			}
			c.ConfirmationJKT = *cnf.JKT
		}
	}
	if raw, ok := m["aud"]; ok {
		var one string
		if err := json.Unmarshal(raw, &one); err == nil {
			c.Audience = []string{one}
		} else if err := json.Unmarshal(raw, &c.Audience); err != nil {
			return nil, errors.New("aud: not a string or array of strings")
		}
	}
	return &c, nil
}

// maxNumericDate is 9999-12-31T23:59:59Z.
const maxNumericDate = 253402300799

// numericDate decodes a NumericDate (RFC 7519 §2): seconds since the epoch,
// possibly fractional, positive and before year 10000.
func numericDate(raw json.RawMessage) (time.Time, error) {
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil {
		return time.Time{}, errors.New("not a number")
	}
	if f <= 0 || f > maxNumericDate {
		return time.Time{}, errors.New("out of range")
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
}
