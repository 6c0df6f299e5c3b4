package scope_test

import (
	"strings"
	"testing"

	"github.com/latchkey/latchkey/scope"
)

func TestParseExpr(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // canonical form
	}{
		{"single scope", "orders:read", "orders:read"},
		{"spec example", "orders:read AND (billing:read OR admin)", "orders:read AND (billing:read OR admin)"},
		{"AND binds tighter than OR", "a OR b AND c", "a OR b AND c"},
		{"AND binds tighter on the left", "a AND b OR c", "a AND b OR c"},
		{"parentheses override precedence", "(a OR b) AND c", "(a OR b) AND c"},
		{"redundant parentheses dropped", "((a)) AND (b AND c)", "a AND b AND c"},
		{"nested OR flattened", "a OR (b OR (c OR d))", "a OR b OR c OR d"},
		{"lowercase keywords", "a and b or c", "a AND b OR c"},
		{"mixed-case keywords", "a And b oR c", "a AND b OR c"},
		{"symbol operators", "a && (b || c)", "a AND (b OR c)"},
		{"symbols without spaces", "a&&(b||c)", "a AND (b OR c)"},
		{"whitespace of all kinds", "\ta\n AND\r\n b ", "a AND b"},
		{"wildcard operand", "orders:* OR admin", "orders:* OR admin"},
		{"duplicate operands kept", "a OR a", "a OR a"},
		{"16 levels of nesting", strings.Repeat("(", 16) + "a" + strings.Repeat(")", 16), "a"},
		{"max length", strings.Repeat("a", scope.MaxLen) + strings.Repeat(" ", scope.MaxExprLen-scope.MaxLen), strings.Repeat("a", scope.MaxLen)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := mustParse(t, tt.in)
			if got := e.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseExprErrors(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{"empty", "", "scope expression: empty"},
		{"only spaces", "  \t ", "scope expression: empty"},
		{"dangling AND", "a AND", "unexpected end of input at offset 5"},
		{"dangling OR", "a OR ", "unexpected end of input at offset 5"},
		{"leading operator", "AND a", `unexpected "AND" at offset 0`},
		{"double operator", "a AND OR b", `unexpected "OR" at offset 6`},
		{"missing operator", "a b", `unexpected "b" at offset 2, want AND, OR or ")"`},
		{"operand before parenthesis", "a (b)", `unexpected "(" at offset 2`},
		{"unclosed parenthesis", "orders:read AND (admin", `unclosed "(" at offset 16`},
		{"lone open parenthesis", "(", "unexpected end of input at offset 1"},
		{"extra close parenthesis", "orders:read) OR a", `unexpected ")" at offset 11`},
		{"close parenthesis after operator", "orders:read AND ) b", `scope expression: unexpected ")" at offset 16`},
		{"empty parentheses", "()", `unexpected ")" at offset 1`},
		{"NOT keyword", "a AND NOT b", "NOT at offset 6 is not supported"},
		{"lowercase not", "not a", "NOT at offset 0 is not supported"},
		{"bang", "a && !b", "NOT at offset 5 is not supported"},
		{"single ampersand", "a & b", `unexpected '&' at offset 2, want "&&" or AND`},
		{"single pipe", "a | b", `unexpected '|' at offset 2, want "||" or OR`},
		{"17 levels of nesting", strings.Repeat("(", 17) + "a" + strings.Repeat(")", 17), "nested more than 16 deep at offset 16"},
		{"too long", strings.Repeat(" ", scope.MaxExprLen) + "a", "1025 bytes long, more than the limit of 1024"},
		{"canonical form too long", strings.Repeat("a||", 300) + "a", "canonical form is 1501 bytes long"},
		{"uppercase operand", "Orders:read OR admin", `operand at offset 0: scope "Orders:read" has uppercase letter`},
		{"empty segment operand", "admin OR orders:", `operand at offset 9: scope "orders:" has an empty segment`},
		{"bare wildcard operand", "*", "bare wildcard"},
		{"too long operand", strings.Repeat("a", scope.MaxLen+1), "more than the limit of 128"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := scope.ParseExpr(tt.in)
			if e != nil {
				t.Errorf("got expression %q, want nil", e)
			}
			checkErr(t, err, tt.wantErr)
		})
	}
}

