package leak

import (
	"strings"
	"testing"
)

// TestLeak_URLKeptClean: a reported URL is kept as valid UTF-8 without
// control characters, cut to MaxURLLen.
func TestLeak_URLKeptClean(t *testing.T) {
	for in, want := range map[string]string{
		"https://x.example/a":          "https://x.example/a",
		"https://x\x00.example/\n":     "https://x.example/",
		"bad \xff utf-8":               "bad  utf-8",
		strings.Repeat("é", MaxURLLen): strings.Repeat("é", MaxURLLen/2),
	} {
		if got := cutURL(in); got != want {
			t.Errorf("cutURL(%.20q) = %.20q (%d bytes), want %.20q", in, got, len(got), want)
		}
	}
}
