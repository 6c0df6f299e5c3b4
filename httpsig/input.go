package httpsig

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// AlgHMACSHA256 is the RFC 9421 name of the only algorithm this package
// implements.
const AlgHMACSHA256 = "hmac-sha256"

// Params are the signature parameters of RFC 9421 §2.3. A zero time or an
// empty string means the parameter is absent.
type Params struct {
	Created time.Time // created: creation time, whole seconds
	Expires time.Time // expires: expiration time, whole seconds
	Nonce   string    // nonce: a value used once, against replay
	Alg     string    // alg: the algorithm, e.g. [AlgHMACSHA256]
	KeyID   string    // keyid: names the key, and so the secret
	Tag     string    // tag: names the application profile
}

// SignatureInput is one member of a Signature-Input field: a label, the
// ordered list of covered component identifiers, and the parameters.
type SignatureInput struct {
	Label      string
	Components []string
	Params     Params

	// order is the order of the parameters as received, so that
	// @signature-params reproduces the signer's serialization. Nil means
	// defaultParamOrder.
	order []string
}

// Signature is one member of a Signature field: a label and the raw bytes of
// the signature.
type Signature struct {
	Label string
	Value []byte
}

var defaultParamOrder = []string{"created", "expires", "nonce", "keyid", "alg", "tag"}

// String returns the serialized inner list with its parameters, which is
// both the member value in Signature-Input and the value of the
// @signature-params component, for example
//
//	("@method" "@path");created=1618884473;keyid="k"
func (in SignatureInput) String() string {
	var b strings.Builder
	b.WriteByte('(')
	for i, c := range in.Components {
		if i > 0 {
			b.WriteByte(' ')
		}
		writeSFString(&b, c)
	}
	b.WriteByte(')')
	order := in.order
	if order == nil {
		order = defaultParamOrder
	}
	p := in.Params
	for _, k := range order {
		switch k {
		case "created":
			if !p.Created.IsZero() {
				b.WriteString(";created=" + strconv.FormatInt(p.Created.Unix(), 10))
			}
		case "expires":
			if !p.Expires.IsZero() {
				b.WriteString(";expires=" + strconv.FormatInt(p.Expires.Unix(), 10))
			}
		case "nonce":
			writeStringParam(&b, "nonce", p.Nonce)
		case "keyid":
			writeStringParam(&b, "keyid", p.KeyID)
		case "alg":
			writeStringParam(&b, "alg", p.Alg)
		case "tag":
			writeStringParam(&b, "tag", p.Tag)
		}
	}
	return b.String()
}

func writeStringParam(b *strings.Builder, key, v string) {
	if v == "" {
		return
	}
	b.WriteString(";" + key + "=")
	writeSFString(b, v)
}

// writeSFString writes an RFC 8941 string; v must be printable ASCII
// (validate checks).
func writeSFString(b *strings.Builder, v string) {
	b.WriteByte('"')
	for i := 0; i < len(v); i++ {
		if v[i] == '"' || v[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(v[i])
	}
	b.WriteByte('"')
}

// validate checks what String and the signature base rely on: known,
// distinct components and serializable parameters.
func (in SignatureInput) validate() error {
	if len(in.Components) > maxComponents {
		return fmt.Errorf("%w: more than %d components", ErrMalformed, maxComponents)
	}
	for i, c := range in.Components {
		if err := checkComponentName(c); err != nil {
			return err
		}
		for _, d := range in.Components[:i] {
			if d == c {
				return fmt.Errorf("%w: component %q covered twice", ErrMalformed, c)
			}
		}
	}
	p := in.Params
	if (!p.Created.IsZero() && p.Created.Unix() < 0) || (!p.Expires.IsZero() && p.Expires.Unix() < 0) {
		return fmt.Errorf("%w: negative timestamp", ErrMalformed)
	}
	for _, s := range []string{p.Nonce, p.Alg, p.KeyID, p.Tag} {
		if !isPrintableASCII(s) || len(s) > maxFieldLen {
			return fmt.Errorf("%w: parameter is not a printable ASCII string", ErrMalformed)
		}
	}
	return nil
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// ParseSignatureInput parses a Signature-Input field value (RFC 9421 §4.1).
// Several field lines must be joined with ", " first. Each member must be an
// inner list of strings without parameters; the only parameters accepted are
// created and expires (non-negative integers) and nonce, alg, keyid and tag
// (non-empty strings). Errors wrap [ErrMalformed].
func ParseSignatureInput(field string) ([]SignatureInput, error) {
	members, err := parseDictionary(field)
	if err != nil {
		return nil, fmt.Errorf("%w: signature-input: %v", ErrMalformed, err)
	}
	out := make([]SignatureInput, 0, len(members))
	for _, m := range members {
		in, err := inputFromMember(m)
		if err != nil {
			return nil, fmt.Errorf("%w: signature-input: %v", ErrMalformed, err)
		}
		out = append(out, in)
	}
	return out, nil
}

func inputFromMember(m member) (SignatureInput, error) {
	in := SignatureInput{Label: m.key}
	if !m.inner {
		return in, fmt.Errorf("member is not an inner list")
	}
	for _, it := range m.items {
		if it.val.kind != kindString {
			return in, fmt.Errorf("component identifier is not a string")
		}
		if len(it.params) > 0 {
			return in, fmt.Errorf("component parameters are not supported")
		}
		in.Components = append(in.Components, it.val.str)
	}
	in.order = make([]string, 0, len(m.params))
	for _, p := range m.params {
		if err := setParam(&in.Params, p); err != nil {
			return in, err
		}
		in.order = append(in.order, p.key)
	}
	if err := in.validate(); err != nil {
		return in, err
	}
	return in, nil
}

func setParam(ps *Params, p param) error {
	switch p.key {
	case "created", "expires":
		if p.val.kind != kindInteger || p.val.num < 0 {
			return fmt.Errorf("parameter %s is not a non-negative integer", p.key)
		}
		t := time.Unix(p.val.num, 0)
		if p.key == "created" {
			ps.Created = t
		} else {
			ps.Expires = t
		}
		return nil
	case "nonce", "alg", "keyid", "tag":
		if p.val.kind != kindString || p.val.str == "" {
			return fmt.Errorf("parameter %s is not a non-empty string", p.key)
		}
		switch p.key {
		case "nonce":
			ps.Nonce = p.val.str
		case "alg":
			ps.Alg = p.val.str
		case "keyid":
			ps.KeyID = p.val.str
		default:
			ps.Tag = p.val.str
		}
		return nil
	}
	return fmt.Errorf("unknown signature parameter")
}

// ParseSignature parses a Signature field value (RFC 9421 §4.2): a
// dictionary whose members are byte sequences (":base64:") without
// parameters. Errors wrap [ErrMalformed].
func ParseSignature(field string) ([]Signature, error) {
	members, err := parseDictionary(field)
	if err != nil {
		return nil, fmt.Errorf("%w: signature: %v", ErrMalformed, err)
	}
	out := make([]Signature, 0, len(members))
	for _, m := range members {
		if m.inner || m.val.kind != kindBytes || len(m.params) > 0 {
			return nil, fmt.Errorf("%w: signature: member is not a byte sequence", ErrMalformed)
		}
		out = append(out, Signature{Label: m.key, Value: m.val.raw})
	}
	return out, nil
}
