package transfer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/apitoken"
	"github.com/latchkey/latchkey/internal/pgtest"
	"github.com/latchkey/latchkey/oauth"
	"github.com/latchkey/latchkey/people"
	"github.com/latchkey/latchkey/ratelimit"
	"github.com/latchkey/latchkey/seal"
	"github.com/latchkey/latchkey/signer"
	"github.com/latchkey/latchkey/store/sqlstore"
	"github.com/latchkey/latchkey/store/transfer"
	"github.com/latchkey/latchkey/token"
)

// bulkKeys is enough keys and audit events to span several list pages and
// ImportKeys batches.
const bulkKeys = 1100

// source is a populated store and the plaintexts of some of its keys.
type source struct {
	store   token.Store
	valid   string // plaintext of an active key
	revoked string // plaintext of a revoked key
	signing string // ID of a key with a signing secret and a used nonce
	// kept is a recoverable key whose plaintext is kept, sealed with
	// masterKey.
	kept       *token.CreatedKey
	keptSecret string
}

// masterKey seals the source's kept secrets (and is the destination's).
var masterKey = [32]byte{7}

func box(t *testing.T, mk [32]byte) *seal.Box {
	t.Helper()
	b, err := seal.New(mk)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func openSQLite(t *testing.T) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "latchkey.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// openPostgres opens a store in a fresh schema of the PostgreSQL named by
// LATCHKEY_TEST_POSTGRES_URL, dropped when the test ends. Without the URL
// the test is skipped loudly, or fails if LATCHKEY_TEST_REQUIRE_SERVICES=1.
func openPostgres(t *testing.T) *sqlstore.DB {
	t.Helper()
	url := pgtest.URL(t)
	schema := pgtest.Schema(t, url, "lktest_")
	db, err := sqlstore.OpenPostgres(context.Background(), url, sqlstore.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// populate fills db through the Service (bootstrap, keyspace, principals,
// keys, verification, revocation, rotation) and directly (a key with every
// field set, bulk keys with their audit events).
func populate(t *testing.T, db token.Store) source {
	t.Helper()
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 12, 0, 0, 123456789, time.UTC)
	svc := token.NewService(token.Config{Store: db, Now: func() time.Time { return now }, Secrets: box(t, masterKey)})
	if _, err := svc.Bootstrap(ctx, ""); err != nil {
		t.Fatal(err)
	}
	// A signing-key ring with an active and a pending key.
	m, err := signer.NewManager(signer.ManagerConfig{Store: db, MasterKey: [32]byte{7}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Rotate(ctx, signer.RotateOptions{Alg: signer.ES256}); err != nil {
		t.Fatal(err)
	}
	root := token.SystemActor
	prefix, ttl, yes := "acme_live", 90*24*time.Hour, true
	limits := []ratelimit.Limit{{Name: "burst", Limit: 10, Window: time.Second}}
	if _, err := svc.CreateKeyspace(ctx, root, token.KeyspaceParams{Name: "acme", Prefix: &prefix,
		DefaultTTL: &ttl, Scopes: &[]string{"read", "write"}, RateLimits: &limits,
		Audiences: &[]string{"https://acme.example.com"}, AllowAPIKeyHeader: &yes}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []token.CreatePrincipalParams{
		{Type: token.User, ID: "alice", Name: "Alice", Permissions: []string{"read"}, Metadata: json.RawMessage(`{"team": "ops", "n": 1}`),
			Email: "alice@example.com", EmailVerified: true, PreferredUsername: "alice", Groups: []string{"staff", "sales"}},
		{Type: token.App, ID: "alice", Name: "same ID, other type"},
		{Type: token.App, ID: "billing", Name: "Billing", RateLimits: limits},
	} {
		if _, err := svc.CreatePrincipal(ctx, root, p); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.CreateKeyspace(ctx, root, token.KeyspaceParams{Name: "vault", Recoverable: &yes}); err != nil {
		t.Fatal(err)
	}
	kept, err := svc.CreateKey(ctx, root, token.CreateKeyParams{Keyspace: "vault", Name: "recoverable"})
	if err != nil {
		t.Fatal(err)
	}
	valid, err := svc.CreateKey(ctx, root, token.CreateKeyParams{Name: "valid", Scopes: []string{"read"},
		Owner: &token.Owner{Type: token.User, ID: "alice"}, Metadata: json.RawMessage(`{"b": [1, 2], "a": "x"}`)})
	if err != nil {
		t.Fatal(err)
	}
	revoked, err := svc.CreateKey(ctx, root, token.CreateKeyParams{Keyspace: "acme", Name: "to revoke"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.RevokeKey(ctx, root, revoked.Key.ID, "leaked"); err != nil {
		t.Fatal(err)
	}
	rotating, err := svc.CreateKey(ctx, root, token.CreateKeyParams{Name: "rotating"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.RotateKey(ctx, root, rotating.Key.ID, time.Hour); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if res, err := svc.Verify(ctx, token.VerifyRequest{Key: valid.Secret.Reveal(), IP: "192.0.2.7"}); err != nil || !res.Valid {
			t.Fatalf("verify on the source: %+v, %v", res, err)
		}
	}
	if res, _ := svc.Verify(ctx, token.VerifyRequest{Key: valid.Secret.Reveal(), Scopes: []string{"write"}}); res == nil || res.Valid {
		t.Fatalf("verify with a missing scope: %+v", res)
	}
	if err := svc.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	remaining := int64(7)
	full := &token.Key{ID: "key_full", Keyspace: "acme", Name: "every field",
		Owner: &token.Owner{Type: token.App, ID: "billing"}, Scopes: []string{"read", "write"},
		Digest: apitoken.Hash("full-key-plaintext"), Start: "acme_live_Full", Metadata: json.RawMessage(`{"k":"v"}`),
		Foreign: true, IdempotencyKey: "idem-1", CreatedAt: now.Add(-time.Hour), UpdatedAt: now,
		ExpiresAt: now.Add(time.Hour), TTL: 2 * time.Hour, Disabled: true, RevokedAt: now.Add(time.Minute),
		RevokeReason: "test", Remaining: &remaining, Refill: &token.Refill{Interval: "daily", Amount: 10},
		RefilledAt: now.Add(-time.Minute), RateLimits: limits,
		IPAllow:     []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")},
		RotatedFrom: "key_before", RotatedTo: "key_after", LineageID: "key_first", LastUsedAt: now.Add(-time.Second),
		LastUsedIP: "10.1.2.3", SigningSecret: []byte("sealed-secret-test-bytes\x00\xff"),
		SealedSecret: []byte("not kept: revoked, and acme is not recoverable"),
		DPoPJKT:      "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I", Version: 42}
	assertEveryField(t, full)
	if err := db.CreateKey(ctx, full, nil); err != nil {
		t.Fatal(err)
	}

	// A request-signing secret set after creation, as the service does,
	// and a nonce of a signed request, which a copy does not carry.
	if _, err := db.UpdateKey(ctx, rotating.Key.ID, func(k *token.Key) error {
		k.SigningSecret = []byte("sealed-secret-test-bytes")
		return nil
	}, nil); err != nil {
		t.Fatal(err)
	}
	if fresh, err := db.UseNonce(ctx, rotating.Key.ID, "nonce-1", time.Now().Add(time.Hour)); err != nil || !fresh {
		t.Fatalf("UseNonce on the source = %v, %v; want fresh", fresh, err)
	}

	keys := make([]*token.Key, bulkKeys)
	evs := make([]*token.AuditEvent, bulkKeys)
	for i := range keys {
		at := now.Add(time.Duration(i) * time.Millisecond)
		keys[i] = &token.Key{ID: token.NewID("key", at), Keyspace: "default", Name: fmt.Sprintf("bulk %d", i),
			Digest: apitoken.Hash(fmt.Sprintf("bulk-%d", i)), Start: "lk_bulk", CreatedAt: at, UpdatedAt: at, Version: 1}
		evs[i] = &token.AuditEvent{ID: token.NewID("evt", at), Time: at, ActorKeyID: "system", Action: "key.import",
			TargetType: "key", TargetID: keys[i].ID, Outcome: token.OutcomeSuccess, Detail: map[string]string{"n": fmt.Sprint(i)}}
	}
	if err := db.ImportKeys(ctx, keys, evs); err != nil {
		t.Fatal(err)
	}
	populatePeople(t, db.(*sqlstore.DB), now)
	populateOAuth(t, db.(*sqlstore.DB), now)
	return source{store: db, valid: valid.Secret.Reveal(), revoked: revoked.Secret.Reveal(), signing: rotating.Key.ID,
		kept: kept, keptSecret: kept.Secret.Reveal()}
}

// populatePeople gives the user alice every credential (one of her three
// recovery codes used) and a session, which a copy does not carry; the
// app "alice" gets none (credentials follow users only).
func populatePeople(t *testing.T, db *sqlstore.DB, now time.Time) {
	t.Helper()
	ctx := context.Background()
	full := &people.Credentials{UserID: "alice", PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
		PasswordChangedAt: now.Add(-time.Hour), TOTPSealed: []byte("sealed-totp\x00\xff"), TOTPConfirmed: true,
		TOTPCreatedAt: now.Add(-time.Minute), TOTPLastStep: 59_000_000, WebAuthnID: bytes.Repeat([]byte{0xa1}, 64),
		Source: "ldap", ExternalID: "uid=alice,dc=example,dc=org", UpdatedAt: now, Version: 1}
	assertEveryField(t, full)
	for range 3 { // version 3
		if _, err := db.UpdateCredentials(ctx, "alice", func(c *people.Credentials) error {
			*c = *full
			return nil
		}, nil); err != nil {
			t.Fatal(err)
		}
	}
	hash := func(s string) []byte { d := apitoken.Hash(s); return d[:] }
	codes := [][]byte{hash("code-1"), hash("code-2"), hash("code-3")}
	if err := db.SetRecoveryCodes(ctx, "alice", codes, nil); err != nil {
		t.Fatal(err)
	}
	if ok, err := db.UseRecoveryCode(ctx, "alice", codes[1], nil); err != nil || !ok {
		t.Fatalf("UseRecoveryCode = %v, %v", ok, err)
	}
	pk := &people.Passkey{ID: []byte("credential-id\x00\x01"), UserID: "alice", Name: "laptop",
		Credential: []byte(`{"publicKey":"AQID", "signCount":7}`), CreatedAt: now.Add(-time.Hour), LastUsedAt: now}
	assertEveryField(t, pk)
	if err := db.AddPasskey(ctx, pk, nil); err != nil {
		t.Fatal(err)
	}
	if err := db.AddPasskey(ctx, &people.Passkey{ID: []byte("second"), UserID: "alice", Credential: []byte("{}"), CreatedAt: now}, nil); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateSession(ctx, &people.Session{ID: "ses_alice", Digest: hash("cookie"), UserID: "alice",
		CreatedAt: now, ExpiresAt: now.Add(time.Hour), IdleExpiresAt: now.Add(time.Hour)}, "", nil); err != nil {
		t.Fatal(err)
	}
}

// populateOAuth gives the existing app "billing" an OAuth client with
// every field set (at version 3, with a rotation's previous secret) and
// creates the app "public" with a public client of empty values; the app
// "alice" gets none.
func populateOAuth(t *testing.T, db *sqlstore.DB, now time.Time) {
	t.Helper()
	ctx := context.Background()
	hash := func(s string) []byte { d := apitoken.Hash(s); return d[:] }
	settings := oauth.Settings{
		RedirectURIs:            []string{"https://billing.example/cb"},
		PostLogoutRedirectURIs:  []string{"https://billing.example/bye"},
		GrantTypes:              []string{"client_credentials", "authorization_code"},
		TokenEndpointAuthMethod: "client_secret_basic",
		AccessTokenFormat:       "jwt",
		DPoPBoundAccessTokens:   true,
		SkipConsent:             true,
		BackchannelLogoutURI:    "https://billing.example/logout",
		SubjectType:             "pairwise",
		Audiences:               []string{"https://api.example"},
		JWKS:                    json.RawMessage(`{"keys": [{"kty": "oct", "kid": "k1", "alg": "HS256"}]}`),
	}
	assertEveryField(t, &settings)
	full := &oauth.Client{AppID: "billing", Settings: settings, SecretDigest: hash("secret-2"),
		PrevSecretDigest: append([]byte{0}, hash("secret-1")[1:]...), PrevSecretUntil: now.Add(time.Hour),
		CreatedAt: now.Add(-time.Hour), UpdatedAt: now, Version: 1}
	assertEveryField(t, full)
	for range 3 { // version 3
		if _, err := db.UpdateClient(ctx, "billing", func(c *oauth.Client) error {
			*c = *full
			return nil
		}, nil); err != nil {
			t.Fatal(err)
		}
	}
	pub := &token.Principal{Type: token.App, ID: "public", Name: "Public", CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := db.CreateClient(ctx, pub, &oauth.Client{AppID: "public", Settings: oauth.Settings{GrantTypes: []string{},
		TokenEndpointAuthMethod: "none"}, CreatedAt: now, Version: 1}, nil); err != nil {
		t.Fatal(err)
	}
}

// assertSameOAuth fails unless got holds the OAuth client of every app of
// want exactly (the JWKS by meaning), and none for an app without one.
func assertSameOAuth(t *testing.T, want, got token.Store, principals []*token.Principal) {
	t.Helper()
	ctx := context.Background()
	carried := 0
	for _, p := range principals {
		if p.Type != token.App {
			continue
		}
		w, werr := want.(*sqlstore.DB).Client(ctx, p.ID)
		g, gerr := got.(*sqlstore.DB).Client(ctx, p.ID)
		if errors.Is(werr, token.ErrNotFound) {
			if !errors.Is(gerr, token.ErrNotFound) {
				t.Errorf("OAuth client of %s on the destination: %+v, %v; want none", p.ID, g, gerr)
			}
			continue
		}
		if werr != nil || gerr != nil {
			t.Fatalf("OAuth client of %s: source %v, destination %v", p.ID, werr, gerr)
		}
		carried++
		if d := diff(&g.Settings, &w.Settings); len(d) > 0 {
			t.Errorf("OAuth settings of %s differ:\n%s", p.ID, strings.Join(d, "\n"))
		}
		if (w.Settings.GrantTypes == nil) != (g.Settings.GrantTypes == nil) {
			t.Errorf("grant types of %s: got %#v, want %#v", p.ID, g.Settings.GrantTypes, w.Settings.GrantTypes)
		}
		wc, gc := *w, *g
		wc.Settings, gc.Settings = oauth.Settings{}, oauth.Settings{}
		if d := diff(&gc, &wc); len(d) > 0 {
			t.Errorf("OAuth client of %s differs:\n%s", p.ID, strings.Join(d, "\n"))
		}
	}
	b, err := want.(*sqlstore.DB).Client(ctx, "billing")
	if carried != 2 || err != nil || b.Version != 3 || b.PrevSecretDigest == nil {
		t.Errorf("the source holds %d OAuth clients, billing's %+v (%v): want 2, billing's at version 3 with a previous secret", carried, b, err)
	}
}

// peopleOf is what a store holds of the user's credentials.
type peopleOf struct {
	creds    *people.Credentials
	codes    [][]byte
	passkeys []*people.Passkey
}

func readPeople(t *testing.T, db token.Store, userID string) peopleOf {
	t.Helper()
	ctx := context.Background()
	ps := db.(*sqlstore.DB)
	var p peopleOf
	var err error
	if p.creds, err = ps.Credentials(ctx, userID); err != nil && !errors.Is(err, token.ErrNotFound) {
		t.Fatal(err)
	}
	if p.codes, err = ps.UnusedRecoveryCodes(ctx, userID); err != nil {
		t.Fatal(err)
	}
	if p.passkeys, err = ps.Passkeys(ctx, userID); err != nil {
		t.Fatal(err)
	}
	return p
}

// assertSamePeople fails unless got holds the credentials of every user
// of want, and no session.
func assertSamePeople(t *testing.T, want, got token.Store, users []*token.Principal) {
	t.Helper()
	carried := 0
	for _, u := range users {
		if u.Type != token.User {
			continue
		}
		w, g := readPeople(t, want, u.ID), readPeople(t, got, u.ID)
		if (w.creds == nil) != (g.creds == nil) {
			t.Errorf("credentials of %s: got %+v, want %+v", u.ID, g.creds, w.creds)
		} else if w.creds != nil {
			carried++
			if d := diff(g.creds, w.creds); len(d) > 0 {
				t.Errorf("credentials of %s differ:\n%s", u.ID, strings.Join(d, "\n"))
			}
		}
		if !same(w.codes, g.codes) {
			t.Errorf("unused recovery codes of %s: got %d, want %d", u.ID, len(g.codes), len(w.codes))
		}
		compareAll(t, "passkey", w.passkeys, g.passkeys)
		if n, err := got.(*sqlstore.DB).RecoveryCodesLeft(context.Background(), u.ID); err != nil || n != len(w.codes) {
			t.Errorf("RecoveryCodesLeft(%s) on the destination = %d, %v; want %d", u.ID, n, err, len(w.codes))
		}
	}
	alice := readPeople(t, want, "alice")
	if carried == 0 || alice.creds == nil || alice.creds.Version != 3 || len(alice.codes) != 2 || len(alice.passkeys) != 2 {
		t.Errorf("the source holds %+v for alice: want credentials at version 3, 2 unused codes and 2 passkeys", alice)
	}
	if _, err := got.(*sqlstore.DB).Session(context.Background(), "ses_alice"); !errors.Is(err, token.ErrNotFound) {
		t.Errorf("Session on the destination: %v, want ErrNotFound: sessions are not copied", err)
	}
}

// assertEveryField fails unless every field of *v is set, so that a field
// added to the type later is added to this test (and to the format).
func assertEveryField(t *testing.T, v any) {
	t.Helper()
	rv := reflect.ValueOf(v).Elem()
	for i := range rv.NumField() {
		if rv.Field(i).IsZero() {
			t.Errorf("the test's full %s leaves %s unset", rv.Type().Name(), rv.Type().Field(i).Name)
		}
	}
}

// copyTo exports src and imports the stream into dst.
func copyTo(t *testing.T, src, dst token.Store) transfer.Counts {
	t.Helper()
	ctx := context.Background()
	var buf bytes.Buffer
	var progress int
	out, err := transfer.Export(ctx, src, &buf, transfer.Options{ProgressEvery: 500,
		Progress: func(transfer.Counts, bool) { progress++ }})
	if err != nil {
		t.Fatal(err)
	}
	if progress < 2 {
		t.Errorf("export reported progress %d times, want at least 2", progress)
	}
	if s := buf.String(); !strings.HasPrefix(s, `{"kind":"header","format":"latchkey-export","version":1,`) {
		t.Fatalf("export starts with %.100q", s)
	}
	in, err := transfer.Import(ctx, dst, &buf, transfer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if in != out {
		t.Errorf("imported %+v, exported %+v", in, out)
	}
	return in
}

func TestRoundTripSQLite(t *testing.T) {
	src := populate(t, openSQLite(t))
	mid := openSQLite(t)
	n := copyTo(t, src.store, mid)
	if n.Keys < bulkKeys || n.Audit < bulkKeys {
		t.Errorf("copied %+v, want more than %d keys and audit events", n, bulkKeys)
	}
	assertSame(t, src.store, mid)
	assertVerifies(t, mid, src)
	assertNoncesNotCopied(t, src, mid)
}

func TestRoundTripSQLitePostgresSQLite(t *testing.T) {
	src := populate(t, openSQLite(t))
	pg := openPostgres(t)
	copyTo(t, src.store, pg)
	assertSame(t, src.store, pg)
	back := openSQLite(t)
	copyTo(t, pg, back)
	assertSame(t, src.store, back)
	assertVerifies(t, pg, src)
	assertVerifies(t, back, src)
	assertNoncesNotCopied(t, src, pg)
}

// assertNoncesNotCopied checks that the nonce populate recorded on the
// source is still a replay there but fresh on dst: nonces are short-lived
// and not part of the stream.
func assertNoncesNotCopied(t *testing.T, src source, dst token.Store) {
	t.Helper()
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	if fresh, err := src.store.UseNonce(ctx, src.signing, "nonce-1", exp); err != nil || fresh {
		t.Errorf("UseNonce on the source = %v, %v; want a replay", fresh, err)
	}
	if fresh, err := dst.UseNonce(ctx, src.signing, "nonce-1", exp); err != nil || !fresh {
		t.Errorf("UseNonce on the destination = %v, %v; want fresh: nonces are not copied", fresh, err)
	}
}

func TestImportRefusesNonEmpty(t *testing.T) {
	src := populate(t, openSQLite(t))
	var buf bytes.Buffer
	if _, err := transfer.Export(context.Background(), src.store, &buf, transfer.Options{}); err != nil {
		t.Fatal(err)
	}
	_, err := transfer.Import(context.Background(), src.store, &buf, transfer.Options{})
	if !errors.Is(err, transfer.ErrNotEmpty) {
		t.Fatalf("import into a populated store: %v, want ErrNotEmpty", err)
	}
}

// TestImportWithoutProfile: an export made before users had an OpenID
// Connect profile (no email, email_verified, preferred_username in its
// principal records) imports, its users without one.
func TestImportWithoutProfile(t *testing.T) {
	src := populate(t, openSQLite(t))
	var buf bytes.Buffer
	if _, err := transfer.Export(context.Background(), src.store, &buf, transfer.Options{}); err != nil {
		t.Fatal(err)
	}
	old := buf.String()
	for _, f := range []string{`"email":"alice@example.com",`, `"email_verified":true,`, `"preferred_username":"alice",`} {
		if !strings.Contains(old, f) {
			t.Fatalf("the export lacks %s", f)
		}
		old = strings.Replace(old, f, "", 1)
	}
	dst := openSQLite(t)
	if _, err := transfer.Import(context.Background(), dst, strings.NewReader(old), transfer.Options{}); err != nil {
		t.Fatalf("import of an export without profiles: %v", err)
	}
	p, err := dst.Principal(context.Background(), token.User, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if p.Email != "" || p.EmailVerified || p.PreferredUsername != "" || p.Name != "Alice" {
		t.Errorf("alice imported from an old export: %+v", p)
	}
}

func TestImportRejectsBadInput(t *testing.T) {
	src := populate(t, openSQLite(t))
	var buf bytes.Buffer
	if _, err := transfer.Export(context.Background(), src.store, &buf, transfer.Options{}); err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(buf.String(), "\n")
	for _, tc := range []struct{ name, input, want string }{
		{"empty", "", "empty input"},
		{"no header", strings.Join(lines[1:], ""), "not a latchkey export"},
		{"newer version", strings.Replace(lines[0], `"version":1`, `"version":2`, 1), "version 2 is not supported"},
		{"truncated", strings.Join(lines[:len(lines)/2], ""), "truncated"},
		{"unknown kind", lines[0] + `{"kind":"mystery"}` + "\n", `unknown record kind "mystery"`},
		{"OAuth digest not hex", lines[0] + `{"kind":"oauth_client","app_id":"app_x","settings":{"grant_types":null,` +
			`"token_endpoint_auth_method":"","access_token_format":""},"secret_digest":"zz","version":1}` + "\n", "secret_digest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := transfer.Import(context.Background(), openSQLite(t), strings.NewReader(tc.input), transfer.Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("import: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// assertVerifies checks that the plaintexts issued on the source verify on
// dst exactly as they did there.
func assertVerifies(t *testing.T, dst token.Store, src source) {
	t.Helper()
	ctx := context.Background()
	svc := token.NewService(token.Config{Store: dst, Secrets: box(t, masterKey)})
	if got, err := svc.RevealKey(ctx, token.SystemActor, src.kept.Key.ID); err != nil || got.Reveal() != src.keptSecret {
		t.Errorf("reveal of the recoverable key on the destination: %v", err)
	}
	// Sealed with the source's master key, as signing secrets are: a
	// destination served with another key cannot open it, and says so.
	other := token.NewService(token.Config{Store: dst, Secrets: box(t, [32]byte{8})})
	if _, err := other.RevealKey(ctx, token.SystemActor, src.kept.Key.ID); token.KindOf(err) != token.Conflict {
		t.Errorf("reveal under another master key: %v, want a Conflict (secret_unreadable)", err)
	}
	for _, tc := range []struct {
		secret string
		want   token.Code
	}{{src.valid, token.CodeValid}, {src.revoked, token.CodeRevoked}} {
		res, err := svc.Verify(ctx, token.VerifyRequest{Key: tc.secret})
		if err != nil {
			t.Fatal(err)
		}
		if res.Code != tc.want {
			t.Errorf("verify on the destination: %s, want %s", res.Code, tc.want)
		}
	}
}

// contents is everything a store holds, read for comparison.
type contents struct {
	keyspaces  []*token.Keyspace
	principals []*token.Principal
	keys       []*token.Key
	usage      map[string]map[token.Code]int64
	audit      []*token.AuditEvent
}

func read(t *testing.T, db token.Store) contents {
	t.Helper()
	ctx := context.Background()
	var c contents
	var err error
	if c.keyspaces, err = db.ListKeyspaces(ctx); err != nil {
		t.Fatal(err)
	}
	for _, typ := range []token.PrincipalType{token.User, token.App} {
		for f := (token.PrincipalFilter{Type: typ, Limit: 100}); ; {
			ps, next, err := db.ListPrincipals(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			c.principals = append(c.principals, ps...)
			if f.After = next; next == "" {
				break
			}
		}
	}
	c.usage = map[string]map[token.Code]int64{}
	for f := (token.KeyFilter{Limit: 300}); ; {
		ks, next, err := db.ListKeys(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range ks {
			if c.usage[k.ID], err = db.UsageCounts(ctx, k.ID); err != nil {
				t.Fatal(err)
			}
		}
		c.keys = append(c.keys, ks...)
		if f.After = next; next == "" {
			break
		}
	}
	for f := (token.AuditFilter{Limit: 300}); ; {
		evs, next, err := db.ListAudit(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		c.audit = append(c.audit, evs...)
		if f.Before = next; next == "" {
			break
		}
	}
	return c
}

// assertSame fails unless got holds exactly what want holds.
func assertSame(t *testing.T, want, got token.Store) {
	t.Helper()
	w, g := read(t, want), read(t, got)
	compareAll(t, "keyspace", w.keyspaces, g.keyspaces)
	compareAll(t, "principal", w.principals, g.principals)
	compareAll(t, "key", w.keys, g.keys)
	compareAll(t, "audit event", w.audit, g.audit)
	assertSamePeople(t, want, got, w.principals)
	assertSameOAuth(t, want, got, w.principals)
	ws, _, err := want.SigningKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	gs, _, err := got.SigningKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 2 {
		t.Errorf("the source holds %d signing keys, want 2", len(ws))
	}
	ptrs := func(rs []token.SigningKeyRecord) (out []*token.SigningKeyRecord) {
		for i := range rs {
			out = append(out, &rs[i])
		}
		return out
	}
	compareAll(t, "signing key", ptrs(ws), ptrs(gs))
	keptN := 0
	for _, k := range w.keys {
		ws, werr := want.KeySecret(context.Background(), k.ID)
		gs, gerr := got.KeySecret(context.Background(), k.ID)
		if !bytes.Equal(ws, gs) || errors.Is(werr, token.ErrNotFound) != errors.Is(gerr, token.ErrNotFound) {
			t.Errorf("kept secret of key %s: got %d bytes (%v), want %d bytes (%v)", k.ID, len(gs), gerr, len(ws), werr)
		}
		if werr == nil {
			keptN++
		}
	}
	if keptN == 0 {
		t.Error("the source keeps no secret of a recoverable key: nothing to compare")
	}
	for id, u := range w.usage {
		if !same(u, g.usage[id]) {
			t.Errorf("usage of key %s: got %v, want %v", id, g.usage[id], u)
		}
	}
	if len(w.usage) != len(g.usage) {
		t.Errorf("usage of %d keys, want %d", len(g.usage), len(w.usage))
	}
	counted := 0
	for _, u := range w.usage {
		counted += len(u)
	}
	if counted == 0 || len(w.principals) == 0 || len(w.audit) == 0 {
		t.Errorf("the source is missing usage counts (%d), principals (%d) or audit events (%d): nothing to compare",
			counted, len(w.principals), len(w.audit))
	}
}

func compareAll[T any](t *testing.T, what string, want, got []*T) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d %ss, want %d", len(got), what, len(want))
		return
	}
	for i := range want {
		if d := diff(got[i], want[i]); len(d) > 0 {
			t.Errorf("%s %d differs:\n%s", what, i, strings.Join(d, "\n"))
		}
	}
}

// diff names the fields of two structs that differ. Times compare as
// instants, JSON documents by meaning, and an empty slice or map equals nil.
func diff[T any](got, want *T) []string {
	g, w := reflect.ValueOf(got).Elem(), reflect.ValueOf(want).Elem()
	var out []string
	for i := range g.NumField() {
		a, b := g.Field(i).Interface(), w.Field(i).Interface()
		if !same(a, b) {
			out = append(out, fmt.Sprintf("  %s: got %#v, want %#v", g.Type().Field(i).Name, a, b))
		}
	}
	return out
}

func same(a, b any) bool {
	switch a := a.(type) {
	case time.Time:
		return a.Equal(b.(time.Time))
	case json.RawMessage:
		var x, y any
		if len(a) == 0 || len(b.(json.RawMessage)) == 0 {
			return len(a) == len(b.(json.RawMessage))
		}
		return json.Unmarshal(a, &x) == nil && json.Unmarshal(b.(json.RawMessage), &y) == nil && reflect.DeepEqual(x, y)
	}
	av, bv := reflect.ValueOf(a), reflect.ValueOf(b)
	if k := av.Kind(); (k == reflect.Slice || k == reflect.Map) && av.Len() == 0 && bv.Len() == 0 {
		return true
	}
	return reflect.DeepEqual(a, b)
}
