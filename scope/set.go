package scope

// Set is a list of granted scopes. A nil or empty Set grants nothing.
type Set []string

// Has reports whether some scope in s grants r (see [Grants]).
// It does not allocate.
func (s Set) Has(r string) bool {
	for _, g := range s {
		if Grants(g, r) {
			return true
		}
	}
	return false
}

// HasAll reports whether s grants every scope in rs. It is true for an
// empty rs. It does not allocate.
func (s Set) HasAll(rs []string) bool {
	for _, r := range rs {
		if !s.Has(r) {
			return false
		}
	}
	return true
}

// Missing returns the scopes in rs that s does not grant, in the order of
// rs, or nil if s grants them all. It is meant for error messages such as
// "missing scopes: orders:write".
func (s Set) Missing(rs []string) []string {
	var out []string
	for _, r := range rs {
		if !s.Has(r) {
			out = append(out, r)
		}
	}
	return out
}

// Intersect returns the scopes granted by both a and b, as needed for a user
// token's effective scopes (the key's scopes ∩ the user's permissions): every
// scope of a that b grants plus every scope of b that a grants, normalized
// (sorted, without duplicates; nil if empty).
//
// Wildcards work on both sides: "orders:*" ∩ "orders:read" and
// "orders:read" ∩ "orders:*" are both "orders:read", and "orders:*" ∩
// "orders:*" is "orders:*".
func Intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		if Set(b).Has(x) {
			out = append(out, x)
		}
	}
	for _, y := range b {
		if Set(a).Has(y) {
			out = append(out, y)
		}
	}
	return Normalize(out)
}
