package httpsig

import (
	"errors"
	"fmt"
)

// This file is a strict parser for the subset of RFC 8941 structured fields
// that Signature-Input, Signature and Content-Digest use. It never panics,
// refuses duplicate keys (RFC 8941 would keep the last one; two readers that
// disagree about which one counts is what a strict parser avoids), refuses
// decimals, and bounds everything it reads.

// Bounds on untrusted input.
const (
	maxFieldLen   = 8 << 10 // bytes in one combined field value
	maxMembers    = 8       // dictionary members (signatures, digests)
	maxComponents = 32      // items in one inner list
	maxParams     = 8       // parameters on one item or inner list
	maxKeyLen     = 64      // bytes in a key
	maxIntDigits  = 15      // RFC 8941 integers
)

type itemKind uint8

const (
	kindInteger itemKind = iota + 1
	kindString
	kindToken
	kindBytes
	kindBool
)

// bareItem is an RFC 8941 bare item; kind says which field is set.
type bareItem struct {
	kind itemKind
	num  int64
	str  string // string or token
	raw  []byte // byte sequence
	b    bool
}

type param struct {
	key string
	val bareItem
}

type sfItem struct {
	val    bareItem
	params []param
}

// member is one dictionary member: an item (val) or an inner list (items),
// with params.
type member struct {
	key    string
	inner  bool
	val    bareItem
	items  []sfItem
	params []param
}

var errSyntax = errors.New("structured field syntax")

type sfParser struct {
	s string
	i int
}

func (p *sfParser) fail(what string) error {
	return fmt.Errorf("%w: %s at offset %d", errSyntax, what, p.i)
}

func (p *sfParser) eof() bool { return p.i >= len(p.s) }

func (p *sfParser) skipSP() {
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
}

func (p *sfParser) skipOWS() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

// parseDictionary parses an RFC 8941 dictionary (§4.2.2).
func parseDictionary(s string) ([]member, error) {
	if len(s) > maxFieldLen {
		return nil, fmt.Errorf("%w: field longer than %d bytes", errSyntax, maxFieldLen)
	}
	p := &sfParser{s: s}
	p.skipSP()
	if p.eof() {
		return nil, p.fail("empty dictionary")
	}
	var out []member
	for {
		if len(out) == maxMembers {
			return nil, p.fail(fmt.Sprintf("more than %d members", maxMembers))
		}
		m, err := p.member()
		if err != nil {
			return nil, err
		}
		for _, o := range out {
			if o.key == m.key {
				return nil, p.fail("duplicate key")
			}
		}
		out = append(out, m)
		p.skipOWS()
		if p.eof() {
			return out, nil
		}
		if p.s[p.i] != ',' {
			return nil, p.fail("expected comma")
		}
		p.i++
		p.skipOWS()
		if p.eof() {
			return nil, p.fail("trailing comma")
		}
	}
}

func (p *sfParser) member() (member, error) {
	var m member
	var err error
	if m.key, err = p.key(); err != nil {
		return m, err
	}
	if p.eof() || p.s[p.i] != '=' {
		m.val = bareItem{kind: kindBool, b: true}
		m.params, err = p.parameters()
		return m, err
	}
	p.i++
	if !p.eof() && p.s[p.i] == '(' {
		m.inner = true
		m.items, m.params, err = p.innerList()
		return m, err
	}
	if m.val, err = p.bareItem(); err != nil {
		return m, err
	}
	m.params, err = p.parameters()
	return m, err
}

func (p *sfParser) innerList() ([]sfItem, []param, error) {
	p.i++ // '('
	var items []sfItem
	for {
		p.skipSP()
		if p.eof() {
			return nil, nil, p.fail("unterminated inner list")
		}
		if p.s[p.i] == ')' {
			p.i++
			params, err := p.parameters()
			return items, params, err
		}
		if len(items) == maxComponents {
			return nil, nil, p.fail(fmt.Sprintf("more than %d items in inner list", maxComponents))
		}
		v, err := p.bareItem()
		if err != nil {
			return nil, nil, err
		}
		params, err := p.parameters()
		if err != nil {
			return nil, nil, err
		}
		items = append(items, sfItem{val: v, params: params})
		if p.eof() || (p.s[p.i] != ' ' && p.s[p.i] != ')') {
			return nil, nil, p.fail("expected space or ')' in inner list")
		}
	}
}

func (p *sfParser) parameters() ([]param, error) {
	var out []param
	for !p.eof() && p.s[p.i] == ';' {
		p.i++
		p.skipSP()
		key, err := p.key()
		if err != nil {
			return nil, err
		}
		for _, o := range out {
			if o.key == key {
				return nil, p.fail("duplicate parameter")
			}
		}
		if len(out) == maxParams {
			return nil, p.fail(fmt.Sprintf("more than %d parameters", maxParams))
		}
		v := bareItem{kind: kindBool, b: true}
		if !p.eof() && p.s[p.i] == '=' {
			p.i++
			if v, err = p.bareItem(); err != nil {
				return nil, err
			}
		}
		out = append(out, param{key: key, val: v})
	}
	return out, nil
}

func (p *sfParser) key() (string, error) {
	start := p.i
	if p.eof() || !(isLCAlpha(p.s[p.i]) || p.s[p.i] == '*') {
		return "", p.fail("expected key")
	}
	p.i++
	for !p.eof() && isKeyChar(p.s[p.i]) {
		p.i++
	}
	if p.i-start > maxKeyLen {
		return "", p.fail("key too long")
	}
	return p.s[start:p.i], nil
}
