package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latchkey/latchkey/apitoken"
	"github.com/latchkey/latchkey/internal/pgtest"
	"github.com/latchkey/latchkey/store/storetest"
	"github.com/latchkey/latchkey/token"
)

// testURL returns the URL of the PostgreSQL to test against. Without one the
// test is skipped, loudly, unless LATCHKEY_TEST_REQUIRE_SERVICES=1 (CI),
// where a missing service fails the run.
func testURL(t testing.TB) string { return pgtest.URL(t) }

// freshSchema returns the name of a schema no other test uses, dropped with
// everything in it when the test ends.
func freshSchema(t testing.TB, url string) string { return pgtest.Schema(t, url, "lktest_") }

// openTest opens a store in schema, closed when the test ends (Close may
// run twice).
func openPGTest(t testing.TB, url, schema string, opts ...Option) *DB {
	t.Helper()
	db, err := OpenPostgres(context.Background(), url, append([]Option{WithSchema(schema)}, opts...)...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestConformancePostgres(t *testing.T) {
	url := testURL(t)
	storetest.Run(t, func(t *testing.T) token.Store { return openPGTest(t, url, freshSchema(t, url)) })
}

// TestConnectionSettings checks, on every connection of a full pool, the
// settings Open promises: the schema, the statement timeout, the
// application name, and durable commits.
func TestConnectionSettings(t *testing.T) {
	url := testURL(t)
	ctx := context.Background()
	schema := freshSchema(t, url)
	db := openPGTest(t, url, schema, WithPoolSize(3), WithStatementTimeout(1500*time.Millisecond))
	if got := pgOf(db).pool.Config().MaxConns; got != 3 {
		t.Errorf("pool size %d, want 3", got)
	}
	var conns []*pgxpool.Conn
	defer func() {
		for _, c := range conns {
			c.Release()
		}
	}()
	for i := range 3 {
		c, err := pgOf(db).pool.Acquire(ctx)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, c)
		var cur, timeout, app, sync string
		err = c.QueryRow(ctx, `SELECT current_schema(), current_setting('statement_timeout'),
			current_setting('application_name'), current_setting('synchronous_commit')`).Scan(&cur, &timeout, &app, &sync)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		if cur != schema || timeout != "1500ms" || app != "latchkey" || sync != "on" {
			t.Errorf("connection %d: schema %s, statement_timeout %s, application_name %s, synchronous_commit %s; "+
				"want %s, 1500ms, latchkey, on", i, cur, timeout, app, sync, schema)
		}
	}
	var tables int
	err := conns[0].QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = $1`, schema).Scan(&tables)
	if err != nil || tables != 37 {
		t.Errorf("schema %s holds %d tables (%v), want 37 (36 and goose's: 00022 added audit_hashes, audit_tree, audit_checkpoints, audit_keys; 00023 webhooks, webhook_deliveries, webhook_marks; 00024 usage_minutes, usage_hours; 00025 leak_reports; 00026 key_secrets; 00028 leak_pending; 00029 webhook_attempts)", schema, tables, err)
	}
}

func TestMigrationStatusPostgres(t *testing.T) {
	url := testURL(t)
	db := openPGTest(t, url, freshSchema(t, url))
	st, err := db.MigrationStatus(context.Background())
	if err != nil {
		t.Fatalf("MigrationStatus: %v", err)
	}
	if len(st) == 0 {
		t.Fatal("MigrationStatus lists no migrations")
	}
	for _, m := range st {
		if !m.Applied || m.AppliedAt.IsZero() || m.Name == "" || m.Version < 1 {
			t.Errorf("migration %+v: want applied, with a time and a name", m)
		}
	}
}

func TestOptionsAreChecked(t *testing.T) {
	ctx := context.Background()
	for name, opt := range map[string]Option{
		"pool size 0":          WithPoolSize(0),
		"negative timeout":     WithStatementTimeout(-time.Second),
		"schema with a quote":  WithSchema(`x"; DROP TABLE keys; --`),
		"schema with a dot":    WithSchema("a.b"),
		"schema starting by 1": WithSchema("1abc"),
	} {
		// The URL is never dialled: the options fail first.
		if _, err := OpenPostgres(ctx, "postgres://127.0.0.1:1/none", opt); err == nil {
			t.Errorf("Open with %s succeeded", name)
		}
	}
}

