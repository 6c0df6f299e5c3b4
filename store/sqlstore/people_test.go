package sqlstore

import (
	"context"
	"testing"
	"time"

	"github.com/latchkey/latchkey/people"
	"github.com/latchkey/latchkey/store/storetest"
)

// TestPeopleConformance runs the people.Store conformance suite on both
// engines.
func TestPeopleConformance(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		storetest.RunPeople(t, func(t *testing.T) storetest.PeopleStore { return e.open(t) })
	})
}

// TestPeopleMigrationDown: the people migration (00016) undoes and applies
// again, and the tables it makes work afterwards.
func TestPeopleMigrationDown(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		ctx := context.Background()
		db := e.open(t)
		migrateDownAndUp(t, db, 15)
		db = e.reopen(t, db)
		now := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
		if err := db.PutChallenge(ctx, &people.Challenge{ID: "ch_1", Kind: "login", Data: []byte("{}"), ExpiresAt: now}); err != nil {
			t.Fatalf("PutChallenge after migrating down and up: %v", err)
		}
		if _, err := db.TakeChallenge(ctx, "ch_1", now.Add(-time.Second)); err != nil {
			t.Fatalf("TakeChallenge: %v", err)
		}
	})
}
