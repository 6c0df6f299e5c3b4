package signer

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"unicode/utf8"
)

const maxJSONDepth = 16

var errNotStrict = errors.New("not strict JSON")

// strictObject reports whether b is one JSON object, valid UTF-8, with no
// duplicate member names at any depth and nothing after it (JWT-08,
// RFC 8725 §2.6 and §3.7). encoding/json alone keeps the last duplicate and
// replaces invalid UTF-8 silently, so it is checked here first.
func strictObject(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return false
	}
	if walkObject(dec, 1) != nil {
		return false
	}
	_, err = dec.Token()
	return err == io.EOF
}

// walkObject consumes the members of an object whose '{' was read.
func walkObject(dec *json.Decoder, depth int) error {
	seen := make(map[string]struct{})
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		name, ok := tok.(string)
		if !ok {
			return errNotStrict
		}
		if _, dup := seen[name]; dup {
			return errNotStrict
		}
		seen[name] = struct{}{}
		if err := walkValue(dec, depth); err != nil {
			return err
		}
	}
	_, err := dec.Token() // '}'
	return err
}

func walkValue(dec *json.Decoder, depth int) error {
	if depth > maxJSONDepth {
		return errNotStrict
	}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		return walkObject(dec, depth+1)
	case json.Delim('['):
		for dec.More() {
			if err := walkValue(dec, depth+1); err != nil {
				return err
			}
		}
		_, err := dec.Token() // ']'
		return err
	}
	return nil
}