// TestClosedStoreAnswersErrorsNotData is REL-03 at the storage layer: a
// store that cannot reach its database returns an error from every read
// and write, and never a key, a count or "spent".
func TestClosedStoreAnswersErrorsNotData(t *testing.T) {
	url := testURL(t)
	ctx := context.Background()
	db := openPGTest(t, url, freshSchema(t, url))
	k := seedKey(t, db, 5)
	db.Close()
	if got, err := db.KeyByID(ctx, k.ID); err == nil || got != nil {
		t.Errorf("KeyByID after Close = %v, %v; want nil and an error", got, err)
	}
	if got, err := db.KeyByDigest(ctx, k.Digest); err == nil || got != nil {
		t.Errorf("KeyByDigest after Close = %v, %v; want nil and an error", got, err)
	}
	if got, next, err := db.ListKeys(ctx, token.KeyFilter{}); err == nil || got != nil || next != "" {
		t.Errorf("ListKeys after Close = %v, %q, %v; want nothing and an error", got, next, err)
	}
	if left, ok, err := db.SpendCredits(ctx, k.ID, 1, time.Time{}); err == nil || ok || left != 0 {
		t.Errorf("SpendCredits after Close = %d, %v, %v; want 0, false and an error", left, ok, err)
	}
	if got, err := db.UsageCounts(ctx, k.ID); err == nil || got != nil {
		t.Errorf("UsageCounts after Close = %v, %v; want nil and an error", got, err)
	}
	_, err := db.UpdateKey(ctx, k.ID, func(k *token.Key) error { k.RevokedAt = time.Now(); return nil }, nil)
	if err == nil || errors.Is(err, token.ErrNotFound) {
		t.Errorf("UpdateKey after Close = %v; want an error that is not ErrNotFound", err)
	}
	if err := db.Ping(ctx); err == nil {
		t.Error("Ping after Close succeeded")
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestNULIsInvalid: PostgreSQL cannot hold what SQLite stores as it is (a
// NUL character); the request is refused as invalid, not "unavailable".
func TestNULIsInvalid(t *testing.T) {
	url := testURL(t)
	db := openPGTest(t, url, freshSchema(t, url))
	k := newTestKey()
	k.Metadata = json.RawMessage(`{"a":"\u0000"}`)
	err := db.CreateKey(context.Background(), k, nil)
	if token.KindOf(err) != token.Invalid {
		t.Errorf("CreateKey with \\u0000 in metadata: %v (kind %v), want kind invalid", err, token.KindOf(err))
	}
	k.Metadata, k.Name = nil, "nul\x00name"
	if err := db.CreateKey(context.Background(), k, nil); token.KindOf(err) != token.Invalid {
		t.Errorf("CreateKey with a NUL byte in the name: %v, want kind invalid", err)
	}
}

// newTestKey returns an unstored key in the default keyspace.
func newTestKey() *token.Key {
	now := time.Now().UTC()
	return &token.Key{ID: token.NewID("key", now), Keyspace: token.DefaultKeyspace,
		Digest: apitoken.Hash(token.NewID("secret", now)), CreatedAt: now, UpdatedAt: now, Version: 1}
}

// seedKey stores the default keyspace and a key with credits.
func seedKey(t *testing.T, db *DB, credits int64, opts ...func(*token.Key)) *token.Key {
	t.Helper()
	ctx := context.Background()
	ks := &token.Keyspace{Name: token.DefaultKeyspace, Prefix: "lk", CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if err := db.CreateKeyspace(ctx, ks, nil); err != nil && !errors.Is(err, token.ErrConflict) {
		t.Fatalf("CreateKeyspace: %v", err)
	}
	k := newTestKey()
	k.Remaining = &credits
	for _, o := range opts {
		o(k)
	}
	if err := db.CreateKey(ctx, k, nil); err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	return k
}

// pgOf returns the PostgreSQL engine of db.
func pgOf(db *DB) *pgEngine { return db.e.(*pgEngine) }
