package sqlstore

import (
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/latchkey/latchkey/oauth"
	"github.com/latchkey/latchkey/store/storetest"
	"github.com/latchkey/latchkey/token"
)

// TestOAuthConformance runs the oauth.Store conformance suite on both
// engines.
func TestOAuthConformance(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		storetest.RunOAuth(t, func(t *testing.T) storetest.OAuthStore { return e.open(t) })
	})
}

// TestGrantsConformance runs the oauth.GrantStore conformance suite on
// both engines (on PostgreSQL its concurrency checks run on the pool).
func TestGrantsConformance(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		storetest.RunGrants(t, func(t *testing.T) storetest.GrantsStore { return e.open(t) })
	})
}

// TestGrantsMigrationDown: the grants migration (00018) undoes and applies
// again, and the tables it makes work afterwards.
func TestGrantsMigrationDown(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		ctx := context.Background()
		db := e.open(t)
		migrateDownAndUp(t, db, 17)
		db = e.reopen(t, db)
		now := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
		d := sha256.Sum256([]byte("refresh"))
		g := &oauth.Grant{ID: "grt_1", ClientID: "app_1", UserID: "usr_1", Scopes: []string{"openid"}, CreatedAt: now}
		rt := &oauth.RefreshToken{Digest: d[:], GrantID: "grt_1", ClientID: "app_1", UserID: "usr_1", CreatedAt: now}
		if err := db.CreateGrant(ctx, g, rt); err != nil {
			t.Fatalf("CreateGrant after migrating down and up: %v", err)
		}
		if _, err := db.RefreshToken(ctx, d[:]); err != nil {
			t.Fatalf("RefreshToken: %v", err)
		}
	})
}

// TestOAuthMigrationDown: the OAuth migration (00017) undoes and applies
// again, and the table it makes works afterwards.
func TestOAuthMigrationDown(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		ctx := context.Background()
		db := e.open(t)
		migrateDownAndUp(t, db, 16)
		db = e.reopen(t, db)
		now := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
		p := &token.Principal{Type: token.App, ID: "app_1", Name: "one", CreatedAt: now, UpdatedAt: now}
		c := &oauth.Client{AppID: "app_1", Settings: oauth.Settings{GrantTypes: []string{"client_credentials"}}}
		if err := db.CreateClient(ctx, p, c, nil); err != nil {
			t.Fatalf("CreateClient after migrating down and up: %v", err)
		}
		if _, err := db.Client(ctx, "app_1"); err != nil {
			t.Fatalf("Client: %v", err)
		}
	})
}

// TestLeaksConformance runs the leak.Store conformance suite on both
// engines (migration 00025).
func TestLeaksConformance(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		storetest.RunLeaks(t, func(t *testing.T) storetest.LeaksStore { return e.open(t) })
	})
}
