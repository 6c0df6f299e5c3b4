package scope

import (
	"errors"
	"fmt"
	"strings"
)

// ParseExpr parses a boolean scope expression.
//
// Operands are scopes, checked with [Validate]. The operators are AND and
// OR, as case-insensitive words or as "&&" and "||"; AND binds tighter than
// OR, and parentheses group, nested at most [MaxExprDepth] deep. Because
// the words are keywords, the scopes "and", "or" and "not" cannot be
// operands. NOT ("not", "!") is rejected: a requirement cannot be negative.
// Input longer than [MaxExprLen] bytes is rejected, and so is input whose
// canonical form ([Expr.String]) would be longer, which can happen with
// "&&" and "||" written without spaces.
//
// Errors start with "scope expression:" and name the problem and its byte
// offset, for example `scope expression: unexpected ")" at offset 14`.
func ParseExpr(s string) (*Expr, error) {
	if len(s) > MaxExprLen {
		return nil, fmt.Errorf("scope expression: %d bytes long, more than the limit of %d", len(s), MaxExprLen)
	}
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("scope expression: empty")
	}
	p := &parser{src: s}
	if err := p.next(); err != nil {
		return nil, err
	}
	root, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		return nil, p.unexpected()
	}
	var b strings.Builder
	root.format(&b)
	if b.Len() > MaxExprLen {
		return nil, fmt.Errorf("scope expression: canonical form is %d bytes long, more than the limit of %d", b.Len(), MaxExprLen)
	}
	return &Expr{root: root, text: b.String()}, nil
}

type tokKind uint8

const (
	tokEOF tokKind = iota
	tokScope
	tokAnd
	tokOr
	tokLParen
	tokRParen
)

type token struct {
	kind tokKind
	text string // as written
	off  int    // byte offset in the input
}

// parser is a recursive-descent parser over a one-token lookahead lexer:
//
//	or      = and { OR and }
//	and     = primary { AND primary }
//	primary = scope | "(" or ")"
type parser struct {
	src   string
	pos   int // offset of the next unread byte
	tok   token
	depth int // open parentheses
}

// next reads the next token into p.tok. It rejects NOT and stray
// characters.
func (p *parser) next() error {
	for p.pos < len(p.src) && isSpace(p.src[p.pos]) {
		p.pos++
	}
	start := p.pos
	if start == len(p.src) {
		p.tok = token{kind: tokEOF, off: start}
		return nil
	}
	kind, n := tokScope, 1
	switch c := p.src[start]; c {
	case '(':
		kind = tokLParen
	case ')':
		kind = tokRParen
	case '&', '|':
		kind, n = tokAnd, 2
		word := "AND"
		if c == '|' {
			kind, word = tokOr, "OR"
		}
		if start+1 == len(p.src) || p.src[start+1] != c {
			return fmt.Errorf(`scope expression: unexpected %q at offset %d, want "%c%c" or %s`, c, start, c, c, word)
		}
	case '!':
		return errNot(start)
	default:
		for n = 0; start+n < len(p.src) && !isDelim(p.src[start+n]); n++ {
		}
	}
	p.pos = start + n
	p.tok = token{kind: kind, text: p.src[start:p.pos], off: start}
	if kind == tokScope {
		switch {
		case strings.EqualFold(p.tok.text, "and"):
			p.tok.kind = tokAnd
		case strings.EqualFold(p.tok.text, "or"):
			p.tok.kind = tokOr
		case strings.EqualFold(p.tok.text, "not"):
			return errNot(start)
		}
	}
	return nil
}

func errNot(off int) error {
	return fmt.Errorf("scope expression: NOT at offset %d is not supported: a scope requirement cannot be negative", off)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isDelim(c byte) bool {
	return isSpace(c) || c == '(' || c == ')' || c == '&' || c == '|' || c == '!'
}

// unexpected returns the error for the current token in a place where it
// does not belong.
func (p *parser) unexpected() error {
	switch p.tok.kind {
	case tokEOF:
		return fmt.Errorf("scope expression: unexpected end of input at offset %d", p.tok.off)
	case tokScope, tokLParen:
		return fmt.Errorf(`scope expression: unexpected %s at offset %d, want AND, OR or ")"`, quote(p.tok.text), p.tok.off)
	}
	return fmt.Errorf("scope expression: unexpected %s at offset %d", quote(p.tok.text), p.tok.off)
}

func (p *parser) parseOr() (node, error) {
	return p.parseList(opOr, tokOr, (*parser).parseAnd)
}

func (p *parser) parseAnd() (node, error) {
	return p.parseList(opAnd, tokAnd, (*parser).parsePrimary)
}

// parseList parses operands joined by the operator token sep, flattening
// operands that are themselves op nodes.
func (p *parser) parseList(o op, sep tokKind, operand func(*parser) (node, error)) (node, error) {
	var kids []node
	for {
		n, err := operand(p)
		if err != nil {
			return node{}, err
		}
		if n.op == o {
			kids = append(kids, n.kids...)
		} else {
			kids = append(kids, n)
		}
		if p.tok.kind != sep {
			break
		}
		if err := p.next(); err != nil {
			return node{}, err
		}
	}
	if len(kids) == 1 {
		return kids[0], nil
	}
	return node{op: o, kids: kids}, nil
}

func (p *parser) parsePrimary() (node, error) {
	switch t := p.tok; t.kind {
	case tokScope:
		if err := Validate(t.text); err != nil {
			return node{}, fmt.Errorf("scope expression: operand at offset %d: %w", t.off, err)
		}
		return node{op: opScope, scope: t.text}, p.next()
	case tokLParen:
		if p.depth == MaxExprDepth {
			return node{}, fmt.Errorf("scope expression: parentheses nested more than %d deep at offset %d", MaxExprDepth, t.off)
		}
		p.depth++
		if err := p.next(); err != nil {
			return node{}, err
		}
		n, err := p.parseOr()
		if err != nil {
			return node{}, err
		}
		if p.tok.kind == tokEOF {
			return node{}, fmt.Errorf(`scope expression: unclosed "(" at offset %d`, t.off)
		}
		if p.tok.kind != tokRParen {
			return node{}, p.unexpected()
		}
		p.depth--
		return n, p.next()
	}
	return node{}, p.unexpected()
}
