package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// The write connection's prepared statements. modernc.org/sqlite parses a
// statement's text on every call that is not made through a prepared
// statement; on the write path that was a third of the CPU of a key
// creation (BenchmarkCreateKey, docs/benchmarks.md "Key creation after
// issue 16"), whose group commit runs a savepoint, the key's insert (31
// parameters), its audit record, the audit chain's frontier and hashes and
// a release for every write.
//
// A statement is prepared on the write connection once, the first time
// the connection is free after its text was seen (preparing it while a
// transaction holds the one connection would wait for that transaction:
// a deadlock); from then on each transaction binds it with Tx.StmtContext,
// which finds it prepared on its connection and parses nothing.

// maxWriteStmts bounds the texts kept prepared: the store's statements
// are a fixed set, but a multi-row statement has one text per row count.
const maxWriteStmts = 512

// stmtCache is the write connection's prepared statements by text (the
// text as positional() returns it).
type stmtCache struct {
	db *sql.DB

	mu       sync.Mutex
	prepared map[string]*sql.Stmt
	wanted   map[string]bool // seen in a transaction, to prepare when the connection is free
	closed   bool
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, prepared: map[string]*sql.Stmt{}, wanted: map[string]bool{}}
}

// get returns the prepared statement of text q, or nil (then q is noted
// to prepare later, while there is room).
func (c *stmtCache) get(q string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.prepared[q]; st != nil {
		return st
	}
	if !c.closed && len(c.prepared)+len(c.wanted) < maxWriteStmts {
		c.wanted[q] = true
	}
	return nil
}

// prepareWanted prepares the texts seen since the last call. The caller
// must not hold the write connection. A text that fails to prepare (it
// may depend on a table a later migration adds) is dropped; it runs
// unprepared.
func (c *stmtCache) prepareWanted(ctx context.Context) {
	c.mu.Lock()
	if len(c.wanted) == 0 || c.closed {
		c.mu.Unlock()
		return
	}
	todo := make([]string, 0, len(c.wanted))
	for q := range c.wanted {
		todo = append(todo, q)
	}
	clear(c.wanted)
	c.mu.Unlock()
	for _, q := range todo {
		st, err := c.db.PrepareContext(ctx, q)
		if err != nil {
			continue
		}
		c.mu.Lock()
		if c.closed || c.prepared[q] != nil {
			st.Close()
		} else {
			c.prepared[q] = st
		}
		c.mu.Unlock()
	}
}

// close closes the prepared statements; get returns nil from then on.
func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	var first error
	for q, st := range c.prepared {
		if err := st.Close(); err != nil && first == nil {
			first = err
		}
		delete(c.prepared, q)
	}
	return first
}

// txStmts binds the cache's statements to one write transaction.
type txStmts struct {
	c     *stmtCache
	tx    *sql.Tx
	bound map[string]*sql.Stmt
}

// stmt returns the prepared statement of text q bound to the transaction,
// or nil.
func (t *txStmts) stmt(ctx context.Context, q string) *sql.Stmt {
	if st := t.bound[q]; st != nil {
		return st
	}
	base := t.c.get(q)
	if base == nil {
		return nil
	}
	st := t.tx.StmtContext(ctx, base)
	if t.bound == nil {
		t.bound = map[string]*sql.Stmt{}
	}
	t.bound[q] = st
	return st
}
