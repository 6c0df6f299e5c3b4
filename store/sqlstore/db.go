// Package sqlstore is latchkey's storage: one implementation of token.Store
// for both of its SQL engines, SQLite (one file, embedded, the default) and
// PostgreSQL (several stateless nodes on one database).
//
// The transactions, row codecs, paging and audit writes are written once,
// in SQL both engines accept; what differs (placeholders do not: both read
// "$n") sits behind the seam of seam.go, with the engines' own parts in
// sqlite.go and postgres.go. Writes that read before they write (UpdateKey,
// RotateKey, DeleteKey and the keyspace and principal updates) run in one
// write transaction that locks the row (SELECT … FOR UPDATE on PostgreSQL;
// SQLite's one writer holds the database from BEGIN IMMEDIATE on), and
// SpendCredits is a single conditional UPDATE, so that they stay exact
// however many nodes run them at once. Only the SHA-256 digest of a key is
// stored, never its plaintext.
//
// A new table is one migration per engine (migrations/sqlite,
// migrations/postgres), one file here and one conformance test in
// store/storetest, which both engines run.
package sqlstore

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/latchkey/latchkey/token"
)

// DB is a token.Store on SQLite or PostgreSQL.
type DB struct {
	e engine
	d *dialect
}

var (
	_ token.Store            = (*DB)(nil)
	_ token.IdempotencyStore = (*DB)(nil)
	_ token.TombstoneStore   = (*DB)(nil)
)

// Engine returns "sqlite" or "postgres".
func (db *DB) Engine() string { return db.d.name }

// Ping reports whether the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.e.ping(ctx); err != nil {
		return fmt.Errorf("%s: ping: %w", db.d.name, err)
	}
	return nil
}

// Close closes the connections, waiting for those in use. Every later call
// fails. Calling it again does nothing.
func (db *DB) Close() error {
	if err := db.e.close(); err != nil {
		return fmt.Errorf("%s: close: %w", db.d.name, err)
	}
	return nil
}

// errorf prefixes an error with the engine's name.
func (db *DB) errorf(format string, args ...any) error {
	return fmt.Errorf(db.d.name+": "+format, args...)
}

func (db *DB) enc() enc { return enc{d: db.d} }
func (db *DB) dec() dec { return dec{d: db.d} }

// scanner is a row or rows.
type scanner interface{ Scan(dest ...any) error }

// queryAll runs q and scans every row.
func queryAll[T any](ctx context.Context, qr querier, q string, args []any, scan func(scanner) (T, error)) ([]T, error) {
	rs, err := qr.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []T
	for rs.Next() {
		v, err := scan(rs)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rs.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// pageLimit returns the page size to use for a requested limit.
func pageLimit(n int) int {
	if n <= 0 {
		return token.DefaultPageSize
	}
	return n
}

// page trims items, read with LIMIT limit+1, to limit and returns the
// cursor of the next page: the last item's ID if a further row exists.
func page[T any](items []T, limit int, id func(T) string) ([]T, string) {
	if len(items) <= limit {
		return items, ""
	}
	items = items[:limit]
	return items, id(items[limit-1])
}

// lowerBound returns t as a bound on stored times: the zero time and
// times before the storable range bound nothing, later ones are clamped.
func lowerBound(t time.Time) int64 {
	switch {
	case t.IsZero() || t.Before(minTime):
		return math.MinInt64
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}
