package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/apitoken"
	"github.com/latchkey/latchkey/store/storetest"
	"github.com/latchkey/latchkey/token"
)

func openSQLiteTest(t *testing.T) *DB {
	t.Helper()
	db, err := OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "latchkey.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return db
}

func TestConformanceSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) token.Store { return openSQLiteTest(t) })
}

// TestPragmasOnEveryConnection holds every connection of both pools at once
// and checks the durability settings on each.
func TestPragmasOnEveryConnection(t *testing.T) {
	ctx := context.Background()
	db := openSQLiteTest(t)
	defer db.Close()
	for _, pool := range []struct {
		name     string
		db       *sql.DB
		conns    int
		readOnly int64
	}{
		{"writer", sqliteOf(db).w, 1, 0},
		{"readers", sqliteOf(db).r, sqliteOf(db).r.Stats().MaxOpenConnections, 1},
	} {
		t.Run(pool.name, func(t *testing.T) {
			if pool.conns < 1 {
				t.Fatalf("pool allows %d connections", pool.conns)
			}
			var conns []*sql.Conn
			defer func() {
				for _, c := range conns {
					c.Close()
				}
			}()
			for i := range pool.conns {
				c, err := pool.db.Conn(ctx)
				if err != nil {
					t.Fatalf("connection %d: %v", i, err)
				}
				conns = append(conns, c)
				var mode string
				var sync, fk, busy, queryOnly int64
				for _, p := range []struct {
					pragma string
					dst    any
				}{
					{"journal_mode", &mode}, {"synchronous", &sync}, {"foreign_keys", &fk},
					{"busy_timeout", &busy}, {"query_only", &queryOnly},
				} {
					if err := c.QueryRowContext(ctx, "PRAGMA "+p.pragma).Scan(p.dst); err != nil {
						t.Fatalf("connection %d: PRAGMA %s: %v", i, p.pragma, err)
					}
				}
				if mode != "wal" || sync != 2 || fk != 1 || busy != 5000 || queryOnly != pool.readOnly {
					t.Errorf("connection %d: journal_mode=%s synchronous=%d foreign_keys=%d busy_timeout=%d query_only=%d; "+
						"want wal, 2 (FULL), 1, 5000, %d", i, mode, sync, fk, busy, queryOnly, pool.readOnly)
				}
			}
		})
	}
	if n := sqliteOf(db).w.Stats().MaxOpenConnections; n != 1 {
		t.Errorf("writer pool allows %d connections, want 1", n)
	}
	if _, err := sqliteOf(db).r.ExecContext(ctx, "DELETE FROM audit"); err == nil {
		t.Error("the read pool accepted a write")
	}
}

// TestReopenKeepsEverything closes a database and opens the file again.
func TestReopenKeepsEverything(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "odd name ?#%.db") // DSN escaping
	db, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	ev := func(action, id string) *token.AuditEvent {
		return &token.AuditEvent{ID: token.NewID("aud", now), Time: now, Action: action, TargetID: id, Outcome: token.OutcomeSuccess}
	}
	ks := &token.Keyspace{Name: "default", Prefix: "lk", AllowPermanent: true, Scopes: []string{"a"}, CreatedAt: now, UpdatedAt: now}
	p := &token.Principal{Type: token.User, ID: "alice", Permissions: []string{"a"}, CreatedAt: now, UpdatedAt: now, Version: 1}
	k := &token.Key{ID: token.NewID("key", now), Keyspace: "default", Owner: &token.Owner{Type: token.User, ID: "alice"},
		Digest: apitoken.Hash("lk_secret"), Metadata: json.RawMessage(`{"a":1}`), Remaining: new(int64(3)),
		CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(time.Hour), TTL: time.Hour, Version: 1}
	for _, err := range []error{
		db.CreateKeyspace(ctx, ks, ev("keyspace.create", ks.Name)),
		db.CreatePrincipal(ctx, p, ev("user.create", p.ID)),
		db.CreateKey(ctx, k, ev("key.create", k.ID)),
	} {
		if err != nil {
			t.Fatalf("create: %v", err)
		}
	}
	revoked, err := db.UpdateKey(ctx, k.ID, func(k *token.Key) error {
		k.RevokedAt, k.RevokeReason = now, "test"
		return nil
	}, ev("key.revoke", k.ID))
	if err != nil {
		t.Fatalf("UpdateKey: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	db, err = OpenSQLite(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	got, err := db.KeyByDigest(ctx, k.Digest)
	if err != nil {
		t.Fatalf("KeyByDigest after reopen: %v", err)
	}
	if got.State(now) != token.Revoked || got.Version != revoked.Version || *got.Remaining != 3 || got.Owner.ID != "alice" {
		t.Errorf("key after reopen = %+v, want the revoked key %+v", got, revoked)
	}
	if _, err := db.Keyspace(ctx, "default"); err != nil {
		t.Errorf("Keyspace after reopen: %v", err)
	}
	if _, err := db.Principal(ctx, token.User, "alice"); err != nil {
		t.Errorf("Principal after reopen: %v", err)
	}
	evs, _, err := db.ListAudit(ctx, token.AuditFilter{Limit: 10})
	if err != nil || len(evs) != 4 {
		t.Errorf("ListAudit after reopen = %d events, %v; want 4", len(evs), err)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "missing", "dir", "latchkey.db")); err == nil {
		t.Error("Open in a missing directory succeeded")
	}
	db := openSQLiteTest(t)
	db.Close()
	if _, err := db.KeyByID(ctx, "key_x"); err == nil || errors.Is(err, token.ErrNotFound) {
		t.Errorf("KeyByID on a closed store = %v, want an error that is not ErrNotFound", err)
	}
}

