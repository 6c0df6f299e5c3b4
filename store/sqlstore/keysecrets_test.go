package sqlstore

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/seal"
	"github.com/latchkey/latchkey/token"
)

// recoverableService returns a token service with a master key on db and
// a recoverable keyspace "vault".
func recoverableService(t *testing.T, db *DB) *token.Service {
	t.Helper()
	box, err := seal.New([32]byte{7, 7, 7})
	if err != nil {
		t.Fatal(err)
	}
	svc := token.NewService(token.Config{Store: db, Secrets: box})
	if _, err := svc.Bootstrap(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	on := true
	if _, err := svc.CreateKeyspace(context.Background(), token.SystemActor, token.KeyspaceParams{Name: "vault", Recoverable: &on}); err != nil {
		t.Fatal(err)
	}
	return svc
}

// keptRows counts the rows of key_secrets.
func keptRows(t *testing.T, db *DB) int {
	t.Helper()
	var n int64
	if err := db.e.reader().queryRow(context.Background(), "SELECT COUNT(*) FROM key_secrets").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// TestSEC_KEY01_RecoverableKeysSealedAtRest: with keys of a recoverable
// keyspace created, rotated, revoked and revealed, the database — the
// SQLite files, every PostgreSQL table of the schema as text — holds no
// plaintext (nor its secret part, raw or hex), yet every live recoverable
// key is revealed exactly, and key_secrets has one row per live
// recoverable key and none for the keys of other keyspaces.
func TestSEC_KEY01_RecoverableKeysSealedAtRest(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		ctx := context.Background()
		var db *DB
		var dump func() []byte
		if e.name == "sqlite" {
			dir := t.TempDir()
			var err error
			if db, err = OpenSQLite(ctx, filepath.Join(dir, "latchkey.db")); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			dump = func() []byte {
				if err := db.Close(); err != nil {
					t.Fatal(err)
				}
				var all []byte
				ents, _ := os.ReadDir(dir)
				for _, ent := range ents {
					b, err := os.ReadFile(filepath.Join(dir, ent.Name()))
					if err != nil {
						t.Fatal(err)
					}
					all = append(all, b...)
				}
				return all
			}
		} else {
			db = e.open(t)
			dump = func() []byte { return pgDump(t, db) }
		}
		svc := recoverableService(t, db)
		a := token.SystemActor
		live := map[string]string{} // key ID → plaintext, recoverable and live
		var all []string            // every plaintext
		var digests []string
		for i := range 40 {
			ck, err := svc.CreateKey(ctx, a, token.CreateKeyParams{Keyspace: "vault", Name: "customer"})
			if err != nil {
				t.Fatal(err)
			}
			all, digests = append(all, ck.Secret.Reveal()), append(digests, hex.EncodeToString(ck.Key.Digest[:]))
			live[ck.Key.ID] = ck.Secret.Reveal()
			switch i % 4 {
			case 1:
				next, _, err := svc.RotateKey(ctx, a, ck.Key.ID, time.Hour)
				if err != nil {
					t.Fatal(err)
				}
				all, digests = append(all, next.Secret.Reveal()), append(digests, hex.EncodeToString(next.Key.Digest[:]))
				live[next.Key.ID] = next.Secret.Reveal()
			case 2:
				if _, err := svc.RevokeKey(ctx, a, ck.Key.ID, "test"); err != nil {
					t.Fatal(err)
				}
				delete(live, ck.Key.ID)
			}
			plain, err := svc.CreateKey(ctx, a, token.CreateKeyParams{Name: "digest only"})
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, plain.Secret.Reveal())
			if _, err := svc.RevealKey(ctx, a, plain.Key.ID); token.KindOf(err) != token.NotFound || !strings.Contains(err.Error(), "no kept secret") {
				t.Fatalf("reveal of a key of default: %v, want not_recoverable", err)
			}
		}
		for id, want := range live {
			got, err := svc.RevealKey(ctx, a, id)
			if err != nil {
				t.Fatalf("reveal %s: %v", id, err)
			}
			if got.Reveal() != want {
				t.Fatalf("reveal %s: a different secret", id)
			}
		}
		if n := keptRows(t, db); n != len(live) {
			t.Fatalf("key_secrets has %d rows, want %d (one per live recoverable key)", n, len(live))
		}
		b := dump()
		if !bytes.Contains(b, []byte("key.reveal")) {
			t.Fatal("the dump lacks the audited reveals: is it the database?")
		}
		found := 0
		for _, d := range digests {
			if bytes.Contains(b, []byte(d)) || bytes.Contains(b, mustHex(t, d)) {
				found++
			}
		}
		if found != len(digests) {
			t.Errorf("the dump holds the digests of %d of %d recoverable keys", found, len(digests))
		}
		for _, p := range all {
			_, part, _ := strings.Cut(p, "_")
			part = part[len(part)-24:] // the random tail, whatever the prefix
			for _, needle := range []string{p, part, hex.EncodeToString([]byte(p)), hex.EncodeToString([]byte(part))} {
				if bytes.Contains(b, []byte(needle)) {
					t.Fatalf("the %s database holds a plaintext key (or its secret part)", e.name)
				}
			}
		}
	})
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pgDump returns every row of every table of db's schema as text (bytea
// as \x hex), as pg_dump's data would show it.
func pgDump(t *testing.T, db *DB) []byte {
	t.Helper()
	ctx := context.Background()
	rs, err := db.e.reader().query(ctx, "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'")
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rs.Next() {
		var n string
		if err := rs.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rs.Close()
	if len(tables) < 10 {
		t.Fatalf("the schema has %d tables: %v", len(tables), tables)
	}
	var out []byte
	for _, tb := range tables {
		rs, err := db.e.reader().query(ctx, `SELECT CAST(t AS text) FROM "`+tb+`" t`)
		if err != nil {
			t.Fatalf("dump %s: %v", tb, err)
		}
		for rs.Next() {
			var line string
			if err := rs.Scan(&line); err != nil {
				t.Fatal(err)
			}
			out = append(out, line...)
			out = append(out, '\n')
		}
		if err := rs.Err(); err != nil {
			t.Fatal(err)
		}
		rs.Close()
	}
	return out
}

// TestRevealMovedSealedSecret: a kept secret copied into another key's row
// (or a key's sealed signing secret copied into key_secrets) does not
// open — the key ID is the associated data — and the answer is a Conflict
// (409 secret_unreadable), never a secret and never a 500.
func TestRevealMovedSealedSecret(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		ctx := context.Background()
		db := e.open(t)
		svc := recoverableService(t, db)
		a := token.SystemActor
		ka, err := svc.CreateKey(ctx, a, token.CreateKeyParams{Keyspace: "vault", Name: "a", SigningSecret: true})
		if err != nil {
			t.Fatal(err)
		}
		kb, err := svc.CreateKey(ctx, a, token.CreateKeyParams{Keyspace: "vault", Name: "b"})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := svc.RevealKey(ctx, a, kb.Key.ID); err != nil || got.Reveal() != kb.Secret.Reveal() {
			t.Fatalf("reveal b before the move: %v", err)
		}
		for _, mv := range []struct{ name, sql string }{
			{"another key's kept secret", "UPDATE key_secrets SET sealed = (SELECT sealed FROM key_secrets WHERE key_id = $1) WHERE key_id = $2"},
			{"its own signing secret", "UPDATE key_secrets SET sealed = (SELECT signing_secret FROM keys WHERE id = $1) WHERE key_id = $1"},
		} {
			t.Run(mv.name, func(t *testing.T) {
				target := kb.Key.ID
				if strings.Contains(mv.sql, "signing_secret") {
					target = ka.Key.ID
				}
				args := []any{ka.Key.ID}
				if target != ka.Key.ID {
					args = append(args, target)
				}
				if n, err := db.e.writer().exec(ctx, mv.sql, args...); err != nil || n != 1 {
					t.Fatalf("move: %d rows, %v", n, err)
				}
				got, err := svc.RevealKey(ctx, a, target)
				var te *token.Error
				if !errors.As(err, &te) || te.Kind != token.Conflict || te.Code != "secret_unreadable" {
					t.Fatalf("reveal after the move: %v, want Conflict secret_unreadable", err)
				}
				if !got.IsZero() {
					t.Fatal("a secret came back with the error")
				}
			})
		}
	})
}

