package sqlstore_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/apitoken"
	"github.com/latchkey/latchkey/httpapi"
	"github.com/latchkey/latchkey/httpsig"
	"github.com/latchkey/latchkey/internal/pgtest"
	"github.com/latchkey/latchkey/ratelimit"
	"github.com/latchkey/latchkey/seal"
	"github.com/latchkey/latchkey/signer"
	"github.com/latchkey/latchkey/store/sqlstore"
	"github.com/latchkey/latchkey/token"
)

// The fixtures in testdata/upgrade-e8b85e0 were written by the two
// backends this package replaced (store/sqlite and store/postgres at commit
// e8b85e0), through latchkey's own service; README.txt there says how.
// manifest.json says what they hold: every key with its test-only secret,
// its state and the code a verification gives.
const fixtureDir = "testdata/upgrade-e8b85e0"

type fixtureManifest struct {
	MasterKey string                    `json:"master_key_base64"`
	Engines   map[string]*fixtureEngine `json:"engines"`
}

type fixtureEngine struct {
	Keyspaces []struct {
		Name, Prefix      string
		DefaultTTL        string   `json:"default_ttl"`
		Scopes            []string `json:"scopes"`
		Audiences         []string `json:"audiences"`
		RateLimits        []string `json:"ratelimits"`
		AllowAPIKeyHeader bool     `json:"allow_api_key_header"`
	} `json:"keyspaces"`
	Principals []struct {
		Type, ID, Name string
		Permissions    []string        `json:"permissions"`
		Disabled       bool            `json:"disabled"`
		Metadata       json.RawMessage `json:"metadata"`
		RateLimits     []string        `json:"ratelimits"`
	} `json:"principals"`
	Keys        []*fixtureKey `json:"keys"`
	SigningKeys []struct {
		KID string `json:"kid"`
	} `json:"signing_keys"`
	AuditEvents int      `json:"audit_events"`
	Revocations int64    `json:"revocation_head"`
	Tombstones  []string `json:"tombstone_key_ids"`
}

type fixtureKey struct {
	Role, ID, Secret, State, Keyspace, Name string
	SigningSecret                           string `json:"signing_secret"`
	Verify                                  string `json:"verify_code"`
	VerifyWith                              struct {
		Keyspace string   `json:"keyspace"`
		Scopes   []string `json:"scopes"`
		IP       string   `json:"ip"`
		Signed   bool     `json:"signed"`
	} `json:"verify_with"`
	Scopes       []string         `json:"scopes"`
	Owner        *token.Owner     `json:"owner"`
	Metadata     json.RawMessage  `json:"metadata"`
	RevokeReason string           `json:"revoke_reason"`
	Remaining    *int64           `json:"remaining"`
	Refill       *token.Refill    `json:"refill"`
	RateLimits   []string         `json:"ratelimits"`
	IPAllow      []string         `json:"ip_allow"`
	RotatedFrom  string           `json:"rotated_from"`
	RotatedTo    string           `json:"rotated_to"`
	LineageID    string           `json:"lineage_id"`
	Foreign      bool             `json:"foreign"`
	Version      int64            `json:"version"`
	Usage        map[string]int64 `json:"usage_counts"`
}

func readManifest(t *testing.T) (*fixtureManifest, [32]byte) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m fixtureManifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var mk [32]byte
	raw, err := base64.StdEncoding.DecodeString(m.MasterKey)
	if err != nil || len(raw) != len(mk) {
		t.Fatalf("master key in the manifest: %v (%d bytes)", err, len(raw))
	}
	copy(mk[:], raw)
	return &m, mk
}

