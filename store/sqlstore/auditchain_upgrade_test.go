package sqlstore_test

import (
	"context"
	"slices"
	"testing"

	"github.com/latchkey/latchkey/auditlog"
	"github.com/latchkey/latchkey/store/sqlstore"
	"github.com/latchkey/latchkey/token"
)

// The audit records of a database written before the chain existed (the
// e8b85e0 fixtures) are chained at the first start, in ID order, and the
// log then verifies; new records follow them.
func TestAuditChain_UpgradedDatabaseIsChained(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			m, _ := readManifest(t)
			var db *sqlstore.DB
			if engine == "sqlite" {
				db = openSQLiteFixture(t)
			} else {
				db = openPostgresFixture(t)
			}
			n, err := db.ChainAudit(ctx)
			if err != nil || n != m.Engines[engine].AuditEvents || n == 0 {
				t.Fatalf("ChainAudit: %d %v; the fixture has %d events", n, err, m.Engines[engine].AuditEvents)
			}
			recs, err := db.AuditSource().Records(ctx, 0, 10000)
			if err != nil || len(recs) != n {
				t.Fatalf("Records: %d %v", len(recs), err)
			}
			ids := make([]string, len(recs))
			for i, r := range recs {
				ids[i] = r.Event.ID
			}
			if !slices.IsSorted(ids) {
				t.Fatalf("not chained in ID order: %v", ids)
			}
			if err := db.AppendAudit(ctx, &token.AuditEvent{ID: token.NewID("aud", recs[0].Event.Time), Time: recs[0].Event.Time, Action: "x"}); err != nil {
				t.Fatal(err)
			}
			var rep *auditlog.Report
			if err := db.ReadAudit(ctx, func(r *sqlstore.AuditReader) error {
				rep, err = auditlog.Verify(ctx, r, auditlog.VerifyOptions{})
				return err
			}); err != nil || rep.Failure != nil || rep.Size != int64(n+1) {
				t.Fatalf("Verify: %+v %v", rep, err)
			}
		})
	}
}
