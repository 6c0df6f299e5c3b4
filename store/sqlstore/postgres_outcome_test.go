package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/latchkey/latchkey/token"
)

// TestCommitOutcome: a failed COMMIT is "outcome unknown" unless the
// server refused it or the request never left.
func TestCommitOutcomePostgres(t *testing.T) {
	for _, tt := range []struct {
		name    string
		err     error
		unknown bool
	}{
		{"nil", nil, false},
		{"server refused (serialization failure)", &pgconn.PgError{Code: "40001"}, false},
		{"unique violation", fmt.Errorf("%w: x", token.ErrConflict), false},
		{"connection lost after sending", io.ErrUnexpectedEOF, true},
		{"context cancelled while waiting for the answer", context.Canceled, true},
		{"wrapped connection loss", fmt.Errorf("commit: %w", io.EOF), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := commitOutcome(tt.err)
			if got := errors.Is(err, token.ErrOutcomeUnknown); got != tt.unknown {
				t.Errorf("commitOutcome(%v) = %v; outcome unknown %v, want %v", tt.err, err, got, tt.unknown)
			}
			if tt.err != nil && !errors.Is(err, tt.err) && !errors.As(err, new(*pgconn.PgError)) {
				t.Errorf("commitOutcome(%v) = %v lost the cause", tt.err, err)
			}
		})
	}
}
