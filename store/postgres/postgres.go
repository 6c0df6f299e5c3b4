// Package postgres is latchkey's storage backend for several nodes: a
// token.Store on a PostgreSQL database, through jackc/pgx.
//
// Every node is stateless; the database is the one source of truth. Writes
// that read before they write (UpdateKey, RotateKey, DeleteKey and the
// keyspace and principal updates) lock the row with SELECT … FOR UPDATE in
// one transaction, and SpendCredits is a single conditional UPDATE, so that
// they stay exact however many nodes run them at once. synchronous_commit is
// left on: a commit that returned survives a crash of the database server.
//
// Times are stored as UTC Unix nanoseconds (bigint), exactly as the SQLite
// backend stores them, so that an installation moves between the two without
// rounding. Metadata and audit details are jsonb: they come back with the
// same meaning, not byte for byte.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latchkey/latchkey/token"
)

// DB is a token.Store backed by a PostgreSQL database.
type DB struct {
	pool *pgxpool.Pool
}

var _ token.Store = (*DB)(nil)

// Defaults of the options.
const (
	DefaultPoolSize         = 10
	DefaultStatementTimeout = 5 * time.Second
)

// config is what the options set.
type config struct {
	poolSize         int
	statementTimeout time.Duration
	schema           string
}

// Option changes how Open connects.
type Option func(*config)

// WithPoolSize sets the most connections the node opens (default 10).
func WithPoolSize(n int) Option { return func(c *config) { c.poolSize = n } }

// WithStatementTimeout sets the server-side statement_timeout of every
// connection (default 5 s; 0 disables it). A statement that runs longer
// fails, and the caller answers "unavailable" rather than wait.
func WithStatementTimeout(d time.Duration) Option {
	return func(c *config) { c.statementTimeout = d }
}

// WithSchema keeps every table in the named schema, created if missing.
// Without it, tables live in the connection's current schema (normally
// public, or what the URL's search_path says).
func WithSchema(name string) Option { return func(c *config) { c.schema = name } }

// schemaRE restricts schema names to plain identifiers.
var schemaRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// Open connects to the database at url (postgres://…), brings its schema up
// to date under an advisory lock, so that nodes starting together migrate
// once, and returns the store.
func Open(ctx context.Context, url string, opts ...Option) (*DB, error) {
	c := config{poolSize: DefaultPoolSize, statementTimeout: DefaultStatementTimeout}
	for _, o := range opts {
		o(&c)
	}
	switch {
	case c.poolSize < 1 || c.poolSize > 1000:
		return nil, fmt.Errorf("postgres: open: pool size %d is not between 1 and 1000", c.poolSize)
	case c.statementTimeout < 0:
		return nil, fmt.Errorf("postgres: open: negative statement timeout %s", c.statementTimeout)
	case c.schema != "" && !schemaRE.MatchString(c.schema):
		return nil, fmt.Errorf("postgres: open: schema name %q is not a plain identifier", c.schema)
	}
	// The URL may hold a password: it appears in no message of ours, and
	// pgx leaves it out of its parse errors.
	pc, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	pc.MaxConns = int32(c.poolSize)
	params := pc.ConnConfig.RuntimeParams
	params["statement_timeout"] = strconv.FormatInt(c.statementTimeout.Milliseconds(), 10)
	if params["application_name"] == "" {
		params["application_name"] = "latchkey"
	}
	if c.schema != "" {
		params["search_path"] = pgx.Identifier{c.schema}.Sanitize()
	}
	if err := migrate(ctx, pc.ConnConfig, c.schema); err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	return &DB{pool: pool}, nil
}

// Ping reports whether the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// Close closes the pool, waiting for connections in use to be returned.
// Every later call fails. Calling it again does nothing.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// inTx runs fn in a transaction (READ COMMITTED) and commits if fn returns
// nil; otherwise it rolls back and returns fn's error as it is.
func (db *DB) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback(ctx)
		return err
	}
	return commitOutcome(tx.Commit(ctx))
}

// batcher is a pool or a transaction.
type batcher interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// execBatch sends the statements of b in one round trip and returns the
// first error, mapped by dbErr. Outside a transaction the batch runs as
// one implicit transaction: all statements or none.
func execBatch(ctx context.Context, q batcher, b *pgx.Batch) error {
	br := q.SendBatch(ctx, b)
	var first error
	for range b.Len() {
		if _, err := br.Exec(); err != nil && first == nil {
			first = err
		}
	}
	if err := br.Close(); err != nil && first == nil {
		first = err
	}
	return dbErr(first)
}

// PostgreSQL error codes that dbErr maps.
const (
	uniqueViolation       = "23505"
	untranslatableChar    = "22P05" // \u0000 in a jsonb document
	characterNotSupported = "22021" // a NUL byte or invalid UTF-8 in text
)

// dbErr maps driver errors onto the storage errors of package token:
// pgx.ErrNoRows becomes token.ErrNotFound, a uniqueness violation
// token.ErrConflict, and a value PostgreSQL cannot hold (a NUL character,
// which SQLite would store) a token.Invalid error; the original stays in
// the chain.
func dbErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return token.ErrNotFound
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case uniqueViolation:
			return fmt.Errorf("%w: %w", token.ErrConflict, err)
		case untranslatableChar, characterNotSupported:
			return &token.Error{Kind: token.Invalid, Code: "invalid",
				Msg: "a value contains a NUL character or is not valid UTF-8", Err: err}
		}
	}
	return err
}
