package httpsig

import "encoding/base64"

// Bare items (RFC 8941 §4.2.3.1) and character classes.

func (p *sfParser) bareItem() (bareItem, error) {
	if p.eof() {
		return bareItem{}, p.fail("expected item")
	}
	switch c := p.s[p.i]; {
	case c == '-' || isDigit(c):
		return p.integer()
	case c == '"':
		return p.str()
	case c == ':':
		return p.bytes()
	case c == '?':
		return p.boolean()
	case isAlpha(c) || c == '*':
		return p.token(), nil
	default:
		return bareItem{}, p.fail("unexpected character")
	}
}

func (p *sfParser) integer() (bareItem, error) {
	neg := false
	if p.s[p.i] == '-' {
		neg = true
		p.i++
	}
	var n int64
	digits := 0
	for !p.eof() && isDigit(p.s[p.i]) {
		if digits == maxIntDigits {
			return bareItem{}, p.fail("integer too long")
		}
		n = n*10 + int64(p.s[p.i]-'0')
		digits++
		p.i++
	}
	if digits == 0 {
		return bareItem{}, p.fail("expected digit")
	}
	if !p.eof() && p.s[p.i] == '.' {
		return bareItem{}, p.fail("decimals are not supported")
	}
	if neg {
		n = -n
	}
	return bareItem{kind: kindInteger, num: n}, nil
}

func (p *sfParser) str() (bareItem, error) {
	p.i++ // opening quote
	buf := make([]byte, 0, 32)
	for !p.eof() {
		c := p.s[p.i]
		p.i++
		switch {
		case c == '"':
			return bareItem{kind: kindString, str: string(buf)}, nil
		case c == '\\':
			if p.eof() || (p.s[p.i] != '"' && p.s[p.i] != '\\') {
				return bareItem{}, p.fail("bad escape in string")
			}
			buf = append(buf, p.s[p.i])
			p.i++
		case c < 0x20 || c > 0x7e:
			return bareItem{}, p.fail("invalid character in string")
		default:
			buf = append(buf, c)
		}
	}
	return bareItem{}, p.fail("unterminated string")
}

func (p *sfParser) token() bareItem {
	start := p.i
	p.i++
	for !p.eof() && (isTChar(p.s[p.i]) || p.s[p.i] == ':' || p.s[p.i] == '/') {
		p.i++
	}
	return bareItem{kind: kindToken, str: p.s[start:p.i]}
}

// bytes parses a byte sequence. Only the standard base64 alphabet with
// canonical padding is accepted: no base64url, no line breaks (which
// encoding/base64 would silently skip), no non-zero padding bits.
func (p *sfParser) bytes() (bareItem, error) {
	p.i++ // opening colon
	start := p.i
	for !p.eof() && p.s[p.i] != ':' {
		if !isBase64Char(p.s[p.i]) {
			return bareItem{}, p.fail("invalid character in byte sequence")
		}
		p.i++
	}
	if p.eof() {
		return bareItem{}, p.fail("unterminated byte sequence")
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(p.s[start:p.i])
	if err != nil {
		return bareItem{}, p.fail("invalid base64 in byte sequence")
	}
	p.i++ // closing colon
	return bareItem{kind: kindBytes, raw: raw}, nil
}

func (p *sfParser) boolean() (bareItem, error) {
	p.i++ // '?'
	if p.eof() || (p.s[p.i] != '0' && p.s[p.i] != '1') {
		return bareItem{}, p.fail("invalid boolean")
	}
	v := p.s[p.i] == '1'
	p.i++
	return bareItem{kind: kindBool, b: v}, nil
}

func isDigit(c byte) bool   { return '0' <= c && c <= '9' }
func isLCAlpha(c byte) bool { return 'a' <= c && c <= 'z' }
func isAlpha(c byte) bool   { return isLCAlpha(c) || ('A' <= c && c <= 'Z') }

func isKeyChar(c byte) bool {
	return isLCAlpha(c) || isDigit(c) || c == '_' || c == '-' || c == '.' || c == '*'
}

// isTChar reports whether c is an RFC 9110 tchar.
func isTChar(c byte) bool {
	if isAlpha(c) || isDigit(c) {
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

func isBase64Char(c byte) bool {
	return isAlpha(c) || isDigit(c) || c == '+' || c == '/' || c == '='
}
