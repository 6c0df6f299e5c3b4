package postgres

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"time"

	"github.com/latchkey/latchkey/ratelimit"
)

// Bounds of a time stored as Unix nanoseconds in a bigint.
var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// enc converts domain values to query arguments and keeps the first
// error, so that an argument list can be built in one expression.
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

// strings returns ss for a NOT NULL text[] column: nil is an empty array.
func (e *enc) strings(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}

// prefixes returns ps for a NOT NULL cidr[] column.
func (e *enc) prefixes(ps []netip.Prefix) []netip.Prefix {
	if ps == nil {
		return []netip.Prefix{}
	}
	return ps
}

// raw returns a JSON document for a jsonb column, or NULL when there is
// none.
func (e *enc) raw(m json.RawMessage) any {
	if len(m) == 0 {
		return nil
	}
	if !json.Valid(m) {
		e.fail(errors.New("metadata is not valid JSON"))
		return nil
	}
	return []byte(m)
}

// detail returns an audit event's detail as a JSON object, or NULL.
func (e *enc) detail(d map[string]string) any {
	if len(d) == 0 {
		return nil
	}
	b, err := json.Marshal(d)
	e.fail(err)
	return b
}

// storedLimit is a rate limit as stored in a jsonb array, the same shape
// as in SQLite.
type storedLimit struct {
	Name     string `json:"name"`
	Limit    int64  `json:"limit"`
	WindowNS int64  `json:"window_ns"`
}

// limits returns ls as a JSON array; nil is "[]".
func (e *enc) limits(ls []ratelimit.Limit) []byte {
	out := make([]storedLimit, len(ls))
	for i, l := range ls {
		out[i] = storedLimit{l.Name, l.Limit, int64(l.Window)}
	}
	b, err := json.Marshal(out)
	e.fail(err)
	return b
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

// nullBytes returns b for a nullable bytea column, or NULL when it is
// empty.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// scanner is a pgx.Row or pgx.Rows.
type scanner interface{ Scan(dest ...any) error }

// dec converts column values back to domain values and keeps the first
// error, like enc.
type dec struct{ err error }

// time returns the time stored by enc.time, in UTC; NULL is the zero time.
func (d *dec) time(n *int64) time.Time {
	if n == nil {
		return time.Time{}
	}
	return time.Unix(0, *n).UTC()
}

// strings returns a text[] value; an empty array is nil.
func (d *dec) strings(ss []string) []string {
	if len(ss) == 0 {
		return nil
	}
	return ss
}

// prefixes returns a cidr[] value; an empty array is nil.
func (d *dec) prefixes(ps []netip.Prefix) []netip.Prefix {
	if len(ps) == 0 {
		return nil
	}
	return ps
}

// raw returns a stored jsonb document in compact form, nil for NULL.
// jsonb keeps the meaning, not the bytes: keys come back sorted and
// duplicates removed.
func (d *dec) raw(b []byte) json.RawMessage {
	if b == nil {
		return nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		d.fail(fmt.Errorf("decode metadata: %w", err))
		return nil
	}
	return json.RawMessage(buf.Bytes())
}

// detail decodes an audit event's detail; NULL is nil.
func (d *dec) detail(b []byte) map[string]string {
	if b == nil {
		return nil
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		d.fail(fmt.Errorf("decode detail: %w", err))
	}
	return m
}

// limits decodes a jsonb array of rate limits; an empty one is nil.
func (d *dec) limits(col string, b []byte) []ratelimit.Limit {
	var stored []storedLimit
	if err := json.Unmarshal(b, &stored); err != nil {
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
