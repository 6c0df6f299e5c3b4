package leak

import (
	"context"
	"errors"
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
	if err := s.Submit(ctx, apitoken.FromString("x"), "", ""); !errors.Is(err, ErrClosed) {
		t.Errorf("Submit after Close: %v", err)
	}
	if err := s.Flush(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Flush after Close: %v", err)
	}
}
