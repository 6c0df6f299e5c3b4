package sqlstore

import (
	"context"
	"net/netip"
	"strconv"
	"strings"
)

// This file is the seam between the one implementation of the store and
// the two engines. Everything above it (the transactions, codecs, paging
// and audit writes of the other files) is written once, in SQL both
// engines accept: "$n" placeholders (modernc.org/sqlite reads "$n" as the
// n-th argument, as PostgreSQL does), CAST(… AS bigint) rather than "::",
// TRUE/FALSE, UPDATE … FROM (VALUES …), INSERT … ON CONFLICT and RETURNING.
// Below it, sqlite.go and postgres.go hold what only one engine has.
//
// The mechanism is a small query interface that both drivers satisfy
// through an adapter, not database/sql for both: measured on a key lookup
// (BenchmarkDriverSeam, docs/benchmarks.md), database/sql over pgx's stdlib
// adapter took 2.2× the allocations of pgx's own interface, and it cannot
// send several statements in one round trip (pgx.Batch), which makes a
// PostgreSQL write one round trip instead of four.

// row is one result row; Scan reports token.ErrNotFound when there is none.
type row interface{ Scan(dest ...any) error }

// rows is a result set; Close may be called more than once.
type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// querier runs statements on a connection pool or in a transaction. Every
// error it returns is classified already (see engine.classify).
type querier interface {
	queryRow(ctx context.Context, q string, args ...any) row
	query(ctx context.Context, q string, args ...any) (rows, error)
	// exec runs one statement and returns how many rows it changed.
	exec(ctx context.Context, q string, args ...any) (int64, error)
	// run runs the statements of b in order and returns the first error;
	// PostgreSQL sends them in one round trip.
	run(ctx context.Context, b *batch) error
}

// engine is what the store needs of a database engine.
type engine interface {
	// reader runs reads outside a transaction (SQLite: the read pool).
	reader() querier
	// writer runs single-statement writes outside a transaction (SQLite:
	// the one write connection).
	writer() querier
	// write runs b as one atomic and durable unit: one implicit
	// transaction (PostgreSQL) or one savepoint of a commit shared with
	// concurrent writes (SQLite's group commit). An error that leaves it
	// unknown whether b committed wraps token.ErrOutcomeUnknown.
	write(ctx context.Context, b *batch) error
	// inTx runs fn in a write transaction and commits if fn returns nil;
	// otherwise it rolls back and returns fn's error as it is.
	inTx(ctx context.Context, fn func(querier) error) error
	// snapshot runs fn in a read-only transaction that sees one snapshot.
	snapshot(ctx context.Context, fn func(querier) error) error
	// keyByDigest is the lookup of every verification (prepared once).
	keyByDigest(ctx context.Context, digest []byte) row
	ping(ctx context.Context) error
	close() error
	dialect() *dialect
}

// dialect is what differs in the text of statements and in the types of
// columns.
type dialect struct {
	name string // "sqlite" or "postgres", the prefix of error messages

	// lockRow ends a SELECT, in a write transaction, of a row about to be
	// changed: "FOR UPDATE" on PostgreSQL, where writers of other nodes
	// run concurrently; "" on SQLite, whose one writer holds the database
	// from BEGIN IMMEDIATE on.
	lockRow string
	// lockShared is lockRow for rows that are read to be kept, not
	// changed ("FOR NO KEY UPDATE": deletes wait, foreign keys do not).
	lockShared string
	// lockKeep ends the SELECT of a row whose state a write depends on
	// while other writers may read it too ("FOR SHARE": they do not wait
	// for each other, only for a writer of the row).
	lockKeep string
	// lockTombstones is run by an import before it checks the tombstones
	// of revoked keys, so that a concurrent DeleteKey cannot add one
	// unseen ("" on SQLite: one writer).
	lockTombstones string
	// skipLocked ends the SELECT of outbox rows a node claims: " FOR
	// UPDATE OF d SKIP LOCKED" on PostgreSQL, so nodes claim different
	// rows without waiting; "" on SQLite (one writer).
	skipLocked string
	// lockAudit runs in every batch that writes an audit record, before
	// its chaining steps: the transaction-level advisory lock that orders
	// the writers of the audit chain on every node ("" on SQLite: one
	// writer).
	lockAudit string
	// lockWebhooks runs before a webhook is created and the webhooks are
	// counted (webhook.MaxWebhooks): a transaction-level advisory lock on
	// PostgreSQL, so that concurrent creates cannot all pass the bound;
	// "" on SQLite (one writer).
	lockWebhooks string

	// List columns: text[] and cidr[] on PostgreSQL (the narrowing
	// triggers compare arrays), JSON arrays in TEXT on SQLite.
	strings    func(ss []string) (any, error)
	stringsDst func(ss *[]string) any
	prefixes   func(ps []netip.Prefix) (any, error)
	prefixDst  func(ps *[]netip.Prefix) any
	// compactJSON: the engine stores JSON by meaning (jsonb), so reads
	// are compacted to match what was written.
	compactJSON bool
}

