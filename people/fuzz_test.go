package people

import (
	"testing"
	"unicode/utf8"
)

// FuzzNormalizeCode: whatever is typed, a code that passes is exactly six
// ASCII digits.
func FuzzNormalizeCode(f *testing.F) {
	for _, s := range []string{"123456", " 123 456", "１２３４５６", "+123456", "12345６7", "\u200b123456"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := normalizeCode(s)
		if err != nil {
			return
		}
		if len(c) != TOTPDigits {
			t.Fatalf("normalizeCode(%q) = %q", s, c)
		}
		for i := 0; i < len(c); i++ {
			if c[i] < '0' || c[i] > '9' {
				t.Fatalf("normalizeCode(%q) = %q", s, c)
			}
		}
	})
}

// FuzzCanonicalUsername: canonicalising twice changes nothing, and the
// result has no spaces or invisible characters left.
func FuzzCanonicalUsername(f *testing.F) {
	for _, s := range []string{"admin", " Admin\u200b", "ＡＤＭＩＮ", "\xff", "ǅ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := CanonicalUsername(s)
		if utf8.ValidString(s) && CanonicalUsername(c) != c {
			t.Fatalf("not idempotent: %q → %q → %q", s, c, CanonicalUsername(c))
		}
	})
}

// FuzzCheckPassword: the policy never panics and never repeats a password
// in its message.
func FuzzCheckPassword(f *testing.F) {
	for _, s := range []string{"password1234", "correct horse battery staple", "", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if err := CheckPassword(s, "alice"); err != nil && len(s) >= 8 && containsStr(err.Error(), s) {
			t.Fatalf("message repeats the password: %v", err)
		}
	})
}

func containsStr(a, b string) bool {
	for i := 0; i+len(b) <= len(a); i++ {
		if a[i:i+len(b)] == b {
			return true
		}
	}
	return false
}
