package oauth_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/latchkey/latchkey/apitoken"
	"github.com/latchkey/latchkey/oauth"
)

// TestKEY10_SingleUseStoresAreNamespaced: a value recorded as a
// client-assertion jti or a DPoP proof jti (the nonce table, under
// "client_assertion:<client>" and "dpop:<jkt>") is no authorization code
// and no refresh token, and recording a real refresh token there does not
// spend it (Keycloak CVE-2026-4282).
func TestKEY10_SingleUseStoresAreNamespaced(t *testing.T) {
	f := newCodeFixture(t, oauth.Config{})
	ctx := context.Background()
	exp := f.clock.Now().Add(time.Hour)
	record := func(v string) {
		t.Helper()
		for _, ns := range []string{"client_assertion:web", "dpop:NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"} {
			if fresh, err := f.ts.UseNonce(ctx, ns, v, exp); err != nil || !fresh {
				t.Fatalf("record %s: %v %v", ns, fresh, err)
			}
		}
	}
	const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	redeem := func(code string) answer {
		return f.post("/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier},
			"client_id": {"web"}, "client_secret": {f.secret}}, f.svc.HandleToken)
	}
	t.Run("KEY10_RecordedJTIIsNoCode", func(t *testing.T) {
		for _, prefix := range []string{oauth.CodePrefix, oauth.RefreshPrefix} {
			tok, err := apitoken.New(prefix)
			if err != nil {
				t.Fatal(err)
			}
			v := tok.Reveal()
			record(v)
			if a := redeem(v); a.status != http.StatusBadRequest || a.body["error"] != "invalid_grant" {
				t.Errorf("%s-shaped jti as a code: %v", prefix, a)
			}
			if a := f.refresh(v); a.status != http.StatusBadRequest || a.body["error"] != "invalid_grant" {
				t.Errorf("%s-shaped jti as a refresh token: %v", prefix, a)
			}
		}
	})
	t.Run("KEY10_RecordedRefreshTokenStillWorks", func(t *testing.T) {
		a := f.tokens(t)
		rt := a.body["refresh_token"].(string)
		record(rt)
		if r := f.refresh(rt); !r.ok() {
			t.Errorf("a refresh token recorded as a jti stopped working: %v", r)
		}
	})
}
