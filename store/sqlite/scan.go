package sqlite

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
)

// Bounds of a time stored as Unix nanoseconds in an int64.
var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// enc converts domain values to column values and keeps the first error,
// so that a statement's argument list can be built in one expression.
type enc struct{ err error }

// time returns t as UTC Unix nanoseconds, or NULL for the zero time.
func (e *enc) time(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	if t.Before(minTime) || t.After(maxTime) {
		e.fail(fmt.Errorf("time %s is outside the storable range %d-%d", t.Format(time.RFC3339), minTime.Year(), maxTime.Year()))
		return nil
	}
	return t.UnixNano()
}

// strings returns ss as a JSON array; nil is "[]".
func (e *enc) strings(ss []string) any {
	if len(ss) == 0 {
		return "[]"
	}
	b, err := json.Marshal(ss)
	e.fail(err)
	return string(b)
}

// raw returns a JSON document as text, or NULL when there is none.
func (e *enc) raw(m json.RawMessage) any {
	if len(m) == 0 {
		return nil
	}
	if !json.Valid(m) {
		e.fail(errors.New("metadata is not valid JSON"))
	}
	return string(m)
}

// detail returns an audit event's detail as a JSON object, or NULL.
func (e *enc) detail(d map[string]string) any {
	if len(d) == 0 {
		return nil
	}
	b, err := json.Marshal(d)
	e.fail(err)
	return string(b)
}

func (e *enc) fail(err error) {
	if e.err == nil && err != nil {
		e.err = err
	}
}

// boolInt returns b as 0 or 1.
func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// nullString returns s, or NULL for "".
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// nullBytes returns b, or NULL when it is empty.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// dec converts column values back to domain values and keeps the first
// error, like enc.
type dec struct{ err error }

// time returns the time stored by enc.time, in UTC.
func (d *dec) time(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}

// strings decodes a JSON array; an empty one is nil.
func (d *dec) strings(col, s string) []string {
	var ss []string
	if err := json.Unmarshal([]byte(s), &ss); err != nil {
		d.fail(fmt.Errorf("decode %s: %w", col, err))
	}
	if len(ss) == 0 {
		return nil
	}
	return ss
}

// raw returns a stored JSON document, nil for NULL.
func (d *dec) raw(s sql.NullString) json.RawMessage {
	if !s.Valid {
		return nil
	}
	return json.RawMessage(s.String)
}

// detail decodes an audit event's detail; NULL is nil.
func (d *dec) detail(s sql.NullString) map[string]string {
	if !s.Valid {
		return nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(s.String), &m); err != nil {
		d.fail(fmt.Errorf("decode detail: %w", err))
	}
	return m
}

func (d *dec) fail(err error) {
	if d.err == nil && err != nil {
		d.err = err
	}
}
