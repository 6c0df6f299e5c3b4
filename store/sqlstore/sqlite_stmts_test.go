package sqlstore

import (
	"context"
	"testing"
	"time"
)

// TestSQLiteStmtCache: a statement a transaction ran is prepared once the
// write connection is free and then reused; a panic inside a transaction
// leaves the write connection free (it used to wait there for the
// connection its own transaction held).
func TestSQLiteStmtCache(t *testing.T) {
	db := openSQLiteTest(t)
	t.Cleanup(func() { db.Close() })
	e := db.e.(*sqliteEngine)
	ctx := context.Background()
	const q = "SELECT count(*) FROM keys WHERE id <> 'stmt-cache-test'"
	run := func() {
		t.Helper()
		if err := e.inTx(ctx, func(tx querier) error {
			var n int
			return tx.queryRow(ctx, q).Scan(&n)
		}); err != nil {
			t.Fatal(err)
		}
	}
	run()
	if e.stmts.get(positional(q)) == nil {
		t.Fatal("the statement is not prepared after its transaction ended")
	}
	run() // through the prepared statement

	panicked := make(chan bool, 1)
	go func() {
		defer func() { panicked <- recover() != nil }()
		e.inTx(ctx, func(tx querier) error {
			var n int
			tx.queryRow(ctx, q+" AND 1 = 1").Scan(&n) // a text not prepared yet
			panic("boom")
		})
	}()
	select {
	case p := <-panicked:
		if !p {
			t.Error("the panic did not come through")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a panic in a transaction is stuck: its transaction still holds the write connection")
	}
	done := make(chan error, 1)
	go func() {
		done <- e.inTx(ctx, func(tx querier) error {
			_, err := tx.exec(ctx, "UPDATE audit_tree SET size = size WHERE id = 1")
			return err
		})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the write connection is still held after a panic in a transaction")
	}
}
