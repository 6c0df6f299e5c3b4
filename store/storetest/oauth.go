package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/latchkey/latchkey/oauth"
	"github.com/latchkey/latchkey/token"
)

// OAuthStore is what the OAuth conformance suite runs against: an
// oauth.Store, the principals its apps are, and the audit listing that
// shows which events its writes stored.
type OAuthStore interface {
	oauth.Store
	CreatePrincipal(ctx context.Context, p *token.Principal, ev *token.AuditEvent) error
	Principal(ctx context.Context, typ token.PrincipalType, id string) (*token.Principal, error)
	ListAudit(ctx context.Context, f token.AuditFilter) ([]*token.AuditEvent, string, error)
	Close() error
}

// oauthTest is one conformance check of oauth.Store against a fresh,
// empty store.
type oauthTest struct {
	name string
	run  func(t *testing.T, s OAuthStore)
}

// RunOAuth runs the conformance suite of oauth.Store. open must return a
// new, empty store each time it is called; RunOAuth closes every store it
// opened.
func RunOAuth(t *testing.T, open func(t *testing.T) OAuthStore) {
	for _, tc := range oauthTests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			defer func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			}()
			tc.run(t, s)
		})
	}
}

// canonicalJSON returns the meaning of a JSON document in one spelling
// (object keys sorted, no spaces): what jsonb keeps of it.
func canonicalJSON(t *testing.T, m json.RawMessage) json.RawMessage {
	t.Helper()
	if m == nil {
		return nil
	}
	var v any
	if err := json.Unmarshal(m, &v); err != nil {
		t.Fatalf("stored JWKS %q is not JSON: %v", m, err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sameClient fails the test unless got equals want, times compared as
// instants and the JWKS by meaning.
func sameClient(t *testing.T, what string, got, want *oauth.Client) {
	t.Helper()
	norm := func(c oauth.Client) oauth.Client {
		c.PrevSecretUntil, c.CreatedAt, c.UpdatedAt = utc(c.PrevSecretUntil), utc(c.CreatedAt), utc(c.UpdatedAt)
		c.Settings.JWKS = canonicalJSON(t, c.Settings.JWKS)
		return c
	}
	sameAs(t, what, got, want, norm)
}

// testJWKS is a public JWKS with spaces and keys in an order jsonb does
// not keep.
const testJWKS = `{"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1", "use": "sig",
	"x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}`

// fullSettings returns settings with every field set.
func fullSettings() oauth.Settings {
	return oauth.Settings{
		RedirectURIs:            []string{"https://app.example/cb", "http://127.0.0.1:8080/cb?x=1&y=ü"},
		PostLogoutRedirectURIs:  []string{"https://app.example/bye"},
		GrantTypes:              []string{"client_credentials", "authorization_code", "refresh_token"},
		TokenEndpointAuthMethod: "private_key_jwt",
		AccessTokenFormat:       "jwt",
		DPoPBoundAccessTokens:   true,
		SkipConsent:             true,
		BackchannelLogoutURI:    "https://app.example/backchannel",
		Audiences:               []string{"https://api.example", "urn:billing"},
		JWKS:                    json.RawMessage(testJWKS),
	}
}

// fullClient returns a client of appID with every field set.
func fullClient(appID string) *oauth.Client {
	return &oauth.Client{
		AppID:            appID,
		Settings:         fullSettings(),
		SecretDigest:     digestOf("secret of " + appID),
		PrevSecretDigest: append([]byte{0, 0}, digestOf("old secret of " + appID)[2:]...),
		PrevSecretUntil:  t0.Add(24 * time.Hour),
		CreatedAt:        t0,
		UpdatedAt:        t0.Add(time.Second),
		Version:          1,
	}
}

// appPrincipal returns an app principal called id, not yet stored.
func appPrincipal(id string) *token.Principal {
	return &token.Principal{Type: token.App, ID: id, Name: "app " + id, Permissions: []string{"keys:read"},
		CreatedAt: t0, UpdatedAt: t0, Version: 1}
}

// createApp stores app id with client c, failing the test on an error.
func createApp(t *testing.T, s OAuthStore, id string, c *oauth.Client) *oauth.Client {
	t.Helper()
	if err := s.CreateClient(bg, appPrincipal(id), c, event("app.create", "app", id)); err != nil {
		t.Fatalf("CreateClient(%s): %v", id, err)
	}
	return c
}

// plainPrincipal stores a principal without a client.
func plainPrincipal(t *testing.T, s OAuthStore, typ token.PrincipalType, id string) {
	t.Helper()
	p := &token.Principal{Type: typ, ID: id, Name: "plain " + id, CreatedAt: t0, UpdatedAt: t0, Version: 1}
	if err := s.CreatePrincipal(bg, p, nil); err != nil {
		t.Fatalf("CreatePrincipal(%s %s): %v", typ, id, err)
	}
}

// getClient returns the client of appID, failing the test if it cannot.
func getClient(t *testing.T, s OAuthStore, appID string) *oauth.Client {
	t.Helper()
	c, err := s.Client(bg, appID)
	if err != nil {
		t.Fatalf("Client(%s): %v", appID, err)
	}
	return c
}

// wantNoClient fails the test unless app appID has no client.
func wantNoClient(t *testing.T, s OAuthStore, appID string) {
	t.Helper()
	_, err := s.Client(bg, appID)
	wantErr(t, "Client("+appID+")", err, token.ErrNotFound)
}

var oauthTests = []oauthTest{
	{"create stores the app principal, its client and the event", func(t *testing.T, s OAuthStore) {
		c := fullClient("app_one")
		ev := event("app.create", "app", "app_one")
		if err := s.CreateClient(bg, appPrincipal("app_one"), c, ev); err != nil {
			t.Fatalf("CreateClient: %v", err)
		}
		p, err := s.Principal(bg, token.App, "app_one")
		if err != nil {
			t.Fatalf("Principal: %v", err)
		}
		want := appPrincipal("app_one")
		if p.Name != want.Name || !slices.Equal(p.Permissions, want.Permissions) || p.Version != 1 || !p.CreatedAt.Equal(t0) {
			t.Fatalf("the app principal is %+v, want %+v", p, want)
		}
		sameClient(t, "Client", getClient(t, s, "app_one"), c)
		wantEvent(t, s, ev)
	}},
	{"create conflicts with an existing app and writes nothing", func(t *testing.T, s OAuthStore) {
		plainPrincipal(t, s, token.App, "app_taken")
		ev := event("app.create", "app", "app_taken")
		err := s.CreateClient(bg, appPrincipal("app_taken"), fullClient("app_taken"), ev)
		wantErr(t, "CreateClient of an existing app", err, token.ErrConflict)
		wantNoClient(t, s, "app_taken")
		wantNoEvent(t, s, ev)
		if p, err := s.Principal(bg, token.App, "app_taken"); err != nil || p.Name != "plain app_taken" {
			t.Fatalf("the existing app became %+v (%v)", p, err)
		}
	}},
	{"create conflicts with an existing client and writes nothing", func(t *testing.T, s OAuthStore) {
		createApp(t, s, "app_twice", fullClient("app_twice"))
		c := fullClient("app_twice")
		c.Settings.GrantTypes = []string{"authorization_code"}
		ev := event("app.create", "app", "app_twice")
		err := s.CreateClient(bg, appPrincipal("app_twice"), c, ev)
		wantErr(t, "CreateClient twice", err, token.ErrConflict)
		wantNoEvent(t, s, ev)
		sameClient(t, "Client", getClient(t, s, "app_twice"), fullClient("app_twice"))
	}},
	{"create refuses a client of another app, or a user, and writes nothing", func(t *testing.T, s OAuthStore) {
		ev := event("app.create", "app", "app_a")
		if err := s.CreateClient(bg, appPrincipal("app_a"), fullClient("app_b"), ev); err == nil {
			t.Fatal("CreateClient with the client of another app succeeded")
		}
		user := appPrincipal("usr_a")
		user.Type = token.User
		if err := s.CreateClient(bg, user, fullClient("usr_a"), ev); err == nil {
			t.Fatal("CreateClient for a user succeeded")
		}
		for _, id := range []string{"app_a", "app_b", "usr_a"} {
			wantNoClient(t, s, id)
			if _, err := s.Principal(bg, token.App, id); !errors.Is(err, token.ErrNotFound) {
				t.Fatalf("Principal(app %s) after a refused create: %v, want not found", id, err)
			}
		}
		if _, err := s.Principal(bg, token.User, "usr_a"); !errors.Is(err, token.ErrNotFound) {
			t.Fatalf("Principal(user usr_a) after a refused create: %v, want not found", err)
		}
		wantNoEvent(t, s, ev)
	}},
	{"create refuses settings whose JWKS is not JSON and writes nothing", func(t *testing.T, s OAuthStore) {
		c := fullClient("app_badjwks")
		c.Settings.JWKS = json.RawMessage(`{"keys": [`)
		ev := event("app.create", "app", "app_badjwks")
		if err := s.CreateClient(bg, appPrincipal("app_badjwks"), c, ev); err == nil {
			t.Fatal("CreateClient with a JWKS that is not JSON succeeded")
		}
		wantNoClient(t, s, "app_badjwks")
		if _, err := s.Principal(bg, token.App, "app_badjwks"); !errors.Is(err, token.ErrNotFound) {
			t.Fatalf("Principal after a refused create: %v, want not found", err)
		}
		wantNoEvent(t, s, ev)
	}},
	{"an app without a client has none to get or delete", func(t *testing.T, s OAuthStore) {
		wantNoClient(t, s, "app_none")
		plainPrincipal(t, s, token.App, "app_plain")
		wantNoClient(t, s, "app_plain")
		ev := event("app.oauth.delete", "app", "app_plain")
		wantErr(t, "DeleteClient", s.DeleteClient(bg, "app_plain", ev), token.ErrNotFound)
		wantNoEvent(t, s, ev)
	}},
	{"update of a missing app or of a user is not found, without calling fn", func(t *testing.T, s OAuthStore) {
		plainPrincipal(t, s, token.User, "usr_x")
		for _, id := range []string{"app_missing", "usr_x"} {
			ev := event("app.update", "app", id)
			_, err := s.UpdateClient(bg, id, func(*oauth.Client) error {
				t.Fatalf("fn called for %s", id)
				return nil
			}, ev)
			wantErr(t, "UpdateClient("+id+")", err, token.ErrNotFound)
			wantNoClient(t, s, id)
			wantNoEvent(t, s, ev)
		}
	}},
	{"update changes the client, increments Version and stores the event", func(t *testing.T, s OAuthStore) {
		createApp(t, s, "app_up", fullClient("app_up"))
		ev := event("app.secret.rotate", "app", "app_up")
		newDigest := digestOf("new secret")
		var seen *oauth.Client
		got, err := s.UpdateClient(bg, "app_up", func(c *oauth.Client) error {
			cp := *c
			seen = &cp
			c.PrevSecretDigest, c.PrevSecretUntil = c.SecretDigest, t0.Add(time.Hour)
			c.SecretDigest = newDigest
			c.Settings.RedirectURIs = append(c.Settings.RedirectURIs, "https://app.example/cb2")
			c.UpdatedAt = t0.Add(time.Minute)
			c.Version = 99 // the store's to set
			return nil
		}, ev)
		if err != nil {
			t.Fatalf("UpdateClient: %v", err)
		}
		sameClient(t, "the client fn was given", seen, fullClient("app_up"))
		want := fullClient("app_up")
		want.PrevSecretDigest, want.PrevSecretUntil = want.SecretDigest, t0.Add(time.Hour)
		want.SecretDigest = newDigest
		want.Settings.RedirectURIs = append(want.Settings.RedirectURIs, "https://app.example/cb2")
		want.UpdatedAt = t0.Add(time.Minute)
		want.Version = 2
		sameClient(t, "UpdateClient", got, want)
		sameClient(t, "Client after UpdateClient", getClient(t, s, "app_up"), want)
		wantEvent(t, s, ev)
	}},
	{"update adds a client to an app without one, starting from a zero client", func(t *testing.T, s OAuthStore) {
		plainPrincipal(t, s, token.App, "app_add")
		ev := event("app.oauth.enable", "app", "app_add")
		got, err := s.UpdateClient(bg, "app_add", func(c *oauth.Client) error {
			if !reflect.DeepEqual(c, &oauth.Client{AppID: "app_add"}) {
				t.Errorf("fn was given %+v, want a zero client of app_add", c)
			}
			c.Settings = fullSettings()
			c.SecretDigest = digestOf("s")
			c.CreatedAt, c.UpdatedAt = t0, t0
			c.AppID = "app_other" // the store keeps the app
			return nil
		}, ev)
		if err != nil {
			t.Fatalf("UpdateClient: %v", err)
		}
		want := &oauth.Client{AppID: "app_add", Settings: fullSettings(), SecretDigest: digestOf("s"), CreatedAt: t0, UpdatedAt: t0, Version: 1}
		sameClient(t, "UpdateClient", got, want)
		sameClient(t, "Client", getClient(t, s, "app_add"), want)
		wantNoClient(t, s, "app_other")
		wantEvent(t, s, ev)
	}},
	{"an error from fn aborts the update and is returned as it is", func(t *testing.T, s OAuthStore) {
		createApp(t, s, "app_abort", fullClient("app_abort"))
		plainPrincipal(t, s, token.App, "app_abort_new")
		boom := errors.New("boom")
		for _, id := range []string{"app_abort", "app_abort_new"} {
			ev := event("app.update", "app", id)
			_, err := s.UpdateClient(bg, id, func(c *oauth.Client) error {
				c.Settings.GrantTypes = []string{"changed"}
				c.SecretDigest = digestOf("changed")
				return boom
			}, ev)
			if err != boom { //nolint:errorlint // returned as it is
				t.Fatalf("UpdateClient(%s) error = %v, want fn's error itself", id, err)
			}
			wantNoEvent(t, s, ev)
		}
		sameClient(t, "Client after an aborted update", getClient(t, s, "app_abort"), fullClient("app_abort"))
		wantNoClient(t, s, "app_abort_new")
	}},
	{"concurrent updates all land, one version each", func(t *testing.T, s OAuthStore) {
		const n = 20
		plainPrincipal(t, s, token.App, "app_race")
		errs := make([]error, n)
		concurrently(n, func(i int) {
			_, errs[i] = s.UpdateClient(bg, "app_race", func(c *oauth.Client) error {
				c.Settings.Audiences = append(c.Settings.Audiences, fmt.Sprintf("aud-%02d", i))
				return nil
			}, event("app.update", "app", "app_race"))
		})
		for i, err := range errs {
			if err != nil {
				t.Fatalf("UpdateClient %d: %v", i, err)
			}
		}
		c := getClient(t, s, "app_race")
		if c.Version != n {
			t.Errorf("Version after %d concurrent updates = %d, want %d", n, c.Version, n)
		}
		got := slices.Sorted(slices.Values(c.Settings.Audiences))
		var want []string
		for i := range n {
			want = append(want, fmt.Sprintf("aud-%02d", i))
		}
		if !slices.Equal(got, want) {
			t.Errorf("audiences after %d concurrent updates = %v, want %v (an update was lost)", n, got, want)
		}
		if got := countEvents(t, s, "app.update", "app_race"); got != n {
			t.Errorf("%d events stored, want %d", got, n)
		}
	}},
	{"delete removes the client and keeps the app", func(t *testing.T, s OAuthStore) {
		createApp(t, s, "app_del", fullClient("app_del"))
		ev := event("app.oauth.delete", "app", "app_del")
		if err := s.DeleteClient(bg, "app_del", ev); err != nil {
			t.Fatalf("DeleteClient: %v", err)
		}
		wantEvent(t, s, ev)
		wantNoClient(t, s, "app_del")
		if _, err := s.Principal(bg, token.App, "app_del"); err != nil {
			t.Fatalf("the app went with its client: %v", err)
		}
		again := event("app.oauth.delete", "app", "app_del")
		wantErr(t, "DeleteClient again", s.DeleteClient(bg, "app_del", again), token.ErrNotFound)
		wantNoEvent(t, s, again)
		got, err := s.UpdateClient(bg, "app_del", func(c *oauth.Client) error {
			if c.Version != 0 || c.SecretDigest != nil || len(c.Settings.GrantTypes) != 0 {
				t.Errorf("after delete, fn was given %+v, want a zero client", c)
			}
			return nil
		}, nil)
		if err != nil || got.Version != 1 {
			t.Fatalf("UpdateClient after delete = %+v, %v; want version 1", got, err)
		}
	}},
	{"every settings field round-trips, empty lists as their JSON does", func(t *testing.T, s OAuthStore) {
		createApp(t, s, "app_full", fullClient("app_full"))
		got := getClient(t, s, "app_full")
		sameClient(t, "Client", got, fullClient("app_full"))
		if !json.Valid(got.Settings.JWKS) {
			t.Errorf("JWKS read back as %q", got.Settings.JWKS)
		}
		// Zero and empty values: the omitempty lists and the JWKS read back
		// nil, the grant types (always written) keep empty apart from nil,
		// and empty digests are none.
		bare := &oauth.Client{
			AppID: "app_bare",
			Settings: oauth.Settings{RedirectURIs: []string{}, PostLogoutRedirectURIs: []string{}, GrantTypes: []string{},
				Audiences: []string{}, JWKS: json.RawMessage{}},
			SecretDigest: []byte{}, PrevSecretDigest: []byte{},
		}
		createApp(t, s, "app_bare", bare)
		want := &oauth.Client{AppID: "app_bare", Settings: oauth.Settings{GrantTypes: []string{}}}
		gotBare := getClient(t, s, "app_bare")
		sameClient(t, "Client of empty values", gotBare, want)
		if gotBare.Settings.GrantTypes == nil {
			t.Error("empty grant types read back nil")
		}
		createApp(t, s, "app_nil", &oauth.Client{AppID: "app_nil"})
		gotNil := getClient(t, s, "app_nil")
		sameClient(t, "Client of nil values", gotNil, &oauth.Client{AppID: "app_nil"})
		if gotNil.Settings.GrantTypes != nil {
			t.Error("nil grant types read back empty")
		}
	}},
}
