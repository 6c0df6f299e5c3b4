package sqlstore

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
)

// testEngine opens stores of one engine for tests that run on both.
type testEngine struct {
	name string
	// open returns a new, empty store, closed when the test ends.
	open func(t *testing.T) *DB
	// reopen returns a second store on the same database as db.
	reopen func(t *testing.T, db *DB) *DB
}

// engines returns SQLite and PostgreSQL; PostgreSQL's subtests skip (or,
// with LATCHKEY_TEST_REQUIRE_SERVICES=1, fail) without a database.
func engines() []testEngine {
	return []testEngine{
		{
			name: "sqlite",
			open: func(t *testing.T) *DB {
				db := openSQLiteTest(t)
				t.Cleanup(func() { db.Close() })
				return db
			},
			reopen: func(t *testing.T, db *DB) *DB { return db },
		},
		{
			name: "postgres",
			open: func(t *testing.T) *DB {
				url := testURL(t)
				return openPGTest(t, url, freshSchema(t, url))
			},
			reopen: func(t *testing.T, db *DB) *DB {
				// Fresh connections: no statements prepared against old tables.
				pc := pgOf(db).pool.Config()
				return openPGTest(t, pc.ConnString(), strings.Trim(pc.ConnConfig.RuntimeParams["search_path"], `"`))
			},
		},
	}
}

// forEachEngine runs fn as a subtest on each engine.
func forEachEngine(t *testing.T, fn func(t *testing.T, e testEngine)) {
	for _, e := range engines() {
		t.Run(e.name, func(t *testing.T) { fn(t, e) })
	}
}

// migrations returns a goose provider of db's engine's migrations, on
// connections of its own.
func testProvider(t *testing.T, db *DB) *goose.Provider {
	t.Helper()
	var p *goose.Provider
	var err error
	switch e := db.e.(type) {
	case *sqliteEngine:
		p, err = provider(e.w, goose.DialectSQLite3, "sqlite")
	case *pgEngine:
		sqlDB := stdlib.OpenDB(*e.pool.Config().ConnConfig.Copy())
		t.Cleanup(func() { sqlDB.Close() })
		p, err = provider(sqlDB, goose.DialectPostgres, "postgres")
	}
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// migrateDownAndUp undoes the migrations after version and applies them
// again, as an upgrade from that version would.
func migrateDownAndUp(t *testing.T, db *DB, version int64) {
	t.Helper()
	ctx := context.Background()
	p := testProvider(t, db)
	if _, err := p.DownTo(ctx, version); err != nil {
		t.Fatalf("migrate down to %d: %v", version, err)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatalf("migrate up: %v", err)
	}
}