// TestKeptSecretsRaceTurningOff: keys created concurrently with turning
// the keyspace's recoverable setting off leave no kept secret behind: each
// create either commits before the change (whose DELETE then sees it) or
// sees the keyspace no longer recoverable. Run on both engines. (The
// window the shared lock of addKeepSecret closes on PostgreSQL — a create
// that read the keyspace before the change committed, and commits after
// its DELETE — is too narrow for this test to hit reliably without it.)
func TestKeptSecretsRaceTurningOff(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		ctx := context.Background()
		db := e.open(t)
		if err := db.CreateKeyspace(ctx, &token.Keyspace{Name: "vault", Prefix: "v", AllowPermanent: true, Recoverable: true, CreatedAt: time.Now(), UpdatedAt: time.Now()}, nil); err != nil {
			t.Fatal(err)
		}
		const writers, each = 4, 15
		errs := make(chan error, writers+1)
		start := make(chan struct{})
		for w := range writers {
			go func() {
				<-start
				for i := range each {
					id := token.NewID("key", time.Now())
					k := &token.Key{ID: id, Keyspace: "vault", Digest: [32]byte{byte(w), byte(i), 1}, Start: "v_x",
						CreatedAt: time.Now(), UpdatedAt: time.Now(), Version: 1, SealedSecret: []byte("sealed " + id)}
					if err := db.CreateKey(ctx, k, nil); err != nil {
						errs <- err
						return
					}
				}
				errs <- nil
			}()
		}
		go func() {
			<-start
			time.Sleep(5 * time.Millisecond) // let some creates land first
			_, err := db.UpdateKeyspace(ctx, "vault", func(ks *token.Keyspace) error { ks.Recoverable = false; return nil }, nil)
			errs <- err
		}()
		close(start)
		for range writers + 1 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		if n := keptRows(t, db); n != 0 {
			t.Fatalf("%d kept secrets in a keyspace that is no longer recoverable", n)
		}
	})
}
