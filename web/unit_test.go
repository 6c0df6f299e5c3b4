package web

import (
	"strings"
	"testing"

	"github.com/latchkey/latchkey/people"
)

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

// TestReturnToLengths: a return_to to the authorization endpoint may be
// up to 4096 bytes (a request carries state, PKCE, scopes); any other stays
// within 1024; the other rules hold for both.
func TestReturnToLengths(t *testing.T) {
	authz := "/oauth2/authorize?state=" + strings.Repeat("s", 3000)
	if safeReturn(authz) != authz {
		t.Error("a 3 kB authorization request was refused")
	}
	for _, s := range []string{"/oauth2/authorize?state=" + strings.Repeat("s", 4100), "/ui/me?x=" + strings.Repeat("x", 1100),
		"/oauth2/authorizeX?" + strings.Repeat("x", 1100), "/oauth2/authorize?\\x" + strings.Repeat("x", 1100)} {
		if safeReturn(s) != "" {
			t.Errorf("safeReturn kept a %d-byte %.20q", len(s), s)
		}
	}
}

// TestAMR: session factors map to RFC 8176 methods, with mfa for two.
func TestAMR(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want string
	}{
		{[]string{people.MethodPassword}, "pwd"},
		{[]string{people.MethodDirectory, people.MethodTOTP}, "pwd otp mfa"},
		{[]string{people.MethodPasskey}, "hwk"},
		{[]string{people.MethodPassword, people.MethodRecoveryCode}, "pwd otp mfa"},
		{nil, ""},
	} {
		var fs []people.Factor
		for _, m := range c.in {
			fs = append(fs, people.Factor{Method: m})
		}
		if got := strings.Join(amr(fs), " "); got != c.want {
			t.Errorf("amr(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestFormSource: the client's origin joins form-action only as a plain
// origin or scheme; nothing else reaches the policy.
func TestFormSource(t *testing.T) {
	for in, want := range map[string]string{
		"https://web.example/cb":             "https://web.example",
		"https://web.example:8443/cb?x=1":    "https://web.example:8443",
		"http://127.0.0.1:53122/cb":          "http://127.0.0.1:53122",
		"http://[::1]:8080/cb":               "http://[::1]:8080",
		"com.example.app:/cb":                "com.example.app:",
		"https://web.example;script-src */x": "",
		"https://web.exa mple/cb":            "",
		"https://web.example'/cb":            "",
		"":                                   "",
		"/relative":                          "",
		"https:///nohost":                    "",
	} {
		if got := formSource(in); got != want {
			t.Errorf("formSource(%q) = %q, want %q", in, got, want)
		}
	}
}
