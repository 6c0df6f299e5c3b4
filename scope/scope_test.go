package scope_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/scope"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr string // substring of the error; "" means valid
	}{
		{"valid/two segments", "orders:read", ""},
		{"valid/wildcard last", "orders:*", ""},
		{"valid/single segment", "admin", ""},
		{"valid/dots in segment", "billing.invoices:write", ""},
		{"valid/three segments", "a:b:c", ""},
		{"valid/deep wildcard", "a:b:*", ""},
		{"valid/punctuation after first byte", "a-b_c/d.e:f9", ""},
		{"valid/digits", "v2:0", ""},
		{"valid/keyword-like word", "and", ""},
		{"valid/max length", strings.Repeat("a", scope.MaxLen), ""},
		{"invalid/empty", "", "empty"},
		{"invalid/uppercase", "Orders:read", `scope "Orders:read" has uppercase letter 'O' at offset 0`},
		{"invalid/uppercase later", "orders:Read", "offset 7"},
		{"invalid/trailing colon", "orders:", `scope "orders:" has an empty segment`},
		{"invalid/leading colon", ":read", "empty segment"},
		{"invalid/double colon", "orders::read", "empty segment"},
		{"invalid/only colon", ":", "empty segment"},
		{"invalid/space", "or ders", `invalid character " " at offset 2`},
		{"invalid/wildcard in middle", "orders:*:read", "wildcard before its last segment"},
		{"invalid/bare wildcard", "*", "bare wildcard"},
		{"invalid/partial wildcard", "orders:re*", `"*" inside a segment at offset 9`},
		{"invalid/wildcard prefix", "orders:*read", `"*" inside a segment`},
		{"invalid/double wildcard", "orders:**", `"*" inside a segment`},
		{"invalid/segment starts with dot", "orders:.read", "starting with '.'"},
		{"invalid/segment starts with dash", "-orders", "starting with '-'"},
		{"invalid/non-ASCII", "bestellungen:lösen", `invalid character "\xc3" at offset 14`},
		{"invalid/NUL byte", "orders\x00", "invalid character"},
		{"invalid/too long", strings.Repeat("a", scope.MaxLen+1), "129 bytes long, more than the limit of 128"},
		{"invalid/huge input quoted truncated", strings.Repeat("a", 1<<20), `"... is 1048576 bytes long`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := scope.Validate(tt.in)
			checkErr(t, err, tt.wantErr)
			if err != nil && len(err.Error()) > 300 {
				t.Errorf("error message is %d bytes long", len(err.Error()))
			}
		})
	}
}

func TestValidateAll(t *testing.T) {
	many := make([]string, scope.MaxScopes+1)
	for i := range many {
		many[i] = "orders:read"
	}
	tests := []struct {
		name    string
		in      []string
		wantErr string
	}{
		{"nil", nil, ""},
		{"all valid", []string{"orders:read", "admin"}, ""},
		{"duplicates allowed", []string{"admin", "admin"}, ""},
		{"exactly MaxScopes", many[:scope.MaxScopes], ""},
		{"one invalid", []string{"admin", "Orders"}, `scope "Orders"`},
		{"too many", many, "too many scopes: 257"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, scope.ValidateAll(tt.in), tt.wantErr)
		})
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{"nil", nil, nil},
		{"empty", []string{}, nil},
		{"sorted and deduplicated", []string{"b", "a", "b", "c", "a"}, []string{"a", "b", "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.in)
			got := scope.Normalize(in)
			checkStrings(t, got, tt.want)
			if !slices.Equal(in, tt.in) {
				t.Errorf("Normalize modified its input: %q", in)
			}
		})
	}
}

func TestGrants(t *testing.T) {
	tests := []struct {
		name string
		g, r string
		want bool
	}{
		{"exact", "orders:read", "orders:read", true},
		{"different action", "orders:read", "orders:write", false},
		{"single segment exact", "admin", "admin", true},
		{"wildcard grants child", "orders:*", "orders:read", true},
		{"wildcard grants deep path", "orders:*", "orders:items:read", true},
		{"wildcard does not grant its parent", "orders:*", "orders", false},
		{"wildcard does not grant a longer name", "orders:*", "ordersx:read", false},
		{"wildcard does not grant a sibling", "orders:*", "billing:read", false},
		{"wildcard does not grant empty remainder", "orders:*", "orders:", false},
		{"deep wildcard grants deeper", "orders:items:*", "orders:items:read", true},
		{"deep wildcard does not grant shallower", "orders:items:*", "orders:read", false},
		{"non-wildcard does not grant child", "orders", "orders:read", false},
		{"required wildcard/equal", "orders:*", "orders:*", true},
		{"required wildcard/broader grant", "orders:*", "orders:items:*", true},
		{"required wildcard/narrower grant", "orders:items:*", "orders:*", false},
		{"required wildcard/concrete grant", "orders:read", "orders:*", false},
		{"empty strings do not panic", "", "", true},
		{"invalid wildcard alone", "*", "orders:read", false},
		{"short granted", ":", "x", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := scope.Grants(tt.g, tt.r); got != tt.want {
				t.Errorf("Grants(%q, %q) = %v, want %v", tt.g, tt.r, got, tt.want)
			}
		})
	}
}

// checkErr fails t unless err matches want: nil for "", else an error
// containing want.
func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("unexpected error: %v", err)
	case want != "" && err == nil:
		t.Errorf("got no error, want one containing %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Errorf("error %q does not contain %q", err, want)
	}
}

// checkStrings fails t unless got equals want, treating nil and empty
// differently.
func checkStrings(t *testing.T, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) || (got == nil) != (want == nil) {
		t.Errorf("got %#v, want %#v", got, want)
	}
}
