package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/latchkey/latchkey/store/sqlstore"
	"github.com/latchkey/latchkey/token"
)

// migrateCommands are "latchkey migrate up|status". They work on the store
// directly, not through the server.
func migrateCommands() []subcommand {
	return []subcommand{
		{name: "up", summary: "Apply the pending schema migrations (PostgreSQL: under an advisory lock, so nodes starting at once migrate once) and print the schema version.",
			examples: "  latchkey migrate up --data-dir /var/lib/latchkey\n  LATCHKEY_DATABASE_URL=postgres://… latchkey migrate up", run: runMigrateUp},
		{name: "status", summary: "List the schema migrations with the time each was applied. Opening the store applies pending ones first, as serve does.",
			examples: "  latchkey migrate status --data-dir /var/lib/latchkey", run: runMigrateStatus},
	}
}

// localFlags returns the flag set of a command that works on the store
// directly: --data-dir, --database-url and --database-schema, read from
// the environment like serve's, instead of the client flags.
func (c *cli) localFlags(cmd string, sc subcommand) (*cmdFlags, *storeConfig) {
	f := &cmdFlags{FlagSet: flag.NewFlagSet("latchkey "+cmd, flag.ContinueOnError), cmd: cmd, args: strings.Fields(sc.args)}
	f.SetOutput(io.Discard)
	s := &storeConfig{getenv: c.getenv}
	f.StringVar(&s.dataDir, "data-dir", envOr(c.getenv, "LATCHKEY_DATA_DIR", "./latchkey-data"), "SQLite data `directory` (env LATCHKEY_DATA_DIR)")
	f.StringVar(&s.databaseURL, "database-url", "", "PostgreSQL `URL` (postgres://…) instead of SQLite (env LATCHKEY_DATABASE_URL or LATCHKEY_DATABASE_URL_FILE)")
	f.StringVar(&s.schema, "database-schema", c.getenv("LATCHKEY_DATABASE_SCHEMA"), "PostgreSQL `schema` (env LATCHKEY_DATABASE_SCHEMA)")
	f.setUsage(cmd, sc)
	return f, s
}

// storeConfig says which store a local command opens.
type storeConfig struct {
	getenv      func(string) string
	dataDir     string
	databaseURL string
	schema      string
}

// describe names the store for messages, without a URL's password.
func (s *storeConfig) describe() string {
	if s.databaseURL != "" {
		return "PostgreSQL"
	}
	return "SQLite " + filepath.Join(s.dataDir, "latchkey.db")
}

// open opens the configured store, which brings its schema up to date.
// With mustExist, a missing SQLite database is an error instead of being
// created.
func (s *storeConfig) open(ctx context.Context, mustExist bool) (token.Store, error) {
	if s.databaseURL == "" {
		u, err := secretFromEnv(s.getenv, "LATCHKEY_DATABASE_URL")
		if err != nil {
			return nil, usagef("%v", err)
		}
		s.databaseURL = u
	}
	if u := s.databaseURL; u != "" {
		if !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
			return nil, usagef("the database URL must be a postgres:// URL")
		}
		var opts []sqlstore.Option
		if s.schema != "" {
			opts = append(opts, sqlstore.WithSchema(s.schema))
		}
		return sqlstore.OpenPostgres(ctx, u, opts...)
	}
	path := filepath.Join(s.dataDir, "latchkey.db")
	if mustExist {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no latchkey database at %s", path)
		}
	} else {
		if err := os.MkdirAll(s.dataDir, 0o700); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
		// Owner-only, as serve creates it.
		if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600); err == nil {
			f.Close()
		}
	}
	return sqlstore.OpenSQLite(ctx, path)
}

// migration is one row of "migrate status", whichever the backend.
type migration struct {
	Version   int64     `json:"version"`
	Name      string    `json:"name"`
	Applied   bool      `json:"applied"`
	AppliedAt time.Time `json:"applied_at,omitzero"`
}

// migrationStatus lists the migrations of db.
func migrationStatus(ctx context.Context, db token.Store) ([]migration, error) {
	sdb, ok := db.(*sqlstore.DB)
	if !ok {
		return nil, fmt.Errorf("the %T store cannot report its migrations", db)
	}
	st, err := sdb.MigrationStatus(ctx)
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, m := range st {
		out = append(out, migration{m.Version, m.Name, m.Applied, m.AppliedAt})
	}
	return out, nil
}

// openForMigrate parses the flags of a migrate command and opens the store.
func (c *cli) openForMigrate(name string, args []string) (token.Store, *storeConfig, *cmdFlags, error) {
	var sc subcommand
	for _, s := range migrateCommands() {
		if s.name == name {
			sc = s
		}
	}
	f, s := c.localFlags("migrate "+name, sc)
	f.BoolVar(&f.json, "json", false, "print JSON instead of a table")
	if _, err := c.parse(f, args); err != nil {
		return nil, nil, nil, err
	}
	db, err := s.open(c.ctx, false)
	if err != nil {
		return nil, nil, nil, err
	}
	return db, s, f, nil
}

// runMigrateUp is "latchkey migrate up": opening the store migrates it.
func runMigrateUp(c *cli, _ *cmdFlags, args []string) error {
	db, s, f, err := c.openForMigrate("up", args)
	if err != nil {
		return err
	}
	defer db.Close()
	if sdb, ok := db.(*sqlstore.DB); ok { // audit records of an older version get their place in the chain
		if _, err := sdb.ChainAudit(c.ctx); err != nil {
			return err
		}
	}
	st, err := migrationStatus(c.ctx, db)
	if err != nil {
		return err
	}
	var v int64
	for _, m := range st {
		if m.Applied {
			v = max(v, m.Version)
		}
	}
	if f.json {
		return c.printJSON(map[string]any{"store": s.describe(), "version": v})
	}
	_, err = fmt.Fprintf(c.stdout, "%s: schema at version %d\n", s.describe(), v)
	return err
}

// runMigrateStatus is "latchkey migrate status".
func runMigrateStatus(c *cli, _ *cmdFlags, args []string) error {
	db, _, f, err := c.openForMigrate("status", args)
	if err != nil {
		return err
	}
	defer db.Close()
	st, err := migrationStatus(c.ctx, db)
	if err != nil {
		return err
	}
	if f.json {
		return c.printJSON(st)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tNAME\tSTATE\tAPPLIED AT")
	for _, m := range st {
		state, at := "pending", "-"
		if m.Applied {
			state, at = "applied", m.AppliedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", m.Version, m.Name, state, at)
	}
	return tw.Flush()
}

// migrateGroup is "latchkey migrate".
func migrateGroup() group {
	return group{"migrate", "apply or list the store's schema migrations", migrateCommands()}
}
