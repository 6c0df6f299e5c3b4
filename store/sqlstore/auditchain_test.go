package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/latchkey/latchkey/auditlog"
	"github.com/latchkey/latchkey/seal"
	"github.com/latchkey/latchkey/token"
)

// appendEvents appends n audit events and returns their IDs in order.
func appendEvents(t *testing.T, db *DB, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		now := time.Now()
		ev := &token.AuditEvent{ID: token.NewID("aud", now), Time: now, ActorKeyID: "key_test", Action: "key.create",
			TargetType: "key", TargetID: fmt.Sprintf("key_%d", i), Outcome: token.OutcomeSuccess, RequestID: "req",
			Detail: map[string]string{"b": "2", "a": fmt.Sprint(i)}}
		if err := db.AppendAudit(context.Background(), ev); err != nil {
			t.Fatalf("AppendAudit: %v", err)
		}
		ids = append(ids, ev.ID)
	}
	return ids
}

// testLog returns the checkpoint signer of db.
func testLog(t *testing.T, db *DB) *auditlog.Log {
	t.Helper()
	box, err := seal.New([32]byte{7})
	if err != nil {
		t.Fatal(err)
	}
	l, err := auditlog.New(context.Background(), auditlog.Config{Store: db.AuditStore(), Box: box})
	if err != nil {
		t.Fatalf("auditlog.New: %v", err)
	}
	return l
}

// checkpoint makes a checkpoint of db's tree as it is and returns its note.
func checkpoint(t *testing.T, l *auditlog.Log) []byte {
	t.Helper()
	c, err := l.Checkpoint(context.Background())
	if err != nil {
		t.Fatalf("Checkpoint: %v", err)
	}
	return c.Note
}

// verify runs auditlog.Verify on db.
func verify(t *testing.T, db *DB, operator []byte) *auditlog.Report {
	t.Helper()
	var rep *auditlog.Report
	err := db.ReadAudit(context.Background(), func(r *AuditReader) error {
		var err error
		rep, err = auditlog.Verify(context.Background(), r, auditlog.VerifyOptions{Checkpoint: operator})
		return err
	})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return rep
}

// wantFailure checks that rep names record seq (and id, if not "").
func wantFailure(t *testing.T, rep *auditlog.Report, seq int64, id, reason string) {
	t.Helper()
	f := rep.Failure
	if f == nil {
		t.Fatalf("Verify passed; want a failure at seq %d", seq)
	}
	if f.Seq != seq || (id != "" && f.ID != id) || !strings.Contains(f.Reason, reason) {
		t.Fatalf("Verify: %v; want seq %d id %q (%s)", f, seq, id, reason)
	}
	t.Logf("verify: %v", f)
}

// sql runs a statement directly, as someone with write access to the
// database would.
func execSQL(t *testing.T, db *DB, q string, args ...any) {
	t.Helper()
	if _, err := db.e.writer().exec(context.Background(), q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func TestAuditChain_IntactLogVerifies(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		db := e.open(t)
		l := testLog(t, db)
		appendEvents(t, db, 7)
		checkpoint(t, l)
		appendEvents(t, db, 6)
		op := checkpoint(t, l)
		rep := verify(t, db, op)
		if rep.Failure != nil || rep.Size != 13 || rep.Checkpoints != 2 || !rep.Operator {
			t.Fatalf("Verify: %+v %v", rep, rep.Failure)
		}
		// The sequence is gap-free and follows the writes.
		recs, err := db.AuditSource().Records(context.Background(), 0, 100)
		if err != nil || len(recs) != 13 {
			t.Fatalf("Records: %d %v", len(recs), err)
		}
		for i, r := range recs {
			if r.Seq != int64(i) {
				t.Fatalf("record %d has seq %d", i, r.Seq)
			}
		}
	})
}

