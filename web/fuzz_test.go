package web

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzSafeReturn: a return_to that is kept is a path of this site — no
// scheme, no host, never "//" or "/\" however it is escaped.
func FuzzSafeReturn(f *testing.F) {
	for _, s := range []string{"/ui/me", "//evil", "/\\evil", "/%2F%2Fevil", "https://x", "/a?b=//c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := safeReturn(s)
		if got == "" {
			return
		}
		if got != s || !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.Contains(got, "\\\\") {
			t.Fatalf("safeReturn(%q) = %q", s, got)
		}
		u, err := url.Parse(got)
		if err != nil || u.Host != "" || u.Scheme != "" {
			t.Fatalf("safeReturn(%q) kept a URL with a host or scheme", s)
		}
		// What a browser resolves it to stays on the site.
		base, _ := url.Parse("https://latchkey.example/login")
		if r := base.ResolveReference(u); r.Host != "latchkey.example" {
			t.Fatalf("safeReturn(%q) resolves to host %q", s, r.Host)
		}
	})
}