func TestTimeOutOfRange(t *testing.T) {
	ctx := context.Background()
	db := openSQLiteTest(t)
	defer db.Close()
	now := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	ks := &token.Keyspace{Name: "default", Prefix: "lk", CreatedAt: now, UpdatedAt: now}
	if err := db.CreateKeyspace(ctx, ks, nil); err != nil {
		t.Fatal(err)
	}
	k := &token.Key{ID: "key_far", Keyspace: "default", Digest: apitoken.Hash("x"), CreatedAt: now, UpdatedAt: now,
		ExpiresAt: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)}
	if err := db.CreateKey(ctx, k, nil); err == nil {
		t.Fatal("CreateKey with an expiry in year 3000 succeeded; it cannot be stored exactly")
	}
}

// TestWriteTransactionsBeginImmediate checks that a write transaction holds
// the database's write lock from BEGIN, so that a read-modify-write can
// never fail half-way on upgrading a read lock.
func TestWriteTransactionsBeginImmediate(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "latchkey.db")
	db, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()
	tx, err := sqliteOf(db).w.BeginTx(ctx, nil)
	if err != nil {
		t.Fatalf("BeginTx: %v", err)
	}
	defer tx.Rollback()
	other, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.ExecContext(ctx, "BEGIN IMMEDIATE"); err == nil {
		t.Fatal("another connection took the write lock while a write transaction was open")
	}
}

// TestUsageCounts reads back the counts RecordUsage stores, which no
// interface method returns yet.
func TestUsageCounts(t *testing.T) {
	ctx := context.Background()
	db := openSQLiteTest(t)
	defer db.Close()
	now := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	if err := db.CreateKeyspace(ctx, &token.Keyspace{Name: "default", Prefix: "lk", CreatedAt: now, UpdatedAt: now}, nil); err != nil {
		t.Fatal(err)
	}
	k := &token.Key{ID: "key_a", Keyspace: "default", Digest: apitoken.Hash("a"), CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := db.CreateKey(ctx, k, nil); err != nil {
		t.Fatal(err)
	}
	u := token.Usage{KeyID: k.ID, LastUsedAt: now, Counts: map[token.Code]int64{token.CodeValid: 5, token.CodeRevoked: 1}}
	for range 3 {
		if err := db.RecordUsage(ctx, []token.Usage{u, {KeyID: "key_gone", Counts: map[token.Code]int64{token.CodeValid: 1}}}); err != nil {
			t.Fatalf("RecordUsage: %v", err)
		}
	}
	rows, err := sqliteOf(db).r.QueryContext(ctx, "SELECT key_id, code, count FROM key_usage ORDER BY code")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var id, code string
		var n int64
		if err := rows.Scan(&id, &code, &n); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s %s %d", id, code, n))
	}
	if want := []string{"key_a REVOKED 3", "key_a VALID 15"}; !slices.Equal(got, want) {
		t.Errorf("key_usage = %q, want %q", got, want)
	}
	if got := getKeyVersion(t, db, k.ID); got != 1 {
		t.Errorf("Version = %d after recording usage, want 1: usage is not a change caches must see", got)
	}
}

