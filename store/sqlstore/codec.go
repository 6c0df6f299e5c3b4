package sqlstore

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"time"

	"github.com/latchkey/latchkey/ratelimit"
)

// How values are stored, the same on both engines: times as UTC Unix
// nanoseconds (integer; NULL is the zero time, "never"), so that an
// installation moves between the engines without rounding; durations as
// nanoseconds; booleans as the engine's boolean (0/1 in SQLite); metadata,
// audit details and rate limits as JSON (jsonb on PostgreSQL: the same
// meaning comes back, not the same bytes); lists as the dialect says.

// Bounds of a time stored as Unix nanoseconds in an int64.
var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// enc converts domain values to query arguments and keeps the first error,
// so that an argument list can be built in one expression.
type enc struct {
	d   *dialect
	err error
}

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

// strings returns ss for a NOT NULL list column.
func (e *enc) strings(ss []string) any {
	v, err := e.d.strings(ss)
	e.fail(err)
	return v
}

// prefixes returns ps for a NOT NULL list column.
func (e *enc) prefixes(ps []netip.Prefix) any {
	v, err := e.d.prefixes(ps)
	e.fail(err)
	return v
}

// raw returns a JSON document, or NULL when there is none.
func (e *enc) raw(m json.RawMessage) any {
	if len(m) == 0 {
		return nil
	}
	if !json.Valid(m) {
		e.fail(errors.New("metadata is not valid JSON"))
		return nil
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

// storedLimit is a rate limit as stored in a JSON array.
type storedLimit struct {
	Name     string `json:"name"`
	Limit    int64  `json:"limit"`
	WindowNS int64  `json:"window_ns"`
}

// limits returns ls as a JSON array; nil is "[]".
func (e *enc) limits(ls []ratelimit.Limit) any {
	out := make([]storedLimit, len(ls))
	for i, l := range ls {
		out[i] = storedLimit{l.Name, l.Limit, int64(l.Window)}
	}
	b, err := json.Marshal(out)
	e.fail(err)
	return string(b)
}

func (e *enc) fail(err error) {
	if e.err == nil && err != nil {
		e.err = err
	}
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

// nonNilBytes returns b, or an empty slice for nil: a NOT NULL binary
// column would take nil for NULL.
func nonNilBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// dec converts column values back to domain values and keeps the first
// error, like enc.
type dec struct {
	d   *dialect
	err error
}

// time returns the time stored by enc.time, in UTC; NULL is the zero time.
func (d *dec) time(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}

// raw returns a stored JSON document, nil for NULL; compacted where the
// engine does not keep the bytes (jsonb).
func (d *dec) raw(s sql.NullString) json.RawMessage {
	if !s.Valid {
		return nil
	}
	if !d.d.compactJSON {
		return json.RawMessage(s.String)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(s.String)); err != nil {
		d.fail(fmt.Errorf("decode metadata: %w", err))
		return nil
	}
	return json.RawMessage(buf.Bytes())
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

// limits decodes a JSON array of rate limits; an empty one is nil.
func (d *dec) limits(col, s string) []ratelimit.Limit {
	var stored []storedLimit
	if err := json.Unmarshal([]byte(s), &stored); err != nil {
		d.fail(fmt.Errorf("decode %s: %w", col, err))
	}
	if len(stored) == 0 {
		return nil
	}
	ls := make([]ratelimit.Limit, len(stored))
	for i, l := range stored {
		ls[i] = ratelimit.Limit{Name: l.Name, Limit: l.Limit, Window: time.Duration(l.WindowNS)}
	}
	return ls
}

func (d *dec) fail(err error) {
	if d.err == nil && err != nil {
		d.err = err
	}
}

// nilIfEmpty returns s, or nil when it is empty: an empty list reads back
// as nil on both engines.
func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}
