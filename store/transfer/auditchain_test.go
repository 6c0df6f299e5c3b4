package transfer_test

import (
	"context"
	"testing"

	"github.com/latchkey/latchkey/auditlog"
	"github.com/latchkey/latchkey/seal"
	"github.com/latchkey/latchkey/store/sqlstore"
)

// verifyChain runs auditlog.Verify on db with the operator's checkpoint.
func verifyChain(t *testing.T, db *sqlstore.DB, saved []byte) *auditlog.Report {
	t.Helper()
	var rep *auditlog.Report
	err := db.ReadAudit(context.Background(), func(r *sqlstore.AuditReader) error {
		var err error
		rep, err = auditlog.Verify(context.Background(), r, auditlog.VerifyOptions{Checkpoint: saved})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failure != nil {
		t.Fatalf("Verify: %v", rep.Failure)
	}
	return rep
}

// Export → import carries the audit chain: the copy has the same records
// in the same places, the stored checkpoints and the signing key, so that
// verify passes there with a checkpoint saved before the move, and the
// copy goes on signing with the same key.
func TestAuditChain_ExportImportCarriesChain(t *testing.T) {
	ctx := context.Background()
	src := openSQLite(t)
	populate(t, src)
	box, err := seal.New([32]byte{9})
	if err != nil {
		t.Fatal(err)
	}
	l, err := auditlog.New(ctx, auditlog.Config{Store: src.AuditStore(), Box: box})
	if err != nil {
		t.Fatal(err)
	}
	cp, err := l.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pg := openPostgres(t)
	n := copyTo(t, src, pg)
	if n.AuditKeys != 1 || n.AuditCheckpoints != 1 {
		t.Fatalf("copied %+v, want the audit key and checkpoint", n)
	}
	back := openSQLite(t)
	copyTo(t, pg, back)
	for name, db := range map[string]*sqlstore.DB{"postgres": pg, "sqlite": back} {
		rep := verifyChain(t, db, cp.Note)
		if rep.Size != cp.Size || rep.Checkpoints != 1 || !rep.Operator {
			t.Errorf("%s: %+v", name, rep)
		}
	}
	l2, err := auditlog.New(ctx, auditlog.Config{Store: back.AuditStore(), Box: box})
	if err != nil {
		t.Fatal(err)
	}
	if l2.Verifier() != l.Verifier() {
		t.Errorf("the copy signs with %s, the source with %s", l2.Verifier(), l.Verifier())
	}
}
