package token

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
)

// Causes of a failed write, as WriteFailureCause names them.
const (
	CauseDiskFull    = "disk_full"   // no space left (SQLITE_FULL, ENOSPC, PostgreSQL 53100)
	CauseReadOnly    = "read_only"   // the store refuses writes (SQLITE_READONLY, EROFS, PostgreSQL 25006)
	CauseIO          = "io_error"    // the disk failed (SQLITE_IOERR, EIO)
	CauseUnavailable = "unavailable" // the database cannot be reached
)

// writeProbeKey is the nonce-table owner of the write probe's one row; it
// can never be a key ID.
const writeProbeKey = "latchkey:write-probe"

// WriteFailureCause names why a storage write failed, or "" when err is
// nil or not a storage fault (a domain error, a conflict, a cancelled
// request, an update function's own refusal): those say nothing about
// whether the store can accept writes.
func WriteFailureCause(err error) string {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) {
		return ""
	}
	if _, ok := errors.AsType[*Error](err); ok {
		return ""
	}
	if e, ok := errors.AsType[interface {
		error
		SQLState() string
	}](err); ok { // PostgreSQL
		switch st := e.SQLState(); {
		case st == "53100":
			return CauseDiskFull
		case st == "25006":
			return CauseReadOnly
		case st == "58030":
			return CauseIO
		case strings.HasPrefix(st, "08"), strings.HasPrefix(st, "57P"):
			return CauseUnavailable
		}
		return ""
	}
	if e, ok := errors.AsType[interface {
		error
		Code() int
	}](err); ok { // SQLite
		switch e.Code() & 0xff {
		case 13: // SQLITE_FULL
			return CauseDiskFull
		case 8: // SQLITE_READONLY
			return CauseReadOnly
		case 10: // SQLITE_IOERR
			return CauseIO
		}
	}
	switch {
	case errors.Is(err, syscall.ENOSPC):
		return CauseDiskFull
	case errors.Is(err, syscall.EROFS):
		return CauseReadOnly
	case errors.Is(err, syscall.EIO):
		return CauseIO
	case errors.Is(err, context.DeadlineExceeded):
		return CauseUnavailable
	}
	if _, ok := errors.AsType[net.Error](err); ok {
		return CauseUnavailable
	}
	return ""
}

// writeHealth remembers whether the last storage write failed, and why.
type writeHealth struct {
	cause     atomic.Pointer[string] // nil: the last write succeeded
	onFailure func(cause string)
}

// wrote records the outcome of a storage write and returns err.
func (s *Service) wrote(err error) error {
	if err == nil {
		s.writes.cause.Store(nil)
		return nil
	}
	if c := WriteFailureCause(err); c != "" {
		s.writes.cause.Store(&c)
		if s.writes.onFailure != nil {
			s.writes.onFailure(c)
		}
	}
	return err
}

// WriteFailing reports why the last storage write failed, or "" when it
// succeeded (or no write has been tried).
func (s *Service) WriteFailing() string {
	if c := s.writes.cause.Load(); c != nil {
		return *c
	}
	return ""
}

// ProbeWrite writes one row (the write probe's record in the nonce table,
// replaced each time, pruned like an expired nonce) and reports whether
// the store accepted it. Its outcome updates WriteFailing.
func (s *Service) ProbeWrite(ctx context.Context) error {
	now := s.Now()
	_, err := s.store.UseNonce(ctx, writeProbeKey, "probe", now)
	if err := s.wrote(err); err != nil {
		return Unavailablef(err, "the store cannot accept writes (%s)", orUnknown(WriteFailureCause(err)))
	}
	return nil
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown cause"
	}
	return s
}