func getKeyVersion(t *testing.T, db *DB, id string) int64 {
	t.Helper()
	k, err := db.KeyByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return k.Version
}

// sqliteOf returns the SQLite engine of db.
func sqliteOf(db *DB) *sqliteEngine { return db.e.(*sqliteEngine) }

// TestPositional: "$n" placeholders become "?" only when each appears once
// and in order, where "?" binds the same arguments.
func TestPositional(t *testing.T) {
	for q, want := range map[string]string{
		"INSERT INTO t VALUES ($1, $2, $3)":        "INSERT INTO t VALUES (?, ?, ?)",
		"SELECT a FROM t WHERE x = $1 AND y < $10": "SELECT a FROM t WHERE x = $1 AND y < $10",
		"UPDATE t SET a = $2 WHERE id = $1":        "UPDATE t SET a = $2 WHERE id = $1",
		"SELECT $1 WHERE $1 IS NOT NULL":           "SELECT $1 WHERE $1 IS NOT NULL",
		"SELECT 1":                                 "SELECT 1",
		"VALUES ($1, $2), ($3, $4), ($5, $6), ($7, $8), ($9, $10), ($11, $12)": "VALUES (?, ?), (?, ?), (?, ?), (?, ?), (?, ?), (?, ?)",
	} {
		if got := positional(q); got != want {
			t.Errorf("positional(%q) = %q, want %q", q, got, want)
		}
	}
}

// TestGroupCommit: writes that arrive while a commit is running share the
// next one, and a write that fails (here a duplicate digest) fails alone:
// the others of its group are stored.
func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	db := openSQLiteTest(t)
	defer db.Close()
	e := sqliteOf(db)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ks := &token.Keyspace{Name: "default", Prefix: "lk", AllowPermanent: true, CreatedAt: now, UpdatedAt: now}
	if err := db.CreateKeyspace(ctx, ks, nil); err != nil {
		t.Fatal(err)
	}
	// Hold the write connection, so that the first writer leads and waits
	// while everyone else queues behind it.
	held, release := make(chan struct{}), make(chan struct{})
	go e.inTx(ctx, func(querier) error { close(held); <-release; return nil })
	<-held
	before := e.commits.Load()
	const n = 64
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			secret := fmt.Sprintf("lk_%d", i)
			if i%8 == 7 {
				secret = "lk_0" // the same digest as key 0: a conflict
			}
			k := &token.Key{ID: fmt.Sprintf("key_%02d", i), Keyspace: "default", Digest: apitoken.Hash(secret),
				CreatedAt: now, UpdatedAt: now, Version: 1}
			errs[i] = db.CreateKey(ctx, k, nil)
		}()
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		e.group.mu.Lock()
		queued := len(e.group.pending)
		e.group.mu.Unlock()
		if queued == n-1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	if c := e.commits.Load() - before; c != 2 {
		t.Errorf("%d writes made %d commits, want 2 (the leader's, then everyone queued behind it)", n, c)
	}
	stored, sameDigest := 0, 0
	for i, err := range errs {
		dup := i == 0 || i%8 == 7 // one digest: exactly one of them is stored
		switch {
		case dup && err == nil:
			sameDigest++
		case dup && !errors.Is(err, token.ErrConflict):
			t.Errorf("key_%02d (shared digest): %v, want ErrConflict or success", i, err)
		case !dup && err != nil:
			t.Errorf("key_%02d: %v", i, err)
		}
		if _, err := db.KeyByID(ctx, fmt.Sprintf("key_%02d", i)); err == nil {
			stored++
		}
	}
	if sameDigest != 1 {
		t.Errorf("%d keys with one digest stored, want 1", sameDigest)
	}
	if want := n - n/8; stored != want {
		t.Errorf("%d keys stored, want %d: a failing write must fail alone", stored, want)
	}
}
