package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latchkey/latchkey/token"
)

// What only PostgreSQL has: a pool shared by stateless nodes, row locks
// (SELECT … FOR UPDATE) where SQLite has one writer, several statements
// in one round trip (pgx.Batch), statement timeouts, an advisory lock
// around migrations, and LISTEN/NOTIFY for the caches (notify.go).
// synchronous_commit is left on: a commit that returned survives a crash
// of the database server.

// Defaults of the PostgreSQL options.
const (
	DefaultPoolSize         = 10
	DefaultStatementTimeout = 5 * time.Second
)

// pgConfig is what the options set.
type pgConfig struct {
	poolSize         int
	statementTimeout time.Duration
	schema           string
}

// Option changes how OpenPostgres connects.
type Option func(*pgConfig)

// WithPoolSize sets the most connections the node opens (default 10).
func WithPoolSize(n int) Option { return func(c *pgConfig) { c.poolSize = n } }

// WithStatementTimeout sets the server-side statement_timeout of every
// connection (default 5 s; 0 disables it). A statement that runs longer
// fails, and the caller answers "unavailable" rather than wait.
func WithStatementTimeout(d time.Duration) Option {
	return func(c *pgConfig) { c.statementTimeout = d }
}

// WithSchema keeps every table in the named schema, created if missing.
// Without it, tables live in the connection's current schema (normally
// public, or what the URL's search_path says).
func WithSchema(name string) Option { return func(c *pgConfig) { c.schema = name } }

// schemaRE restricts schema names to plain identifiers.
var schemaRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// OpenPostgres connects to the database at url (postgres://…), brings its
// schema up to date under an advisory lock, so that nodes starting
// together migrate once, and returns the store.
func OpenPostgres(ctx context.Context, url string, opts ...Option) (*DB, error) {
	c := pgConfig{poolSize: DefaultPoolSize, statementTimeout: DefaultStatementTimeout}
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
	if err := migratePostgres(ctx, pc.ConnConfig, c.schema); err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	e := &pgEngine{pool: pool}
	return &DB{e: e, d: e.dialect()}, nil
}

// pgEngine is the engine of one PostgreSQL database (schema).
type pgEngine struct {
	pool *pgxpool.Pool
}

var postgresDialect = dialect{
	name:           "postgres",
	lockRow:        " FOR UPDATE",
	lockShared:     " FOR NO KEY UPDATE",
	lockKeep:       " FOR SHARE",
	lockTombstones: "LOCK TABLE revoked_digests IN SHARE ROW EXCLUSIVE MODE",
	skipLocked:     " FOR UPDATE OF d SKIP LOCKED",
	// Keyed by the schema, so that installations in different schemas of
	// one database do not wait for each other ("lkau").
	lockAudit: "SELECT pg_advisory_xact_lock(1818976629, hashtext(current_schema()))",
	// "lkwh", keyed by the schema too.
	lockWebhooks: "SELECT pg_advisory_xact_lock(1818982248, hashtext(current_schema()))",
	strings: func(ss []string) (any, error) {
		if ss == nil {
			return []string{}, nil // NOT NULL text[]
		}
		return ss, nil
	},
	stringsDst: func(ss *[]string) any { return ss },
	prefixes: func(ps []netip.Prefix) (any, error) {
		if ps == nil {
			return []netip.Prefix{}, nil // NOT NULL cidr[]
		}
		return ps, nil
	},
	prefixDst:   func(ps *[]netip.Prefix) any { return ps },
	compactJSON: true, // jsonb keeps the meaning, not the bytes
}

func (e *pgEngine) dialect() *dialect { return &postgresDialect }
func (e *pgEngine) reader() querier   { return pgQ{e.pool} }
func (e *pgEngine) writer() querier   { return pgQ{e.pool} }

func (e *pgEngine) keyByDigest(ctx context.Context, digest []byte) row {
	return pgRow{e.pool.QueryRow(ctx, selectKey+" WHERE digest = $1", digest)}
}

// write sends b in one round trip; outside a transaction PostgreSQL runs
// it as one implicit transaction: all statements or none. A batch with a
// step (an audit record) runs in a transaction of its own.
func (e *pgEngine) write(ctx context.Context, b *batch) error {
	if b.hasSteps() {
		return e.inTx(ctx, func(q querier) error { return q.run(ctx, b) })
	}
	return commitOutcome(pgQ{e.pool}.run(ctx, b))
}

