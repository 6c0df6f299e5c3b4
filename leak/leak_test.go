package leak

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/apitoken"
)

// TestLeak_SubmitAfterClose: a closed service refuses reports (the server
// is shutting down) instead of panicking or blocking.
func TestLeak_SubmitAfterClose(t *testing.T) {
	s := New(Config{})
	ctx := context.Background()
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s.Close()
	if err := s.Submit(ctx, apitoken.FromString("x"), Origin{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Submit after Close: %v", err)
	}
	if err := s.Flush(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Flush after Close: %v", err)
	}
}

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