// openSQLiteFixture opens a copy of the SQLite fixture.
func openSQLiteFixture(t *testing.T) *sqlstore.DB {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(fixtureDir, "sqlite.db"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "latchkey.db")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := sqlstore.OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatalf("open the SQLite database of e8b85e0: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// openPostgresFixture restores the dump of the PostgreSQL fixture into a
// fresh schema and opens it.
func openPostgresFixture(t *testing.T) *sqlstore.DB {
	t.Helper()
	ctx := context.Background()
	url := pgtest.URL(t)
	schema := pgtest.Schema(t, url, "lkupgrade_")
	dump, err := os.ReadFile(filepath.Join(fixtureDir, "postgres.pgdump"))
	if err != nil {
		t.Fatal(err)
	}
	var sql strings.Builder
	for line := range strings.Lines(string(dump)) {
		if strings.HasPrefix(line, `\`) { // psql meta-commands (\restrict)
			continue
		}
		sql.WriteString(line)
	}
	// The dump empties search_path: it runs on a connection of its own.
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(ctx, strings.ReplaceAll(sql.String(), "lkfixture", schema))
	conn.Close(ctx)
	if err != nil {
		t.Fatalf("restore the PostgreSQL dump of e8b85e0: %v", err)
	}
	db, err := sqlstore.OpenPostgres(ctx, url, sqlstore.WithSchema(schema))
	if err != nil {
		t.Fatalf("open the PostgreSQL schema of e8b85e0: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestUpgradeInPlace opens databases written by the code before the one
// store implementation (SQLite file and PostgreSQL schema of e8b85e0) and
// checks that everything in them reads back as written, verifies as it
// did, and can still be changed.
func TestUpgradeInPlace(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			m, mk := readManifest(t)
			em := m.Engines[engine]
			var db *sqlstore.DB
			if engine == "sqlite" {
				db = openSQLiteFixture(t)
			} else {
				db = openPostgresFixture(t)
			}
			checkUpgraded(t, db, em, mk)
		})
	}
}

func limitStrings(ls []ratelimit.Limit) []string {
	var out []string
	for _, l := range ls {
		out = append(out, fmt.Sprintf("%s=%d/%s", l.Name, l.Limit, l.Window))
	}
	return out
}

func sameJSON(a, b json.RawMessage) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}

func checkUpgraded(t *testing.T, db *sqlstore.DB, em *fixtureEngine, mk [32]byte) {
	ctx := context.Background()
	box, err := seal.New(mk)
	if err != nil {
		t.Fatal(err)
	}
	svc := token.NewService(token.Config{Store: db, Secrets: box})
	if root, err := svc.Bootstrap(ctx, ""); err != nil || !root.IsZero() {
		t.Fatalf("Bootstrap on the upgraded database: new root key %v, err %v; want the existing one kept", !root.IsZero(), err)
	}

	// Every stored field reads back as the old code wrote it (before any
	// verification here spends credits or records usage).
	for _, want := range em.Keys {
		if want.State == "deleted" {
			if _, err := db.KeyByID(ctx, want.ID); !errors.Is(err, token.ErrNotFound) {
				t.Errorf("%s: deleted key reads back: %v", want.Role, err)
			}
			continue
		}
		k, err := db.KeyByID(ctx, want.ID)
		if err != nil {
			t.Errorf("%s: %v", want.Role, err)
			continue
		}
		var ips []string
		for _, p := range k.IPAllow {
			ips = append(ips, p.String())
		}
		got := fmt.Sprint(k.Keyspace, k.Name, k.Scopes, k.Owner, k.RevokeReason, k.Refill, limitStrings(k.RateLimits), ips,
			k.RotatedFrom, k.RotatedTo, k.LineageID, k.Foreign, k.Version)
		exp := fmt.Sprint(want.Keyspace, want.Name, want.Scopes, want.Owner, want.RevokeReason, want.Refill, want.RateLimits, want.IPAllow,
			want.RotatedFrom, want.RotatedTo, want.LineageID, want.Foreign, want.Version)
		if got != exp {
			t.Errorf("%s reads back as\n  %s\nwant\n  %s", want.Role, got, exp)
		}
		if !sameJSON(k.Metadata, want.Metadata) {
			t.Errorf("%s: metadata %s, want %s", want.Role, k.Metadata, want.Metadata)
		}
		if (k.Remaining == nil) != (want.Remaining == nil) || (k.Remaining != nil && *k.Remaining != *want.Remaining) {
			t.Errorf("%s: remaining %v, want %v", want.Role, k.Remaining, want.Remaining)
		}
		if k.Digest != apitoken.Hash(want.Secret) {
			t.Errorf("%s: stored digest is not the secret's", want.Role)
		}
		if (want.SigningSecret != "") != (len(k.SigningSecret) > 0) {
			t.Errorf("%s: signing secret stored %v, want %v", want.Role, len(k.SigningSecret) > 0, want.SigningSecret != "")
		}
		if string(k.State(time.Now())) != want.State {
			t.Errorf("%s: state %s, want %s", want.Role, k.State(time.Now()), want.State)
		}
		counts, err := db.UsageCounts(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantCounts := map[token.Code]int64{}
		for c, n := range want.Usage {
			wantCounts[token.Code(c)] = n
		}
		if len(want.Usage) == 0 {
			wantCounts = map[token.Code]int64{}
		}
		if !reflect.DeepEqual(counts, wantCounts) {
			t.Errorf("%s: usage counts %v, want %v", want.Role, counts, wantCounts)
		}
	}
	for _, want := range em.Keyspaces {
		ks, err := db.Keyspace(ctx, want.Name)
		if err != nil {
			t.Errorf("keyspace %s: %v", want.Name, err)
			continue
		}
		if ks.Prefix != want.Prefix || !slices.Equal(ks.Scopes, want.Scopes) || !slices.Equal(ks.Audiences, want.Audiences) ||
			!slices.Equal(limitStrings(ks.RateLimits), want.RateLimits) || ks.AllowAPIKeyHeader != want.AllowAPIKeyHeader {
			t.Errorf("keyspace %s reads back as %+v, want %+v", want.Name, ks, want)
		}
	}
	for _, want := range em.Principals {
		p, err := db.Principal(ctx, token.PrincipalType(want.Type), want.ID)
		if err != nil {
			t.Errorf("%s %s: %v", want.Type, want.ID, err)
			continue
		}
		if p.Name != want.Name || !slices.Equal(p.Permissions, want.Permissions) || p.Disabled != want.Disabled ||
			!sameJSON(p.Metadata, want.Metadata) || !slices.Equal(limitStrings(p.RateLimits), want.RateLimits) {
			t.Errorf("%s %s reads back as %+v, want %+v", want.Type, want.ID, p, want)
		}
	}
	evs, _, err := db.ListAudit(ctx, token.AuditFilter{Limit: 1000})
	if err != nil || len(evs) != em.AuditEvents {
		t.Errorf("audit: %d events, %v; want %d", len(evs), err, em.AuditEvents)
	}
	if head, err := db.RevocationHead(ctx); err != nil || head != em.Revocations {
		t.Errorf("revocation feed head %d, %v; want %d", head, err, em.Revocations)
	}
	tombs, err := db.RevokedDigests(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var tombIDs []string
	for _, r := range tombs {
		tombIDs = append(tombIDs, r.KeyID)
	}
	if !slices.Equal(tombIDs, em.Tombstones) {
		t.Errorf("tombstones of %v, want %v", tombIDs, em.Tombstones)
	}
	mgr, err := signer.NewManager(signer.ManagerConfig{Store: db, MasterKey: mk})
	if err != nil {
		t.Fatal(err)
	}
	if err := mgr.Load(ctx); err != nil {
		t.Errorf("the signing ring of e8b85e0 does not load: %v", err)
	}
	recs, _, err := db.SigningKeys(ctx)
	if err != nil || len(recs) != len(em.SigningKeys) {
		t.Errorf("signing keys: %d, %v; want %d", len(recs), err, len(em.SigningKeys))
	}

	// Every key verifies as it did.
	for _, k := range em.Keys {
		vw := k.VerifyWith
		r := token.VerifyRequest{Key: k.Secret, Keyspace: vw.Keyspace, Scopes: vw.Scopes, IP: vw.IP}
		if vw.Signed {
			req, _ := http.NewRequest(http.MethodGet, "https://api.example.com/payments/check", nil)
			s, err := httpsig.NewSigner(k.ID, []byte(k.SigningSecret))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Sign(req, nil); err != nil {
				t.Fatal(err)
			}
			r.Signature = httpapi.SignatureCheck(svc, req, "https", "api.example.com")
		}
		res, err := svc.Verify(ctx, r)
		if err != nil || string(res.Code) != k.Verify {
			t.Errorf("%s verifies %v (%v), want %s", k.Role, res.Code, err, k.Verify)
		}
	}

	// And the data can still be changed: a revoked-then-deleted digest
	// cannot come back, a key rotates and is revoked, a new key works.
	var deleted, current *fixtureKey
	for _, k := range em.Keys {
		switch k.Role {
		case "revoked_deleted":
			deleted = k
		case "rotated_gen2_current":
			current = k
		}
	}
	now := time.Now()
	imp := &token.Key{ID: token.NewID("key", now), Keyspace: "default", Digest: apitoken.Hash(deleted.Secret),
		CreatedAt: now, UpdatedAt: now, Version: 1, Foreign: true}
	ev := &token.AuditEvent{ID: token.NewID("aud", now), Time: now, Action: "key.import", TargetID: imp.ID, Outcome: token.OutcomeSuccess}
	if err := db.ImportKeys(ctx, []*token.Key{imp}, []*token.AuditEvent{ev}); !errors.Is(err, token.ErrDigestRevoked) {
		t.Errorf("import of a deleted revoked key's digest: %v, want ErrDigestRevoked", err)
	}
	rot, _, err := svc.RotateKey(ctx, token.SystemActor, current.ID, 0)
	if err != nil {
		t.Fatalf("rotate %s: %v", current.Role, err)
	}
	if rot.Key.LineageID != current.LineageID {
		t.Errorf("rotation on the upgraded database: lineage %q, want %q", rot.Key.LineageID, current.LineageID)
	}
	if res, _ := svc.Verify(ctx, token.VerifyRequest{Key: rot.Secret.Reveal(), Keyspace: "internal-tools"}); res.Code != token.CodeValid {
		t.Errorf("rotated key verifies %s", res.Code)
	}
	created, err := svc.CreateKey(ctx, token.SystemActor, token.CreateKeyParams{Keyspace: "payments", Scopes: []string{"payments:read"}, ExpiresIn: time.Hour})
	if err != nil {
		t.Fatalf("create on the upgraded database: %v", err)
	}
	if _, err := svc.RevokeKey(ctx, token.SystemActor, created.Key.ID, "test"); err != nil {
		t.Fatalf("revoke on the upgraded database: %v", err)
	}
	if res, _ := svc.Verify(ctx, token.VerifyRequest{Key: created.Secret.Reveal()}); res.Code != token.CodeRevoked {
		t.Errorf("revoked new key verifies %s", res.Code)
	}
	if head, err := db.RevocationHead(ctx); err != nil || head <= em.Revocations {
		t.Errorf("revocation feed head %d after a revoke, %v; want > %d", head, err, em.Revocations)
	}
}
