// Package sqlite is latchkey's embedded storage backend: a token.Store on
// one SQLite file, through the pure-Go modernc.org/sqlite driver.
//
// Every connection runs in WAL mode with synchronous=FULL, so a commit that
// returned survives a process crash and a power loss. Writes go through a
// single connection in BEGIN IMMEDIATE transactions; reads use a separate
// pool of query-only connections, which WAL lets run beside the writer.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"runtime"
	"sync"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/latchkey/latchkey/token"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is a token.Store backed by one SQLite database file.
type DB struct {
	w *sql.DB // the one write connection
	r *sql.DB // query-only read pool

	byDigest *sql.Stmt // the verification lookup, prepared on the read pool

	creates groupCommit // concurrent CreateKey calls share commits

	closeOnce sync.Once
	closeErr  error
}

var _ token.Store = (*DB)(nil)

// pragmas apply to every connection of both pools.
var pragmas = []string{
	"busy_timeout(5000)",
	"foreign_keys(1)",
	"journal_mode(WAL)",
	"synchronous(FULL)",
}

// dsn returns the driver's data source name for the database file at path.
// The pragmas are part of it so that every pooled connection gets them.
func dsn(path string, readOnly bool) string {
	q := url.Values{"_pragma": pragmas}
	if readOnly {
		q.Set("_query_only", "1") // applied after the pragmas
	} else {
		q.Set("_txlock", "immediate")
	}
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// Open opens (creating if needed) the database file at path and brings its
// schema up to date.
func Open(ctx context.Context, path string) (*DB, error) {
	w, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}

	// The read pool opens after the writer has created the file and
	// switched it to WAL, which a query-only connection could not do.
	r, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	db := &DB{w: w, r: r}
	if db.byDigest, err = r.PrepareContext(ctx, selectKey+" WHERE digest = ?"); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: prepare: %w", path, err)
	}
	return db, nil
}

// migrate applies the embedded migrations that db has not seen yet.
func migrate(ctx context.Context, db *sql.DB) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// Ping reports whether both pools can reach the database.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.w.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping writer: %w", err)
	}
	if err := db.r.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping readers: %w", err)
	}
	return nil
}

// Close closes both pools. Calling it again returns the first result.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		var errs []error
		if db.byDigest != nil {
			errs = append(errs, db.byDigest.Close())
		}
		errs = append(errs, db.r.Close(), db.w.Close())
		if err := errors.Join(errs...); err != nil {
			db.closeErr = fmt.Errorf("sqlite: close: %w", err)
		}
	})
	return db.closeErr
}

// inTx runs fn in a write transaction (BEGIN IMMEDIATE, through the single
// write connection) and commits if fn returns nil. fn must not use the
// store's write methods: they wait for the connection fn holds.
func (db *DB) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// dbErr maps driver errors onto the storage errors of package token:
// sql.ErrNoRows becomes token.ErrNotFound and a uniqueness violation
// token.ErrConflict; the original stays in the chain.
func dbErr(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return token.ErrNotFound
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %w", token.ErrConflict, err)
		}
	}
	return err
}

// querier is what reads need of a *sql.DB or a *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}
