package transfer_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/latchkey/latchkey/apitoken"
	"github.com/latchkey/latchkey/store/transfer"
	"github.com/latchkey/latchkey/token"
)

// TestTransferCarriesRevokedDigests: the tombstone of a deleted revoked key
// travels with an export, so the copy (SQLite or PostgreSQL) refuses to
// import its digest as a live key too.
func TestTransferCarriesRevokedDigests(t *testing.T) {
	ctx := context.Background()
	src := populate(t, openSQLite(t))
	now := time.Now().UTC()
	dead := &token.Key{ID: token.NewID("key", now), Keyspace: token.DefaultKeyspace, Name: "dead", Digest: apitoken.Hash("tombstone-secret-0123456789"),
		Start: "lk_dead", CreatedAt: now, UpdatedAt: now, RevokedAt: now, Version: 1}
	if err := src.store.CreateKey(ctx, dead, nil); err != nil {
		t.Fatal(err)
	}
	if err := src.store.DeleteKey(ctx, dead.ID, func(*token.Key) error { return nil }, nil); err != nil {
		t.Fatal(err)
	}
	for name, dst := range map[string]token.Store{"sqlite": openSQLite(t), "postgres": openPostgres(t)} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			out, err := transfer.Export(ctx, src.store, &buf, transfer.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if out.RevokedDigests != 1 {
				t.Fatalf("exported %d revoked digests, want 1", out.RevokedDigests)
			}
			if _, err := transfer.Import(ctx, dst, &buf, transfer.Options{}); err != nil {
				t.Fatal(err)
			}
			again := &token.Key{ID: token.NewID("key", now), Keyspace: token.DefaultKeyspace, Digest: dead.Digest, Start: "imported",
				CreatedAt: now, UpdatedAt: now, Foreign: true, Version: 1}
			err = dst.ImportKeys(ctx, []*token.Key{again}, []*token.AuditEvent{nil})
			if !errors.Is(err, token.ErrDigestRevoked) {
				t.Fatalf("import of the tombstoned digest into the copy: %v, want ErrDigestRevoked", err)
			}
		})
	}
}
