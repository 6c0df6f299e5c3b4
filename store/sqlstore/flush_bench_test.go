package sqlstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/latchkey/latchkey/apitoken"
	"github.com/latchkey/latchkey/store/sqlstore"
	"github.com/latchkey/latchkey/token"
)

// BenchmarkFlush1000 measures one usage flush of 1,000 keys on SQLite, the
// figure that set chunkRows.
func BenchmarkFlush1000(b *testing.B) {
	ctx := context.Background()
	db, err := sqlstore.OpenSQLite(ctx, b.TempDir()+"/db")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ks := &token.Keyspace{Name: "default", Prefix: "lk", AllowPermanent: true, CreatedAt: now, UpdatedAt: now}
	if err := db.CreateKeyspace(ctx, ks, nil); err != nil {
		b.Fatal(err)
	}
	var batch []token.Usage
	for i := range 1000 {
		id := fmt.Sprintf("key_%04d", i)
		k := &token.Key{ID: id, Keyspace: "default", Digest: apitoken.Hash("lk_" + id), CreatedAt: now, UpdatedAt: now, Version: 1}
		if err := db.CreateKey(ctx, k, nil); err != nil {
			b.Fatal(err)
		}
		batch = append(batch, token.Usage{KeyID: id, LastUsedAt: now, LastUsedIP: "10.0.0.1", Counts: map[token.Code]int64{token.CodeValid: 3}})
	}
	b.ResetTimer()
	for b.Loop() {
		for i := range batch {
			batch[i].LastUsedAt = batch[i].LastUsedAt.Add(time.Second)
		}
		if err := db.RecordUsage(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFlush1000Buckets is BenchmarkFlush1000 with the usage buckets:
// the 1,000 keys (10 per owner) verified in the current minute, so that
// each flush also adds to the minute and hour rows of every key, of the
// keyspace and of the 100 owners (docs/benchmarks.md, "Usage analytics").
func BenchmarkFlush1000Buckets(b *testing.B) {
	ctx := context.Background()
	db, err := sqlstore.OpenSQLite(ctx, b.TempDir()+"/db")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ks := &token.Keyspace{Name: "default", Prefix: "lk", AllowPermanent: true, CreatedAt: now, UpdatedAt: now}
	if err := db.CreateKeyspace(ctx, ks, nil); err != nil {
		b.Fatal(err)
	}
	var batch []token.Usage
	for i := range 1000 {
		id := fmt.Sprintf("key_%04d", i)
		owner := &token.Owner{Type: token.App, ID: fmt.Sprintf("app%02d", i/10)}
		k := &token.Key{ID: id, Keyspace: "default", Owner: owner, Digest: apitoken.Hash("lk_" + id), CreatedAt: now, UpdatedAt: now, Version: 1}
		if err := db.CreateKey(ctx, k, nil); err != nil {
			b.Fatal(err)
		}
		counts := map[token.Code]int64{token.CodeValid: 3}
		batch = append(batch, token.Usage{KeyID: id, Keyspace: "default", Owner: owner, LastUsedAt: now, LastUsedIP: "10.0.0.1",
			Counts: counts, Minutes: []token.MinuteCounts{{Minute: now.Truncate(time.Minute), Counts: counts}}})
	}
	b.ResetTimer()
	for b.Loop() {
		for i := range batch {
			batch[i].LastUsedAt = batch[i].LastUsedAt.Add(time.Second)
		}
		if err := db.RecordUsage(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
}