func TestExprEval(t *testing.T) {
	// Each expression over the operands a, b and c is checked against every
	// combination of granted operands.
	tests := []struct {
		name  string
		expr  string
		truth func(a, b, c bool) bool
	}{
		{"single", "a", func(a, b, c bool) bool { return a }},
		{"AND", "a AND b", func(a, b, c bool) bool { return a && b }},
		{"OR", "a || b", func(a, b, c bool) bool { return a || b }},
		{"precedence", "a OR b AND c", func(a, b, c bool) bool { return a || (b && c) }},
		{"precedence left", "a AND b OR c", func(a, b, c bool) bool { return (a && b) || c }},
		{"parentheses", "(a OR b) AND c", func(a, b, c bool) bool { return (a || b) && c }},
		{"three-way AND", "a && b && c", func(a, b, c bool) bool { return a && b && c }},
		{"three-way OR", "a or b or c", func(a, b, c bool) bool { return a || b || c }},
		{"nested", "(a AND (b OR c)) OR (b AND c)", func(a, b, c bool) bool { return (a && (b || c)) || (b && c) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := mustParse(t, tt.expr)
			for mask := range 8 {
				a, b, c := mask&1 != 0, mask&2 != 0, mask&4 != 0
				var set scope.Set
				for i, name := range []string{"a", "b", "c"} {
					if mask&(1<<i) != 0 {
						set = append(set, name)
					}
				}
				if got, want := e.Eval(set), tt.truth(a, b, c); got != want {
					t.Errorf("Eval(%q) = %v, want %v", set, got, want)
				}
			}
		})
	}
}

func TestExprEvalWildcards(t *testing.T) {
	e := mustParse(t, "orders:read AND (billing:read OR admin)")
	tests := []struct {
		name    string
		granted scope.Set
		want    bool
	}{
		{"nothing", nil, false},
		{"exact scopes", scope.Set{"orders:read", "billing:read"}, true},
		{"wildcards", scope.Set{"orders:*", "billing:*"}, true},
		{"admin branch", scope.Set{"orders:*", "admin"}, true},
		{"missing right side", scope.Set{"orders:*", "billing:write"}, false},
		{"missing left side", scope.Set{"admin", "billing:read"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := e.Eval(tt.granted); got != tt.want {
				t.Errorf("Eval(%q) = %v, want %v", tt.granted, got, tt.want)
			}
		})
	}
}

func TestExprNilAndZero(t *testing.T) {
	var nilExpr *scope.Expr
	zero := &scope.Expr{}
	for name, e := range map[string]*scope.Expr{"nil": nilExpr, "zero": zero} {
		t.Run(name, func(t *testing.T) {
			if e.Eval(scope.Set{"admin"}) {
				t.Error("Eval = true, want false")
			}
			if s := e.String(); s != "" {
				t.Errorf("String() = %q, want empty", s)
			}
			checkStrings(t, e.Scopes(), nil)
		})
	}
}

func TestExprStringRoundTrip(t *testing.T) {
	for _, in := range []string{
		"a", "a AND b", "a || b && c", "(a or b) and (c or d)", "((a OR b) AND c) OR d",
		"x:* AND (y:read OR (z:a AND (z:b OR z:c)))",
		strings.Repeat("(a OR ", 16) + "b" + strings.Repeat(") AND c", 16),
	} {
		t.Run(in, func(t *testing.T) {
			e := mustParse(t, in)
			e2 := mustParse(t, e.String())
			if e2.String() != e.String() {
				t.Errorf("String() not stable: %q, then %q", e.String(), e2.String())
			}
			checkStrings(t, e2.Scopes(), e.Scopes())
		})
	}
}

func TestExprScopes(t *testing.T) {
	e := mustParse(t, "orders:read AND (billing:read OR admin OR orders:read)")
	checkStrings(t, e.Scopes(), []string{"admin", "billing:read", "orders:read"})
}

func TestExprEvalNoAllocs(t *testing.T) {
	e := mustParse(t, "orders:read AND (billing:read OR admin)")
	set := scope.Set{"orders:*", "admin"}
	if n := testing.AllocsPerRun(100, func() { e.Eval(set) }); n != 0 {
		t.Errorf("Eval allocates %v times", n)
	}
	if n := testing.AllocsPerRun(100, func() { _ = e.String() }); n != 0 {
		t.Errorf("String allocates %v times", n)
	}
}

func BenchmarkExprEval(b *testing.B) {
	e, err := scope.ParseExpr("orders:read AND (billing:read OR billing:write OR admin) AND (audit:read OR keys:read)")
	if err != nil {
		b.Fatal(err)
	}
	set := scope.Set{"orders:*", "billing:read", "billing:write", "users:read", "keys:*"}
	b.ReportAllocs()
	for b.Loop() {
		if !e.Eval(set) {
			b.Fatal("not satisfied")
		}
	}
}

// mustParse parses s or fails t.
func mustParse(t *testing.T, s string) *scope.Expr {
	t.Helper()
	e, err := scope.ParseExpr(s)
	if err != nil {
		t.Fatalf("ParseExpr(%q): %v", s, err)
	}
	return e
}
