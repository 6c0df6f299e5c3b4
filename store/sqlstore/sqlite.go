package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/latchkey/latchkey/token"
)

// What only SQLite has: one file, one write connection in BEGIN IMMEDIATE
// transactions beside a pool of query-only readers (WAL lets them run
// together), synchronous=FULL, and group commit, which lets concurrent
// writes share one fsync.

// pragmas apply to every connection of both pools.
var pragmas = []string{
	"busy_timeout(5000)",
	"foreign_keys(1)",
	"journal_mode(WAL)",
	"synchronous(FULL)",
}

// sqliteDSN returns the driver's data source name for the file at path.
// The pragmas are part of it so that every pooled connection gets them.
func sqliteDSN(path string, readOnly bool) string {
	q := url.Values{"_pragma": pragmas}
	if readOnly {
		q.Set("_query_only", "1") // applied after the pragmas
	} else {
		q.Set("_txlock", "immediate")
	}
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// OpenSQLite opens (creating if needed) the database file at path and
// brings its schema up to date.
func OpenSQLite(ctx context.Context, path string) (*DB, error) {
	w, err := sql.Open("sqlite", sqliteDSN(path, false))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := migrateSQLite(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// The read pool opens after the writer has created the file and
	// switched it to WAL, which a query-only connection could not do.
	r, err := sql.Open("sqlite", sqliteDSN(path, true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	e := &sqliteEngine{w: w, r: r}
	if e.byDigest, err = r.PrepareContext(ctx, positional(selectKey+" WHERE digest = $1")); err != nil {
		e.close()
		return nil, fmt.Errorf("sqlite: open %s: prepare: %w", path, err)
	}
	return &DB{e: e, d: e.dialect()}, nil
}

// sqliteEngine is the engine of one SQLite file.
type sqliteEngine struct {
	w *sql.DB // the one write connection
	r *sql.DB // query-only read pool

	byDigest *sql.Stmt // the verification lookup, prepared on the read pool

	group   groupCommit
	commits atomic.Int64 // group commits made, for tests

	closeOnce sync.Once
	closeErr  error
}

var sqliteDialect = dialect{
	name:        "sqlite",
	strings:     jsonStrings,
	stringsDst:  func(ss *[]string) any { return &jsonList{ss: ss} },
	prefixes:    jsonPrefixes,
	prefixDst:   func(ps *[]netip.Prefix) any { return &jsonList{ps: ps} },
	compactJSON: false, // TEXT keeps the bytes written
}

func (e *sqliteEngine) dialect() *dialect { return &sqliteDialect }
func (e *sqliteEngine) reader() querier   { return sqlQ{e.r} }
func (e *sqliteEngine) writer() querier   { return sqlQ{e.w} }

func (e *sqliteEngine) keyByDigest(ctx context.Context, digest []byte) row {
	return sqlRow{e.byDigest.QueryRowContext(ctx, digest)}
}

// inTx runs fn in a write transaction (BEGIN IMMEDIATE, through the single
// write connection). fn must not call the store's write methods: they wait
// for the connection fn holds.
func (e *sqliteEngine) inTx(ctx context.Context, fn func(querier) error) error {
	tx, err := e.w.BeginTx(ctx, nil)
	if err != nil {
		return sqliteErr(err)
	}
	if err := fn(sqlQ{tx}); err != nil {
		tx.Rollback()
		return err
	}
	return sqliteErr(tx.Commit())
}

// snapshot runs fn in a read transaction of the read pool: WAL gives it
// one snapshot from its first read on.
func (e *sqliteEngine) snapshot(ctx context.Context, fn func(querier) error) error {
	tx, err := e.r.BeginTx(ctx, nil)
	if err != nil {
		return sqliteErr(err)
	}
	defer tx.Rollback()
	return fn(sqlQ{tx})
}

func (e *sqliteEngine) ping(ctx context.Context) error {
	if err := e.w.PingContext(ctx); err != nil {
		return fmt.Errorf("writer: %w", err)
	}
	if err := e.r.PingContext(ctx); err != nil {
		return fmt.Errorf("readers: %w", err)
	}
	return nil
}

// close closes both pools. Calling it again returns the first result.
func (e *sqliteEngine) close() error {
	e.closeOnce.Do(func() {
		var errs []error
		if e.byDigest != nil {
			errs = append(errs, e.byDigest.Close())
		}
		errs = append(errs, e.r.Close(), e.w.Close())
		e.closeErr = errors.Join(errs...)
	})
	return e.closeErr
}

// maxGroup bounds how many writes share one transaction.
const maxGroup = 256

// unit is one write waiting for its group's commit.
type unit struct {
	b    *batch
	done chan error
}

// groupCommit lets concurrent writes share one durable commit (one fsync)
// instead of paying one each: the first caller becomes the leader and
// commits everything queued meanwhile, each write under its own savepoint
// so that one failing write fails alone. Nobody is acknowledged before the
// commit that holds its rows has returned.
type groupCommit struct {
	mu      sync.Mutex
	pending []*unit
	leading bool
}

// write runs b in a savepoint of a commit shared with concurrent writes.
func (e *sqliteEngine) write(ctx context.Context, b *batch) error {
	u := &unit{b: b, done: make(chan error, 1)}
	g := &e.group
	g.mu.Lock()
	g.pending = append(g.pending, u)
	if !g.leading {
		g.leading = true
		for len(g.pending) > 0 {
			n := min(len(g.pending), maxGroup)
			group := g.pending[:n:n]
			g.pending = g.pending[n:]
			g.mu.Unlock()
			// The leader commits for others too: its own cancellation must
			// not abort their writes.
			e.commitGroup(context.WithoutCancel(ctx), group)
			g.mu.Lock()
		}
		g.leading = false
	}
	g.mu.Unlock()
	select {
	case err := <-u.done:
		return err
	case <-ctx.Done():
		// The write may still commit: unacknowledged is allowed to exist.
		return fmt.Errorf("%w (%w)", token.ErrOutcomeUnknown, ctx.Err())
	}
}

func (e *sqliteEngine) commitGroup(ctx context.Context, group []*unit) {
	e.commits.Add(1)
	errs := make([]error, len(group))
	err := e.inTx(ctx, func(q querier) error {
		for i, u := range group {
			errs[i] = inSavepoint(ctx, q, u.b)
		}
		return nil
	})
	for i, u := range group {
		if errs[i] == nil {
			errs[i] = err
		}
		u.done <- errs[i]
	}
}

// inSavepoint runs b; on failure it undoes just b.
func inSavepoint(ctx context.Context, q querier, b *batch) error {
	if _, err := q.exec(ctx, "SAVEPOINT unit"); err != nil {
		return err
	}
	err := q.run(ctx, b)
	if err != nil {
		q.exec(ctx, "ROLLBACK TO unit")
	}
	if _, rerr := q.exec(ctx, "RELEASE unit"); rerr != nil && err == nil {
		err = rerr
	}
	return err
}

// sqliteErr classifies driver errors: sql.ErrNoRows becomes
// token.ErrNotFound and a uniqueness violation token.ErrConflict; the
// original stays in the chain.
func sqliteErr(err error) error {
	if err == nil {
		return nil
	}
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

// positional returns q with "$1", "$2", … written "?" when they appear
// exactly once each and in order, as in every INSERT and UPDATE of the
// store; otherwise q as it is. The driver binds a nameless "?" by position
// but looks up the name of every "$n" (a C string per parameter and
// statement: 8 % of the instructions of a key creation, whose insert has
// 31). The rewrite is made once per query text.
func positional(q string) string {
	if v, ok := positionalCache.Load(q); ok {
		return v.(string)
	}
	out := rewritePositional(q)
	if positionalCacheLen.Add(1) <= maxPositionalCache { // listings build many texts
		positionalCache.Store(q, out)
	}
	return out
}

var (
	positionalCache    sync.Map
	positionalCacheLen atomic.Int64
)

const maxPositionalCache = 4096

func rewritePositional(q string) string {
	var b strings.Builder
	next := 1
	for i := 0; i < len(q); i++ {
		if q[i] != '$' {
			b.WriteByte(q[i])
			continue
		}
		j := i + 1
		for j < len(q) && q[j] >= '0' && q[j] <= '9' {
			j++
		}
		n, err := strconv.Atoi(q[i+1 : j])
		if err != nil || n != next {
			return q // reused or out of order: keep the names
		}
		next++
		b.WriteByte('?')
		i = j - 1
	}
	return b.String()
}

// sqlQuerier is a *sql.DB or a *sql.Tx.
type sqlQuerier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// sqlQ adapts database/sql to querier.
type sqlQ struct{ q sqlQuerier }

type sqlRow struct{ r *sql.Row }

func (r sqlRow) Scan(dest ...any) error { return sqliteErr(r.r.Scan(dest...)) }

type sqlRows struct{ r *sql.Rows }

func (r sqlRows) Next() bool             { return r.r.Next() }
func (r sqlRows) Scan(dest ...any) error { return sqliteErr(r.r.Scan(dest...)) }
func (r sqlRows) Err() error             { return sqliteErr(r.r.Err()) }
func (r sqlRows) Close()                 { r.r.Close() }

func (s sqlQ) queryRow(ctx context.Context, q string, args ...any) row {
	return sqlRow{s.q.QueryRowContext(ctx, positional(q), args...)}
}

func (s sqlQ) query(ctx context.Context, q string, args ...any) (rows, error) {
	r, err := s.q.QueryContext(ctx, positional(q), args...)
	if err != nil {
		return nil, sqliteErr(err)
	}
	return sqlRows{r}, nil
}

func (s sqlQ) exec(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := s.q.ExecContext(ctx, positional(q), args...)
	if err != nil {
		return 0, sqliteErr(err)
	}
	n, err := res.RowsAffected()
	return n, sqliteErr(err)
}

// run runs b's statements one after the other, preparing once a
// statement that repeats (an import's inserts).
func (s sqlQ) run(ctx context.Context, b *batch) error {
	var seen map[string]int
	if len(b.stmts) > 4 {
		seen = make(map[string]int)
		for _, st := range b.stmts {
			seen[st.q]++
		}
	}
	prepared := map[string]*sql.Stmt{}
	defer func() {
		for _, st := range prepared {
			st.Close()
		}
	}()
	for _, st := range b.sequence() {
		if st.step != nil {
			next := &batch{}
			if err := st.step(ctx, s, next); err != nil {
				return err
			}
			if err := s.run(ctx, next); err != nil {
				return err
			}
			continue
		}
		p := prepared[st.q]
		if p == nil && seen[st.q] > 1 {
			var err error
			if p, err = s.q.PrepareContext(ctx, positional(st.q)); err != nil {
				return sqliteErr(err)
			}
			prepared[st.q] = p
		}
		var err error
		if p != nil {
			_, err = p.ExecContext(ctx, st.args...)
		} else {
			_, err = s.q.ExecContext(ctx, positional(st.q), st.args...)
		}
		if err != nil {
			return sqliteErr(err)
		}
	}
	return nil
}

// jsonStrings returns ss as a JSON array; nil is "[]".
func jsonStrings(ss []string) (any, error) {
	if len(ss) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(ss)
	return string(b), err
}

// jsonPrefixes returns ps as a JSON array of CIDR strings.
func jsonPrefixes(ps []netip.Prefix) (any, error) {
	ss := make([]string, len(ps))
	for i, p := range ps {
		ss[i] = p.String()
	}
	return jsonStrings(ss)
}

// jsonList scans a JSON array of strings (or of CIDR prefixes) from TEXT.
type jsonList struct {
	ss *[]string
	ps *[]netip.Prefix
}

func (l *jsonList) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case string:
		b = []byte(v)
	case []byte:
		b = v
	case nil:
		return nil
	default:
		return fmt.Errorf("JSON list stored as %T", src)
	}
	var ss []string
	if err := json.Unmarshal(b, &ss); err != nil {
		return err
	}
	if len(ss) == 0 {
		ss = nil
	}
	if l.ss != nil {
		*l.ss = ss
		return nil
	}
	var ps []netip.Prefix
	for _, s := range ss {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return err
		}
		ps = append(ps, p)
	}
	*l.ps = ps
	return nil
}
