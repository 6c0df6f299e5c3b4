package sqlstore

import (
	"context"
	"database/sql"
	"testing"

	"github.com/jackc/pgx/v5/stdlib"
)

// BenchmarkDriverSeam measures the choice of the seam (seam.go) on
// PostgreSQL: a key-shaped row read by digest through pgx's own interface
// (what the store uses, with the sql.Null* scan targets both drivers
// accept) against database/sql over pgx's stdlib adapter, the other way to
// serve both engines with one interface. Compare allocs/op; ns/op is
// dominated by the round trip and the machine's noise.
func BenchmarkDriverSeam(b *testing.B) {
	url := testURL(b)
	ctx := context.Background()
	db := openPGTest(b, url, freshSchema(b, url))
	pool := pgOf(db).pool
	if _, err := pool.Exec(ctx, `CREATE TABLE seam (id text PRIMARY KEY, scopes text[] NOT NULL,
		meta jsonb, n bigint, at bigint, f boolean NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO seam VALUES ('k1', '{a,b,c}', '{"x":1}', 5, NULL, true)`); err != nil {
		b.Fatal(err)
	}
	const q = "SELECT id, scopes, meta, n, at, f FROM seam WHERE id = $1"
	b.Run("pgx", func(b *testing.B) {
		qr := pgQ{pool}
		b.ReportAllocs()
		for b.Loop() {
			var id string
			var scopes []string
			var meta sql.NullString
			var n, at sql.NullInt64
			var f bool
			if err := qr.queryRow(ctx, q, "k1").Scan(&id, &scopes, &meta, &n, &at, &f); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("database_sql", func(b *testing.B) {
		sdb := stdlib.OpenDBFromPool(pool)
		defer sdb.Close()
		b.ReportAllocs()
		for b.Loop() {
			var id, scopes string
			var meta sql.NullString
			var n, at sql.NullInt64
			var f bool
			if err := sdb.QueryRowContext(ctx, q, "k1").Scan(&id, &scopes, &meta, &n, &at, &f); err != nil {
				b.Fatal(err)
			}
		}
	})
}
