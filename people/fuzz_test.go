package people

import (
	"regexp"
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

// FuzzCheckPassword: the policy never panics, and its message is one of
// its fixed reasons — nothing of the password but its length.
func FuzzCheckPassword(f *testing.F) {
	for _, s := range []string{"password1234", "correct horse battery staple", "", "\xff\xfe", "the password"} {
		f.Add(s)
	}
	reasons := map[string]bool{}
	for _, r := range []string{"the password is not valid UTF-#", "the password is longer than # bytes",
		"the password must be at least # characters long (it has #)", "the password is one character repeated",
		"the password is a run of consecutive characters (like #… or abcd…)", "the password must not contain the user ID",
		"this password is on a list of commonly used (breached) passwords", "the password is a commonly used password repeated",
		"this password is a commonly used (breached) password with digits or symbols added"} {
		reasons[r] = true
	}
	digits := regexp.MustCompile(`[0-9]+`)
	f.Fuzz(func(t *testing.T, s string) {
		err := CheckPassword(s, "alice")
		if err == nil {
			return
		}
		if msg := digits.ReplaceAllString(err.Error(), "#"); !reasons[msg] {
			t.Fatalf("unexpected message %q", err.Error())
		}
	})
}
