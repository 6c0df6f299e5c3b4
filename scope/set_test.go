package scope_test

import (
	"fmt"
	"testing"

	"github.com/latchkey/latchkey/scope"
)

func TestSetHas(t *testing.T) {
	set := scope.Set{"orders:*", "billing:read", "admin"}
	tests := []struct {
		name string
		set  scope.Set
		r    string
		want bool
	}{
		{"exact", set, "billing:read", true},
		{"via wildcard", set, "orders:items:read", true},
		{"single segment", set, "admin", true},
		{"not granted", set, "billing:write", false},
		{"wildcard parent not granted", set, "orders", false},
		{"nil set", nil, "admin", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.set.Has(tt.r); got != tt.want {
				t.Errorf("%q.Has(%q) = %v, want %v", tt.set, tt.r, got, tt.want)
			}
		})
	}
}

func TestSetHasAllMissing(t *testing.T) {
	set := scope.Set{"orders:*", "admin"}
	tests := []struct {
		name        string
		rs          []string
		wantAll     bool
		wantMissing []string
	}{
		{"none required", nil, true, nil},
		{"all granted", []string{"orders:read", "admin"}, true, nil},
		{"one missing", []string{"orders:read", "billing:read"}, false, []string{"billing:read"}},
		{"order kept", []string{"z", "orders:x", "a"}, false, []string{"z", "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := set.HasAll(tt.rs); got != tt.wantAll {
				t.Errorf("HasAll(%q) = %v, want %v", tt.rs, got, tt.wantAll)
			}
			checkStrings(t, set.Missing(tt.rs), tt.wantMissing)
		})
	}
}

func TestSetNoAllocs(t *testing.T) {
	set := scope.Set{"billing:read", "orders:*", "admin"}
	rs := []string{"orders:items:read", "admin", "billing:read"}
	if n := testing.AllocsPerRun(100, func() { set.Has("orders:read") }); n != 0 {
		t.Errorf("Has allocates %v times", n)
	}
	if n := testing.AllocsPerRun(100, func() { set.HasAll(rs) }); n != 0 {
		t.Errorf("HasAll allocates %v times", n)
	}
}

func TestIntersect(t *testing.T) {
	tests := []struct {
		name string
		a, b []string
		want []string
	}{
		{"both nil", nil, nil, nil},
		{"one empty", []string{"admin"}, nil, nil},
		{"disjoint", []string{"orders:read"}, []string{"billing:read"}, nil},
		{"equal", []string{"orders:read"}, []string{"orders:read"}, []string{"orders:read"}},
		{"wildcard on left", []string{"orders:*"}, []string{"orders:read"}, []string{"orders:read"}},
		{"wildcard on right", []string{"orders:read"}, []string{"orders:*"}, []string{"orders:read"}},
		{"wildcard both sides", []string{"orders:*"}, []string{"orders:*"}, []string{"orders:*"}},
		{"nested wildcards", []string{"orders:*"}, []string{"orders:items:*"}, []string{"orders:items:*"}},
		{"wildcard does not grant parent", []string{"orders:*"}, []string{"orders"}, nil},
		{"wildcard does not grant longer name", []string{"orders:*"}, []string{"ordersx:read"}, nil},
		{
			"mixed, sorted and deduplicated",
			[]string{"orders:*", "billing:read", "admin", "admin"},
			[]string{"orders:write", "orders:read", "billing:*", "audit:read", "admin"},
			[]string{"admin", "billing:read", "orders:read", "orders:write"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := scope.Intersect(tt.a, tt.b)
			checkStrings(t, got, tt.want)
			// Every result is granted by both sides; the operation is symmetric.
			if !scope.Set(tt.a).HasAll(got) || !scope.Set(tt.b).HasAll(got) {
				t.Errorf("Intersect(%q, %q) = %q holds a scope not granted by both", tt.a, tt.b, got)
			}
			checkStrings(t, scope.Intersect(tt.b, tt.a), tt.want)
		})
	}
}

func BenchmarkSetHas(b *testing.B) {
	set := make(scope.Set, 0, 20)
	for i := range 19 {
		set = append(set, fmt.Sprintf("service%d:read", i))
	}
	set = append(set, "orders:*")
	b.ReportAllocs()
	for b.Loop() {
		if !set.Has("orders:items:read") {
			b.Fatal("not granted")
		}
	}
}