// inTx runs fn in a transaction (READ COMMITTED).
func (e *pgEngine) inTx(ctx context.Context, fn func(querier) error) error {
	tx, err := e.pool.Begin(ctx)
	if err != nil {
		return pgErr(err)
	}
	if err := fn(pgQ{tx}); err != nil {
		tx.Rollback(ctx)
		return err
	}
	return commitOutcome(pgErr(tx.Commit(ctx)))
}

// snapshot runs fn in a REPEATABLE READ, READ ONLY transaction.
func (e *pgEngine) snapshot(ctx context.Context, fn func(querier) error) error {
	return pgErr(pgx.BeginTxFunc(ctx, e.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error { return fn(pgQ{tx}) }))
}

func (e *pgEngine) ping(ctx context.Context) error { return e.pool.Ping(ctx) }

// close closes the pool, waiting for connections in use to be returned.
func (e *pgEngine) close() error {
	e.pool.Close()
	return nil
}

// PostgreSQL error codes that pgErr classifies.
const (
	uniqueViolation       = "23505"
	untranslatableChar    = "22P05" // \u0000 in a jsonb document
	characterNotSupported = "22021" // a NUL byte or invalid UTF-8 in text
)

// pgErr classifies driver errors: pgx.ErrNoRows becomes token.ErrNotFound,
// a uniqueness violation token.ErrConflict, and a value PostgreSQL cannot
// hold (a NUL character, which SQLite would store) a token.Invalid error;
// the original stays in the chain.
func pgErr(err error) error {
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

// commitOutcome marks err, the failure of a COMMIT (or of a statement run
// as its own implicit transaction), with token.ErrOutcomeUnknown unless it
// is certain that nothing was committed: the server refused (a
// *pgconn.PgError), or the request never left (pgconn.SafeToRetry).
func commitOutcome(err error) error {
	if err == nil {
		return nil
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) || pgconn.SafeToRetry(err) || errors.Is(err, token.ErrConflict) || errors.Is(err, token.ErrNotFound) {
		return err
	}
	var te *token.Error
	if errors.As(err, &te) { // a rule of ours, decided before sending
		return err
	}
	return fmt.Errorf("%w: %w", token.ErrOutcomeUnknown, err)
}

// pgxQuerier is a pool or a transaction.
type pgxQuerier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// pgQ adapts pgx to querier.
type pgQ struct{ q pgxQuerier }

type pgRow struct{ r pgx.Row }

func (r pgRow) Scan(dest ...any) error { return pgErr(r.r.Scan(dest...)) }

type pgRows struct{ r pgx.Rows }

func (r pgRows) Next() bool             { return r.r.Next() }
func (r pgRows) Scan(dest ...any) error { return pgErr(r.r.Scan(dest...)) }
func (r pgRows) Err() error             { return pgErr(r.r.Err()) }
func (r pgRows) Close()                 { r.r.Close() }

func (p pgQ) queryRow(ctx context.Context, q string, args ...any) row {
	return pgRow{p.q.QueryRow(ctx, q, args...)}
}

func (p pgQ) query(ctx context.Context, q string, args ...any) (rows, error) {
	r, err := p.q.Query(ctx, q, args...)
	if err != nil {
		return nil, pgErr(err)
	}
	return pgRows{r}, nil
}

func (p pgQ) exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := p.q.Exec(ctx, q, args...)
	if err != nil {
		return 0, pgErr(err)
	}
	return tag.RowsAffected(), nil
}

// run sends the statements of b in one round trip and returns the first
// error. A step waits for the statements before it; the statements it adds
// go with those after it. Steps are run only in a transaction (write).
func (p pgQ) run(ctx context.Context, b *batch) error {
	var plain []stmt
	for todo := b.sequence(); len(todo) > 0; {
		st := todo[0]
		todo = todo[1:]
		if st.step == nil {
			plain = append(plain, st)
			continue
		}
		if err := p.send(ctx, plain); err != nil {
			return err
		}
		next := &batch{}
		if err := st.step(ctx, p, next); err != nil {
			return err
		}
		plain, todo = nil, append(next.stmts, todo...)
	}
	return p.send(ctx, plain)
}

// send sends plain statements in one round trip and returns the first
// error.
func (p pgQ) send(ctx context.Context, stmts []stmt) error {
	if len(stmts) == 0 {
		return nil
	}
	pb := &pgx.Batch{}
	for _, st := range stmts {
		pb.Queue(st.q, st.args...)
	}
	br := p.q.SendBatch(ctx, pb)
	var first error
	for range pb.Len() {
		if _, err := br.Exec(); err != nil && first == nil {
			first = err
		}
	}
	if err := br.Close(); err != nil && first == nil {
		first = err
	}
	return pgErr(first)
}
