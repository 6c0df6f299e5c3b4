package sqlite

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/pressly/goose/v3"
)

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
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, fmt.Errorf("sqlite: migration status: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db.w, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return nil, fmt.Errorf("sqlite: migration status: %w", err)
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlite: migration status: %w", err)
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
