package scope

import "strings"

// MaxExprLen is the maximum length in bytes of a scope expression, both as
// given to [ParseExpr] and in its canonical form ([Expr.String]).
const MaxExprLen = 1024

// MaxExprDepth is the deepest parenthesis nesting [ParseExpr] accepts.
const MaxExprDepth = 16

// Expr is a parsed boolean scope expression such as
// "orders:read AND (billing:read OR admin)". Its operands are scopes; its
// operators are AND and OR, with AND binding tighter than OR. An Expr is
// created by [ParseExpr], is immutable and is safe for concurrent use.
// The zero Expr and a nil *Expr are satisfied by nothing.
type Expr struct {
	root node
	text string // canonical form
}

type op uint8

const (
	opScope op = iota
	opAnd
	opOr
)

// node is one node of an expression tree. AND and OR nodes have at least
// two kids and no kid with the same operator (the parser flattens them).
type node struct {
	op    op
	scope string // for opScope
	kids  []node // for opAnd and opOr
}

// Eval reports whether granted satisfies e, each operand scope being
// satisfied when granted.Has it. It does not allocate.
func (e *Expr) Eval(granted Set) bool {
	if e == nil {
		return false
	}
	return e.root.eval(granted)
}

func (n *node) eval(granted Set) bool {
	switch n.op {
	case opAnd:
		for i := range n.kids {
			if !n.kids[i].eval(granted) {
				return false
			}
		}
		return true
	case opOr:
		for i := range n.kids {
			if n.kids[i].eval(granted) {
				return true
			}
		}
		return false
	default:
		return n.scope != "" && granted.Has(n.scope)
	}
}

// String returns the canonical form of e: operands separated by " AND " and
// " OR ", parenthesised only where precedence requires it (an OR inside an
// AND), for example "orders:read AND (billing:read OR admin)". ParseExpr of
// the result yields an equivalent Expr with the same String. It returns ""
// for the zero Expr and for nil.
func (e *Expr) String() string {
	if e == nil {
		return ""
	}
	return e.text
}

// Scopes returns every operand scope of e, normalized (sorted, without
// duplicates).
func (e *Expr) Scopes() []string {
	if e == nil {
		return nil
	}
	var out []string
	e.root.collect(&out)
	return Normalize(out)
}

func (n *node) collect(out *[]string) {
	if n.op == opScope {
		if n.scope != "" {
			*out = append(*out, n.scope)
		}
		return
	}
	for i := range n.kids {
		n.kids[i].collect(out)
	}
}

// format writes the canonical form of n to b.
func (n *node) format(b *strings.Builder) {
	sep := " AND "
	switch n.op {
	case opScope:
		b.WriteString(n.scope)
		return
	case opOr:
		sep = " OR "
	}
	for i := range n.kids {
		if i > 0 {
			b.WriteString(sep)
		}
		k := &n.kids[i]
		paren := n.op == opAnd && k.op == opOr
		if paren {
			b.WriteByte('(')
		}
		k.format(b)
		if paren {
			b.WriteByte(')')
		}
	}
}