// batch is a list of statements run in order by querier.run, then its
// steps. A step (a function that reads in the transaction: the chaining
// of an audit record) makes the batch need a transaction of its own on
// PostgreSQL, where a batch of plain statements is one implicit
// transaction. Steps run last, after the batch's lock (lockSteps), so that
// every row lock and trigger lock of the change is taken before it, in the
// same order on every path: no deadlock between a change that holds a row
// and one that holds the lock.
type batch struct {
	stmts []stmt
	steps []stmt
	lock  string
}

type stmt struct {
	q    string
	args []any
	// step, if set, runs instead of q: it reads through the transaction's
	// querier and adds to next the statements to run right after it.
	step func(ctx context.Context, q querier, next *batch) error
}

// add appends a statement.
func (b *batch) add(q string, args ...any) { b.stmts = append(b.stmts, stmt{q: q, args: args}) }

// addStep appends a step, run after every statement.
func (b *batch) addStep(fn func(ctx context.Context, q querier, next *batch) error) {
	b.steps = append(b.steps, stmt{step: fn})
}

// lockSteps makes q (a lock; "" for none) run once, before the steps.
func (b *batch) lockSteps(q string) { b.lock = q }

// hasSteps reports whether b has a step.
func (b *batch) hasSteps() bool { return len(b.steps) > 0 }

// sequence returns what to run: the statements, the lock and the steps.
func (b *batch) sequence() []stmt {
	if len(b.steps) == 0 {
		return b.stmts
	}
	out := make([]stmt, 0, len(b.stmts)+1+len(b.steps))
	out = append(out, b.stmts...)
	if b.lock != "" {
		out = append(out, stmt{q: b.lock})
	}
	return append(out, b.steps...)
}

// where builds the WHERE clause and the arguments of a listing.
type where struct {
	conds []string
	args  []any
}

// arg adds v to the arguments and returns its placeholder.
func (w *where) arg(v any) string {
	w.args = append(w.args, v)
	return "$" + strconv.Itoa(len(w.args))
}

// add adds a condition; conditions are joined with AND.
func (w *where) add(cond string) { w.conds = append(w.conds, cond) }

// String returns " WHERE …", or "" without conditions.
func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// placeholders returns "$from, …, $to".
func placeholders(from, to int) string {
	var sb strings.Builder
	for i := from; i <= to; i++ {
		if i > from {
			sb.WriteString(", ")
		}
		sb.WriteByte('$')
		sb.WriteString(strconv.Itoa(i))
	}
	return sb.String()
}

// values returns n rows of VALUES with the given column casts (each "" or
// a type such as "bigint"), numbering placeholders from 1:
// "($1, CAST($2 AS bigint)), ($3, CAST($4 AS bigint))". Columns are named
// column1, column2, … on both engines.
func values(n int, casts ...string) string {
	var sb strings.Builder
	p := 0
	for i := range n {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteByte('(')
		for j, c := range casts {
			if j > 0 {
				sb.WriteString(", ")
			}
			p++
			ph := "$" + strconv.Itoa(p)
			if c != "" {
				ph = "CAST(" + ph + " AS " + c + ")"
			}
			sb.WriteString(ph)
		}
		sb.WriteByte(')')
	}
	return sb.String()
}

// chunkRows bounds the rows of one multi-row statement. Measured on
// SQLite (BenchmarkFlush1000, a usage flush of 1,000 keys): 64 rows a
// statement took 6.6 ms, 500 took 11.8 ms (a long text is parsed anew on
// each call), one row a statement 14–18 ms; the per-row statements of the
// code before took 7.3–9.8 ms. PostgreSQL sends all of a flush's
// statements in one round trip either way.
const chunkRows = 64

// chunks calls fn with consecutive index ranges [lo, hi) of at most
// chunkRows of n items.
func chunks(n int, fn func(lo, hi int) error) error {
	for lo := 0; lo < n; lo += chunkRows {
		if err := fn(lo, min(lo+chunkRows, n)); err != nil {
			return err
		}
	}
	return nil
}
