package postgres

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

//go:embed migrations/*.sql
var migrations embed.FS

// lockClass is the first key of the advisory lock taken while migrating
// ("lkey"); the second is a hash of the schema name, so that installations
// in different schemas of one database do not wait for each other.
const lockClass int32 = 0x6c6b6579

// migrate creates schema if it is missing and applies the embedded
// migrations the database has not seen yet, holding a session-level
// advisory lock meanwhile: nodes that start at the same time wait for the
// first one and then find nothing left to do. Waiting is bounded by ctx,
// not by the statement timeout, which is off for these connections (a
// migration may legitimately take longer).
func migrate(ctx context.Context, cc *pgx.ConnConfig, schema string) error {
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
	p, err := provider(sqlDB)
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	_, err = conn.Exec(ctx, "SELECT pg_advisory_unlock($1, hashtext($2))", lockClass, name)
	if err != nil {
		return fmt.Errorf("migrate: unlock: %w", err)
	}
	return nil
}

// provider returns a goose provider of the embedded migrations on db.
func provider(db *sql.DB) (*goose.Provider, error) {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	// Only the embedded SQL files: no Go migrations registered globally
	// by other packages.
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return p, nil
}

// MigrationState is one embedded migration and whether the database has
// applied it.
type MigrationState struct {
	Version   int64
	Name      string    // file name, e.g. "00001_init.sql"
	Applied   bool      // false: pending
	AppliedAt time.Time // zero while pending
}

// MigrationStatus lists every embedded migration, oldest first, with its
// state in the database. Open has applied them all; a database migrated
// by a newer latchkey may hold more, which are not listed.
func (db *DB) MigrationStatus(ctx context.Context) ([]MigrationState, error) {
	sqlDB := stdlib.OpenDBFromPool(db.pool) // closing it leaves the pool open
	defer sqlDB.Close()
	p, err := provider(sqlDB)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: migration status: %w", err)
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