func TestAuditChain_TamperEditDetail(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		db := e.open(t)
		l := testLog(t, db)
		ids := appendEvents(t, db, 8)
		checkpoint(t, l)
		execSQL(t, db, `UPDATE audit SET detail = '{"a":"3","b":"9"}' WHERE seq = 3`)
		wantFailure(t, verify(t, db, nil), 3, ids[3], "does not match its stored leaf hash")
	})
}

func TestAuditChain_TamperDeleteRow(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		db := e.open(t)
		ids := appendEvents(t, db, 8)
		execSQL(t, db, `DELETE FROM audit WHERE seq = 4`)
		wantFailure(t, verify(t, db, nil), 4, "", "missing (the next stored record is seq 5, id "+ids[5])
		// The last record too: the tree says 8.
		db2 := e.open(t)
		appendEvents(t, db2, 3)
		execSQL(t, db2, `DELETE FROM audit WHERE seq = 2`)
		wantFailure(t, verify(t, db2, nil), 2, "", "missing")
		// The last record moved beyond the end of the tree.
		db3 := e.open(t)
		appendEvents(t, db3, 5)
		execSQL(t, db3, `UPDATE audit SET seq = 7 WHERE seq = 4`)
		wantFailure(t, verify(t, db3, nil), 4, "", "missing (the tree has 5 records")
	})
}

func TestAuditChain_TamperReorderRows(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		db := e.open(t)
		ids := appendEvents(t, db, 8)
		execSQL(t, db, `UPDATE audit SET seq = -1 WHERE seq = 2`)
		execSQL(t, db, `UPDATE audit SET seq = 2 WHERE seq = 6`)
		execSQL(t, db, `UPDATE audit SET seq = 6 WHERE seq = -1`)
		wantFailure(t, verify(t, db, nil), 2, ids[6], "does not match")
	})
}

func TestAuditChain_TamperRewrittenHashesCaughtByCheckpoint(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		db := e.open(t)
		l := testLog(t, db)
		appendEvents(t, db, 4)
		checkpoint(t, l)
		ids := appendEvents(t, db, 4)
		checkpoint(t, l)
		// Edit record 5 and recompute every stored hash from it on, as
		// someone who knows the scheme but not the signing key would.
		execSQL(t, db, `UPDATE audit SET detail = '{"a":"x"}' WHERE seq = 5`)
		rewriteTail(t, db, 5)
		wantFailure(t, verify(t, db, nil), 4, ids[0], "do not match the stored checkpoint of size 8")
	})
}

// rewriteTail recomputes the stored hashes and the tree of the records
// from seq from on, removing what was stored for them.
func rewriteTail(t *testing.T, db *DB, from int64) {
	t.Helper()
	ctx := context.Background()
	recs, err := db.AuditSource().Records(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	execSQL(t, db, `DELETE FROM audit_hashes WHERE idx >= $1`, tlog.StoredHashIndex(0, from))
	var f auditlog.Frontier
	for _, r := range recs {
		hs, next, err := f.Append(auditlog.Leaf(r.Seq, r.Event))
		if err != nil {
			t.Fatal(err)
		}
		if r.Seq >= from {
			for i, h := range hs {
				execSQL(t, db, `INSERT INTO audit_hashes (idx, hash) VALUES ($1, $2)`, tlog.StoredHashIndex(0, r.Seq)+int64(i), h[:])
			}
		}
		f = next
	}
	execSQL(t, db, `UPDATE audit_tree SET size = $1, frontier = $2 WHERE id = 1`, f.Size, f.Encode())
}

func TestAuditChain_OperatorCheckpointCatchesTruncateAndRewrite(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		db := e.open(t)
		l := testLog(t, db)
		appendEvents(t, db, 5)
		checkpoint(t, l)
		appendEvents(t, db, 5)
		saved := checkpoint(t, l) // the operator keeps this one elsewhere
		// Truncate to 5 records, drop the later checkpoint and write five
		// other records: the stored log is consistent in itself.
		execSQL(t, db, `DELETE FROM audit WHERE seq >= 5`)
		execSQL(t, db, `DELETE FROM audit_checkpoints WHERE size > 5`)
		rewriteTail(t, db, 5)
		ids := appendEvents(t, db, 5)
		if rep := verify(t, db, nil); rep.Failure != nil {
			t.Fatalf("the rewritten log alone verifies (%v): only the saved checkpoint can tell", rep.Failure)
		}
		wantFailure(t, verify(t, db, saved), 5, ids[0], "the operator's checkpoint")
		// Truncation alone: the saved checkpoint covers more than is left.
		execSQL(t, db, `DELETE FROM audit WHERE seq >= 7`)
		rewriteTail(t, db, 7)
		wantFailure(t, verify(t, db, saved), 7, "", "missing: a checkpoint covers 10 records")
	})
}

