package auditlog_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/latchkey/latchkey/auditlog"
	"github.com/latchkey/latchkey/seal"
	"github.com/latchkey/latchkey/store/sqlstore"
	"github.com/latchkey/latchkey/token"
)

func appendN(t *testing.T, db *sqlstore.DB, n int) {
	t.Helper()
	for range n {
		now := time.Now()
		if err := db.AppendAudit(context.Background(), &token.AuditEvent{ID: token.NewID("aud", now), Time: now, Action: "x"}); err != nil {
			t.Fatal(err)
		}
	}
}

// Checkpoints are made every Every records, or Interval after the last one
// when the tree grew, and not otherwise; two Logs on one store sign with
// one key.
func TestAuditChain_CheckpointSchedule(t *testing.T) {
	ctx := context.Background()
	db, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "latchkey.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	box, _ := seal.New([32]byte{5})
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	cfg := auditlog.Config{Store: db.AuditStore(), Box: box, Every: 5, Interval: time.Minute, Now: func() time.Time { return now }}
	l, err := auditlog.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	tick := func(want bool, size int64) {
		t.Helper()
		made, err := l.Tick(ctx)
		if err != nil || made != want {
			t.Fatalf("Tick = %v, %v; want %v", made, err, want)
		}
		c, err := db.AuditSource().LatestCheckpoint(ctx)
		if size == 0 {
			if err == nil {
				t.Fatalf("a checkpoint of the empty log: %+v", c)
			}
			return
		}
		if err != nil || c.Size != size {
			t.Fatalf("latest checkpoint %+v %v, want size %d", c, err, size)
		}
	}
	tick(false, 0) // empty
	appendN(t, db, 1)
	tick(true, 1) // the first
	appendN(t, db, 3)
	tick(false, 1) // 3 < 5 records, no minute yet
	now = now.Add(time.Minute)
	tick(true, 4) // a minute and the tree grew
	now = now.Add(time.Hour)
	tick(false, 4) // no growth
	appendN(t, db, 5)
	tick(true, 9) // 5 records
	l2, err := auditlog.New(ctx, cfg)
	if err != nil || l2.Verifier() != l.Verifier() {
		t.Fatalf("second Log: %v, key %s vs %s", err, l2.Verifier(), l.Verifier())
	}
	other, _ := seal.New([32]byte{6})
	if _, err := auditlog.New(ctx, auditlog.Config{Store: db.AuditStore(), Box: other}); err == nil {
		t.Fatal("the audit key opened with another master key")
	}
}
