package sqlstore

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/token"
)

// revocationLock is the advisory lock key the revocation triggers of
// 00003_signing.sql take ("lkeyrevo").
const revocationLock int64 = 0x6c6b65797265766f

// TestRevocationSeqFollowsCommitOrder checks what makes Seq order commit
// order: a transaction that wrote a revocation holds the lock under which
// Seqs are drawn until it commits, so a later revocation waits for it and
// gets a higher Seq.
func TestRevocationSeqFollowsCommitOrder(t *testing.T) {
	url := testURL(t)
	ctx := context.Background()
	db := openPGTest(t, url, freshSchema(t, url))
	first, second := seedKey(t, db, 1), seedKey(t, db, 1)
	tx, err := pgOf(db).pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "UPDATE keys SET revoked_at = $1 WHERE id = $2", time.Now().UnixNano(), first.ID); err != nil {
		t.Fatalf("revoke in a transaction: %v", err)
	}
	tryLock := func() bool {
		t.Helper()
		var ok bool
		if err := pgOf(db).pool.QueryRow(ctx, "SELECT pg_try_advisory_xact_lock($1)", revocationLock).Scan(&ok); err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if tryLock() {
		t.Fatal("another session took the revocation lock while an uncommitted revocation holds it")
	}
	done := make(chan error, 1)
	go func() {
		_, err := db.UpdateKey(ctx, second.ID, func(k *token.Key) error { k.Disabled = true; return nil }, nil)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("a second revocation committed (%v) before the first one did", err)
	case <-time.After(100 * time.Millisecond):
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatalf("commit: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("UpdateKey: %v", err)
	}
	if !tryLock() {
		t.Error("the revocation lock is still held after both transactions ended")
	}
	rs, err := db.Revocations(ctx, 0, time.Time{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].Subject != first.ID || rs[1].Subject != second.ID || rs[0].Seq >= rs[1].Seq {
		t.Errorf("revocations = %+v, want %s then %s with increasing Seq", rs, first.ID, second.ID)
	}
}

// TestRevocationTriggersWriteTheirOwnSchema changes a key from a session
// whose search_path does not include the store's schema: the revocation
// still lands in that schema's feed.
func TestRevocationTriggersWriteTheirOwnSchema(t *testing.T) {
	url := testURL(t)
	ctx := context.Background()
	schema := freshSchema(t, url)
	db := openPGTest(t, url, schema)
	k := seedKey(t, db, 1)
	other := openPGTest(t, url, freshSchema(t, url)) // a second feed that must stay empty
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SET search_path TO pg_catalog"); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	_, err = conn.Exec(ctx, "UPDATE "+pgx.Identifier{schema, "keys"}.Sanitize()+" SET revoked_at = $1 WHERE id = $2",
		at.UnixNano(), k.ID)
	if err != nil {
		t.Fatalf("revoke from another search_path: %v", err)
	}
	rs, err := db.Revocations(ctx, 0, time.Time{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0].Kind != token.RevokedKey || rs[0].Subject != k.ID || !rs[0].At.Equal(at) {
		t.Errorf("revocations = %+v, want one of key %s at %v", rs, k.ID, at)
	}
	if h, err := other.RevocationHead(ctx); err != nil || h != 0 {
		t.Errorf("the other schema's RevocationHead = %d, %v; want 0", h, err)
	}
}