func TestAuditChain_ForeignCheckpointRefused(t *testing.T) {
	db := openSQLiteTest(t)
	t.Cleanup(func() { db.Close() })
	appendEvents(t, db, 3)
	other := openSQLiteTest(t)
	t.Cleanup(func() { other.Close() })
	appendEvents(t, other, 3)
	foreign := checkpoint(t, testLog(t, other))
	testLog(t, db)
	wantFailure(t, verify(t, db, foreign), -1, "", "not signed by a known audit key")
	edited := strings.Replace(string(checkpoint(t, testLog(t, db))), "\n3\n", "\n2\n", 1)
	wantFailure(t, verify(t, db, []byte(edited)), -1, "", "operator's checkpoint")
}

func TestAuditChain_Proofs(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		ctx := context.Background()
		db := e.open(t)
		l := testLog(t, db)
		appendEvents(t, db, 13)
		cp, err := auditlog.Open(checkpoint(t, l), []string{l.Verifier()})
		if err != nil {
			t.Fatal(err)
		}
		for seq := range int64(13) {
			p, err := l.ProveRecord(ctx, seq, 0)
			if err != nil {
				t.Fatalf("ProveRecord(%d): %v", seq, err)
			}
			if p.Size != cp.Size || p.Root != cp.Root || tlog.RecordHash(p.Leaf) != p.LeafHash {
				t.Fatalf("proof of %d: size %d root %v, checkpoint %d %v", seq, p.Size, p.Root, cp.Size, cp.Root)
			}
			if err := tlog.CheckRecord(p.Proof, cp.Size, cp.Root, seq, p.LeafHash); err != nil {
				t.Fatalf("CheckRecord(%d): %v", seq, err)
			}
			if err := tlog.CheckRecord(p.Proof, cp.Size, cp.Root, (seq+1)%13, p.LeafHash); err == nil {
				t.Fatalf("the proof of %d checks for another position", seq)
			}
		}
		for _, c := range [][2]int64{{1, 13}, {5, 13}, {8, 13}, {13, 13}, {3, 7}} {
			p, err := l.ProveTree(ctx, c[0], c[1])
			if err != nil {
				t.Fatalf("ProveTree(%v): %v", c, err)
			}
			if err := tlog.CheckTree(p.Proof, p.To, p.ToRoot, p.From, p.FromRoot); err != nil {
				t.Fatalf("CheckTree(%v): %v", c, err)
			}
			if p.To == cp.Size && p.ToRoot != cp.Root {
				t.Fatalf("root of %d differs from the checkpoint's", p.To)
			}
		}
		if _, err := l.ProveRecord(ctx, 3, 14); err == nil {
			t.Fatal("a proof for a tree larger than the log")
		}
		if _, err := l.ProveTree(ctx, 0, 5); err == nil {
			t.Fatal("a consistency proof from the empty tree")
		}
	})
}

