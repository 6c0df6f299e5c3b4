package sqlstore

import (
	"context"
	"testing"
	"time"

	"github.com/latchkey/latchkey/apitoken"
	"github.com/latchkey/latchkey/token"
)

// TestLineageMigrationBackfills: the lineage migration (SQLite 00014,
// PostgreSQL 00013) gives every key of an existing rotation chain the ID of
// the chain's first key, following rotated_from however deep; a first key,
// a key without predecessor and a key whose predecessor is gone keep NULL
// (their own ID).
func TestLineageMigrationBackfills(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		ctx := context.Background()
		db := e.open(t)
		now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		ev := func(action, id string) *token.AuditEvent {
			return &token.AuditEvent{ID: token.NewID("aud", now), Time: now, Action: action, TargetID: id, Outcome: token.OutcomeSuccess}
		}
		ks := &token.Keyspace{Name: "default", Prefix: "lk", AllowPermanent: true, CreatedAt: now, UpdatedAt: now}
		if err := db.CreateKeyspace(ctx, ks, ev("keyspace.create", ks.Name)); err != nil {
			t.Fatal(err)
		}
		key := func(id, from, to string) {
			k := &token.Key{ID: id, Keyspace: "default", Digest: apitoken.Hash("lk_" + id), RotatedFrom: from, RotatedTo: to,
				CreatedAt: now, UpdatedAt: now, Version: 1}
			if err := db.CreateKey(ctx, k, ev("key.create", id)); err != nil {
				t.Fatalf("CreateKey %s: %v", id, err)
			}
		}
		chain := []string{"key_g0", "key_g1", "key_g2", "key_g3", "key_g4", "key_g5", "key_g6", "key_g7", "key_g8", "key_g9", "key_g10"}
		for i, id := range chain {
			from, to := "", ""
			if i > 0 {
				from = chain[i-1]
			}
			if i < len(chain)-1 {
				to = chain[i+1]
			}
			key(id, from, to)
		}
		key("key_solo", "", "")
		key("key_orphan", "key_deleted", "")

		lineage := map[string]int64{"sqlite": 14, "postgres": 13}[e.name]
		migrateDownAndUp(t, db, lineage-1)
		db = e.reopen(t, db)
		want := map[string]string{"key_g0": "", "key_solo": "", "key_orphan": ""}
		for _, id := range chain[1:] {
			want[id] = "key_g0"
		}
		for id, lineage := range want {
			k, err := db.KeyByID(ctx, id)
			if err != nil {
				t.Fatalf("KeyByID %s: %v", id, err)
			}
			if k.LineageID != lineage {
				t.Errorf("%s: LineageID = %q after the migration, want %q", id, k.LineageID, lineage)
			}
		}
	})
}
