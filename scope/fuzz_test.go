package scope_test

import (
	"strings"
	"testing"

	"github.com/latchkey/latchkey/scope"
)

func FuzzParseExpr(f *testing.F) {
	for _, s := range []string{
		"orders:read",
		"orders:read AND (billing:read OR admin)",
		"a OR b AND c",
		"a&&(b||c)",
		"(a or b) and (c or d)",
		"orders:* OR x:y:*",
		"a AND NOT b",
		"((((a))))",
		"a) OR (b",
		"a & b | c",
		"Orders:read",
		"",
		strings.Repeat("(", 17) + "a" + strings.Repeat(")", 17),
		strings.Repeat("a||", 300) + "a",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := scope.ParseExpr(s)
		if err != nil {
			if e != nil {
				t.Fatalf("ParseExpr(%q) returned both an expression and error %v", s, err)
			}
			return
		}
		canon := e.String()
		if len(canon) > scope.MaxExprLen {
			t.Fatalf("canonical form of %q is %d bytes long", s, len(canon))
		}
		e2, err := scope.ParseExpr(canon)
		if err != nil {
			t.Fatalf("ParseExpr(%q) ok, but its String %q does not parse: %v", s, canon, err)
		}
		if e2.String() != canon {
			t.Fatalf("String not stable: %q, then %q", canon, e2.String())
		}
		scopes := e.Scopes()
		if err := scope.ValidateAll(scopes[:min(len(scopes), scope.MaxScopes)]); err != nil {
			t.Fatalf("operand of %q is not valid: %v", s, err)
		}
		// Scope expressions are monotone: granting every operand satisfies
		// them, granting nothing does not.
		if !e.Eval(scopes) || e.Eval(nil) {
			t.Fatalf("%q: Eval(all operands) = %v, Eval(nil) = %v", s, e.Eval(scopes), e.Eval(nil))
		}
		for _, set := range sampleSets(scopes) {
			if e.Eval(set) != e2.Eval(set) {
				t.Fatalf("%q and its String %q disagree on %q", s, canon, set)
			}
		}
	})
}

// sampleSets returns a few subsets of scopes to evaluate expressions with.
func sampleSets(scopes []string) []scope.Set {
	var even, odd scope.Set
	for i, s := range scopes {
		if i%2 == 0 {
			even = append(even, s)
		} else {
			odd = append(odd, s)
		}
	}
	sets := []scope.Set{even, odd}
	for i := 0; i < len(scopes) && i < 4; i++ {
		sets = append(sets, scope.Set{scopes[i]}, append(scope.Set{}, scopes[i+1:]...))
	}
	return sets
}

func FuzzValidate(f *testing.F) {
	for _, s := range []string{
		"orders:read", "orders:*", "admin", "billing.invoices:write", "a:b:*",
		"", "*", "Orders:read", "orders:", ":read", "orders::read", "or ders",
		"orders:*:read", "orders:re*", "a-b_c/d.e", "and", "ä", strings.Repeat("a", 129),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if err := scope.Validate(s); err != nil {
			return
		}
		if len(s) == 0 || len(s) > scope.MaxLen || s == "*" {
			t.Fatalf("Validate accepted %q", s)
		}
		if !scope.Grants(s, s) || !(scope.Set{s}).Has(s) {
			t.Fatalf("%q does not grant itself", s)
		}
		switch strings.ToLower(s) {
		case "and", "or", "not":
			return // keywords cannot be operands
		}
		e, err := scope.ParseExpr(s)
		if err != nil {
			t.Fatalf("valid scope %q is not a valid expression: %v", s, err)
		}
		if e.String() != s {
			t.Fatalf("ParseExpr(%q).String() = %q", s, e.String())
		}
	})
}
