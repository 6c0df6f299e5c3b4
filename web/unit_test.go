package web

import "testing"

// TestReturnToStaysOnSite: return_to is a path on this site or nothing.
func TestReturnToStaysOnSite(t *testing.T) {
	for _, s := range []string{"/ui/me", "/oauth2/authorize?client_id=a&state=b", "/a/b#c", "/"} {
		if got := safeReturn(s); got != s {
			t.Errorf("safeReturn(%q) = %q, want it kept", s, got)
		}
	}
	for _, s := range []string{"//evil.example", "/\\evil.example", "https://evil.example", "https:evil", "javascript:alert(1)",
		"evil.example", "/%2f%2fevil.example", "/%5cevil", "/\tx", "\x00/", " /ui", "/a\\b", "//", "///evil", "http://127.0.0.1/"} {
		if got := safeReturn(s); got != "" {
			t.Errorf("safeReturn(%q) = %q, want refused", s, got)
		}
	}
}
