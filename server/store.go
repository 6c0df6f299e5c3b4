package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/latchkey/latchkey/store/sqlstore"
	"github.com/latchkey/latchkey/token"
)

// sharedCacheAge is how long a node on a shared database trusts a cached
// key without hearing of a change: the bound on how long another node's
// change can go unseen here even if its notification were lost. Changes
// normally arrive within milliseconds through Listen.
const sharedCacheAge = 750 * time.Millisecond

// openStore opens the configured backend: PostgreSQL when databaseURL is a
// postgres:// URL, otherwise SQLite in the data directory. For a shared
// database it also returns the cache settings that bound how long another
// node's change can go unseen here.
func openStore(ctx context.Context, c Config) (token.Store, token.CacheConfig, error) {
	u := c.DatabaseURL
	if u != "" {
		if !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
			return nil, token.CacheConfig{}, fmt.Errorf("LATCHKEY_DATABASE_URL must be a postgres:// URL")
		}
		var opts []sqlstore.Option
		if c.DatabasePoolSize > 0 {
			opts = append(opts, sqlstore.WithPoolSize(c.DatabasePoolSize))
		}
		if c.DatabaseSchema != "" {
			opts = append(opts, sqlstore.WithSchema(c.DatabaseSchema))
		}
		db, err := sqlstore.OpenPostgres(ctx, u, opts...)
		if err != nil {
			return nil, token.CacheConfig{}, err
		}
		// Several nodes may share this database. Until nodes notify each
		// other of changes, a cached key is re-read after 750ms, so a
		// revocation on any node is enforced everywhere within 1s (the rest
		// is one database read and the request itself).
		return db, token.CacheConfig{MaxAge: sharedCacheAge, NegativeTTL: sharedCacheAge}, nil
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return nil, token.CacheConfig{}, fmt.Errorf("create data directory: %w", err)
	}
	dbPath := filepath.Join(c.DataDir, "latchkey.db")
	// Create the database file owner-only: SQLite gives its -wal and -shm
	// files the same mode.
	if f, err := os.OpenFile(dbPath, os.O_RDWR|os.O_CREATE, 0o600); err == nil {
		f.Close()
	}
	db, err := sqlstore.OpenSQLite(ctx, dbPath)
	return db, token.CacheConfig{}, err
}
