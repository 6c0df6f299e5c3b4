package sqlstore

import (
	"context"
	"testing"
)

// Seqs names each chained record's place; unknown IDs are left out.
func TestAuditSeqs(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		db := e.open(t)
		ids := appendEvents(t, db, 3)
		got, err := db.AuditSource().Seqs(context.Background(), append([]string{"aud_missing"}, ids...))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 {
			t.Fatalf("Seqs: %v, want the 3 records", got)
		}
		for i := 1; i < len(ids); i++ {
			if got[ids[i]] != got[ids[i-1]]+1 {
				t.Fatalf("Seqs: %v, want consecutive places in append order", got)
			}
		}
	})
}