func TestAuditChain_ChangesAndEventsShareTheChain(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		ctx := context.Background()
		db := e.open(t)
		// A write that fails (a duplicate audit ID) leaves no gap.
		ids := appendEvents(t, db, 2)
		err := db.AppendAudit(ctx, &token.AuditEvent{ID: ids[0], Time: time.Now(), Action: "x"})
		if err == nil {
			t.Fatal("duplicate audit ID stored")
		}
		appendEvents(t, db, 2)
		if rep := verify(t, db, nil); rep.Failure != nil || rep.Size != 4 {
			t.Fatalf("Verify: %+v %v", rep, rep.Failure)
		}
	})
}

func TestAuditChain_OldRecordsChainedInIDOrder(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		ctx := context.Background()
		db := e.open(t)
		appendEvents(t, db, 2)
		// Records written before the chain existed (or by an older node).
		var old []string
		for i := range 3 {
			id := fmt.Sprintf("aud_0000000000000000000000000%d", 3-i) // IDs in the reverse order of writing
			execSQL(t, db, `INSERT INTO audit (id, at, actor, action, detail) VALUES ($1, $2, 'system', 'old', NULL)`, id, int64(i))
			old = append([]string{id}, old...)
		}
		wantFailure(t, verify(t, db, nil), -1, old[0], "no sequence number")
		n, err := db.ChainAudit(ctx)
		if err != nil || n != 3 {
			t.Fatalf("ChainAudit: %d %v", n, err)
		}
		recs, err := db.AuditSource().Records(ctx, 2, 10)
		if err != nil || len(recs) != 3 {
			t.Fatalf("Records: %v %v", recs, err)
		}
		for i, r := range recs {
			if r.Event.ID != old[i] {
				t.Fatalf("seq %d is %s, want %s", r.Seq, r.Event.ID, old[i])
			}
		}
		appendEvents(t, db, 1)
		if rep := verify(t, db, nil); rep.Failure != nil || rep.Size != 6 {
			t.Fatalf("Verify: %+v %v", rep, rep.Failure)
		}
		if n, err := db.ChainAudit(ctx); err != nil || n != 0 {
			t.Fatalf("ChainAudit again: %d %v", n, err)
		}
	})
}

// Writers on two PostgreSQL nodes (two pools on one schema) get one
// gap-free sequence and a tree that verifies: the advisory lock orders
// them.
func TestAuditChain_ConcurrentNodesPostgres(t *testing.T) {
	url := testURL(t)
	schema := freshSchema(t, url)
	a, b := openPGTest(t, url, schema), openPGTest(t, url, schema)
	seedKey(t, a, 1) // the keyspace
	const perWriter = 25
	var wg sync.WaitGroup
	errs := make(chan error, 8*perWriter+20)
	// Both nodes sign checkpoints while the log grows.
	logs := []*auditlog.Log{testLog(t, a), testLog(t, b)}
	if logs[0].Verifier() != logs[1].Verifier() {
		t.Fatal("the nodes sign with different keys")
	}
	stop := make(chan struct{})
	var signers sync.WaitGroup
	for _, l := range logs {
		signers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := l.Checkpoint(context.Background()); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for w := range 8 {
		db := a
		if w%2 == 1 {
			db = b
		}
		wg.Go(func() {
			for i := range perWriter {
				now := time.Now()
				ev := &token.AuditEvent{ID: token.NewID("aud", now), Time: now, Action: "key.create", TargetID: fmt.Sprint(w, "-", i)}
				var err error
				if i%5 == 0 { // a change with its record, in one transaction
					err = db.CreateKey(context.Background(), newTestKey(), ev)
				} else {
					err = db.AppendAudit(context.Background(), ev)
				}
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	signers.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	rep := verify(t, a, checkpoint(t, logs[1]))
	if rep.Failure != nil || rep.Size != 8*perWriter || rep.Checkpoints < 2 {
		t.Fatalf("Verify: %+v %v", rep, rep.Failure)
	}
	t.Logf("%d records, %d checkpoints", rep.Size, rep.Checkpoints)
}
