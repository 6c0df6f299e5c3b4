package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
)

// The migrations are one ordered list per engine: the DDL differs where the
// types do (text[] and cidr[], jsonb, boolean and bigserial on PostgreSQL;
// STRICT tables with JSON text and 0/1 integers on SQLite) and in the
// triggers that feed the revocation feed (PL/pgSQL with an advisory lock,
// so that its order is commit order across nodes, against SQLite's plain
// triggers under one writer). Their numbers are shared: a gap in one list
// is a migration only the other engine needed.
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrations embed.FS

// provider returns a goose provider of the engine's embedded migrations on
// db; only the embedded SQL files, no Go migrations registered globally by
// other packages.
func provider(db *sql.DB, dialect goose.Dialect, dir string) (*goose.Provider, error) {
	fsys, err := fs.Sub(migrations, "migrations/"+dir)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	p, err := goose.NewProvider(dialect, db, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return p, nil
}

// migrateSQLite applies the embedded migrations that db has not seen yet.
func migrateSQLite(ctx context.Context, db *sql.DB) error {
	p, err := provider(db, goose.DialectSQLite3, "sqlite")
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// lockClass is the first key of the advisory lock taken while migrating
// ("lkey"); the second is a hash of the schema name, so that installations
// in different schemas of one database do not wait for each other.
const lockClass int32 = 0x6c6b6579

// migratePostgres creates schema if it is missing and applies the embedded
// migrations the database has not seen yet, holding a session-level
// advisory lock meanwhile: nodes that start at the same time wait for the
// first one and then find nothing left to do. Waiting is bounded by ctx,
// not by the statement timeout, which is off for these connections (a
// migration may legitimately take longer).
func migratePostgres(ctx context.Context, cc *pgx.ConnConfig, schema string) error {
	cc = cc.Copy()
	cc.RuntimeParams["statement_timeout"] = "0"
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return fmt.Errorf("migrate: connect: %w", err)
	}
	// Closing the session also releases its advisory lock, on every path.
	defer conn.Close(context.WithoutCancel(ctx))
	name := schema
	if name == "" {
		if err := conn.QueryRow(ctx, "SELECT coalesce(current_schema(), '')").Scan(&name); err != nil {
			return fmt.Errorf("migrate: current schema: %w", err)
		}
	}
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1, hashtext($2))", lockClass, name); err != nil {
		return fmt.Errorf("migrate: lock: %w", err)
	}
	if schema != "" {
		// Check first: CREATE SCHEMA IF NOT EXISTS needs the CREATE
		// privilege even when the schema exists.
		var exists bool
		err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", schema).Scan(&exists)
		if err == nil && !exists {
			_, err = conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize())
		}
		if err != nil {
			return fmt.Errorf("migrate: create schema %s: %w", schema, err)
		}
	}
	sqlDB := stdlib.OpenDB(*cc)
	defer sqlDB.Close()
	p, err := provider(sqlDB, goose.DialectPostgres, "postgres")
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_unlock($1, hashtext($2))", lockClass, name); err != nil {
		return fmt.Errorf("migrate: unlock: %w", err)
	}
	return nil
}

// MigrationState is one embedded migration and whether the database has
// applied it.
type MigrationState struct {
	Version   int64
	Name      string    // file name, e.g. "00001_init.sql"
	Applied   bool      // false: pending
	AppliedAt time.Time // zero while pending
}

// MigrationStatus lists every embedded migration of the engine, oldest
// first, with its state in the database. Open has applied them all; a
// database migrated by a newer latchkey may hold more, which are not
// listed.
func (db *DB) MigrationStatus(ctx context.Context) ([]MigrationState, error) {
	var p *goose.Provider
	var err error
	switch e := db.e.(type) {
	case *sqliteEngine:
		p, err = provider(e.w, goose.DialectSQLite3, "sqlite")
	case *pgEngine:
		sqlDB := stdlib.OpenDBFromPool(e.pool) // closing it leaves the pool open
		defer sqlDB.Close()
		p, err = provider(sqlDB, goose.DialectPostgres, "postgres")
	default:
		err = fmt.Errorf("unknown engine %T", e)
	}
	if err != nil {
		return nil, db.errorf("migration status: %w", err)
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, db.errorf("migration status: %w", err)
	}
	out := make([]MigrationState, len(st))
	for i, m := range st {
		out[i] = MigrationState{
			Version:   m.Source.Version,
			Name:      filepath.Base(m.Source.Path),
			Applied:   m.State == goose.StateApplied,
			AppliedAt: m.AppliedAt,
		}
	}
	return out, nil
}
