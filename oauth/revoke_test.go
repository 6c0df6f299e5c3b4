package oauth_test

import (
	"context"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/latchkey/latchkey/apitoken"
	"github.com/latchkey/latchkey/oauth"
	"github.com/latchkey/latchkey/token"
)

func (s *keyFaultStore) KeyByDigest(ctx context.Context, d apitoken.Digest) (*token.Key, error) {
	if s.failRead.Load() {
		return nil, errInjected
	}
	return s.Store.KeyByDigest(ctx, d)
}

// revoke posts an RFC 7009 revocation of tok by client id.
func (f *codeFixture) revoke(id, secret, tok string) answer {
	return f.post("/oauth2/revoke", url.Values{"token": {tok}, "client_id": {id}, "client_secret": {secret}}, f.svc.HandleRevoke)
}

// TestIR08_StorageErrorDuringRevocation: a storage fault while the token
// is looked up or while it is revoked answers 503, never a 200 that
// revoked nothing; after recovery a retry revokes.
func TestIR08_StorageErrorDuringRevocation(t *testing.T) {
	f := newCodeFixture(t, oauth.Config{RefreshGrace: -1})
	_, _, jobSecret, err := f.svc.CreateApp(context.Background(), token.SystemActor,
		token.CreatePrincipalParams{ID: "job", Name: "Job", Permissions: []string{"orders:read"}},
		oauth.Settings{GrantTypes: []string{oauth.GrantClientCredentials}, TokenEndpointAuthMethod: oauth.AuthSecretPost, AccessTokenFormat: "opaque"})
	if err != nil {
		t.Fatal(err)
	}
	faults := map[string]*atomic.Bool{"get": &f.grants.failGet, "read key": &f.keys.failRead, "revoke": &f.keys.failUpdate}

	t.Run("IR08_RefreshToken", func(t *testing.T) {
		for name, fault := range faults {
			rt := f.tokens(t).body["refresh_token"].(string)
			fault.Store(true)
			a := f.revoke("web", f.secret, rt)
			fault.Store(false)
			if name != "read key" && a.status != http.StatusServiceUnavailable {
				t.Errorf("%s fault: %v, want 503", name, a)
			}
			if a.status == http.StatusOK {
				if r := f.refresh(rt); r.ok() {
					t.Fatalf("%s fault: 200 to the revocation, yet the refresh token works", name)
				}
				continue
			}
			if a := f.revoke("web", f.secret, rt); a.status != http.StatusOK {
				t.Fatalf("%s fault: retry after recovery: %v", name, a)
			}
			if r := f.refresh(rt); r.status != http.StatusBadRequest || r.body["error"] != "invalid_grant" {
				t.Errorf("%s fault: refresh after the retried revocation: %v", name, r)
			}
		}
	})
	t.Run("IR08_OpaqueAccessToken", func(t *testing.T) {
		for name, fault := range faults {
			a := f.post("/oauth2/token", url.Values{"grant_type": {oauth.GrantClientCredentials}, "client_id": {"job"},
				"client_secret": {jobSecret}}, f.svc.HandleToken)
			if !a.ok() {
				t.Fatalf("token: %v", a)
			}
			at := a.body["access_token"].(string)
			fault.Store(true)
			r := f.revoke("job", jobSecret, at)
			fault.Store(false)
			if name != "get" && r.status != http.StatusServiceUnavailable {
				t.Errorf("%s fault: %v, want 503", name, r)
			}
			if r.status == http.StatusOK && live(t, f, at) {
				t.Fatalf("%s fault: 200 to the revocation, yet the token is live", name)
			}
			if r := f.revoke("job", jobSecret, at); r.status != http.StatusOK {
				t.Fatalf("%s fault: retry after recovery: %v", name, r)
			}
			if live(t, f, at) {
				t.Errorf("%s fault: the token outlived the retried revocation", name)
			}
		}
	})
}

// live reports whether the opaque access token tok still verifies.
func live(t *testing.T, f *codeFixture, tok string) bool {
	t.Helper()
	res, err := f.ts.Verify(context.Background(), token.VerifyRequest{Key: tok, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	return res.Valid
}
