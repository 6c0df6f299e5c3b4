package interop_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/server"
)

// codeURL is openid-code.mjs's STEP=url result.
type codeURL struct {
	URL      string `json:"url"`
	Verifier string `json:"verifier"`
	State    string `json:"state"`
}

// codeRedeemed is openid-code.mjs's STEP=redeem (and refresh) result.
type codeRedeemed struct {
	Token     tokenOut `json:"token"`
	Refreshed tokenOut `json:"refreshed"`
}

// openidCode runs openid-code.mjs for app (public when secret is "").
func openidCode(t *testing.T, c *codeSetup, env map[string]string) nodeResult {
	t.Helper()
	e := map[string]string{"LATCHKEY_URL": c.l.URL, "CLIENT_ID": c.app.ClientID}
	if c.app.ClientSecret != "" {
		e["CLIENT_SECRET"] = c.app.ClientSecret
	}
	for k, v := range env {
		e[k] = v
	}
	return runNode(t, "openid-code.mjs", e)
}

// openidAuthorize has openid-client build the authorization URL (pushed
// first with par), alice answer it, and returns the callback URL and
// what the script needs to redeem it.
func openidAuthorize(t *testing.T, c *codeSetup, b *formBrowser, par bool) (callback *url.URL, u codeURL) {
	t.Helper()
	env := map[string]string{"STEP": "url", "REDIRECT_URI": c.redirect, "SCOPE": "orders:read"}
	if par {
		env["PAR"] = "1"
	}
	r := openidCode(t, c, env)
	if !r.OK {
		t.Fatalf("openid-client authorization URL (PAR %v): %s; stderr %s", par, r.Out, r.Stderr)
	}
	u = decode[codeURL](t, r, "openid-code.mjs")
	au, err := url.Parse(u.URL)
	if err != nil {
		t.Fatal(err)
	}
	q := au.Query()
	if au.Path != "/oauth2/authorize" || q.Get("client_id") != c.app.ClientID {
		t.Fatalf("authorization URL %s", u.URL)
	}
	if par {
		if q.Get("request_uri") == "" || q.Has("code_challenge") || q.Has("redirect_uri") {
			t.Fatalf("PAR authorization URL carries %v, want client_id and request_uri only", q)
		}
	} else if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("state") != u.State {
		t.Fatalf("authorization URL %s lacks PKCE S256 or state", u.URL)
	}
	callback = b.authorize(u.URL)
	cq := callback.Query()
	if callback.Scheme+"://"+callback.Host+callback.Path != c.redirect || cq.Get("code") == "" || cq.Get("state") != u.State {
		t.Fatalf("authorization response %s (redirect URI %s)", callback.Redacted(), c.redirect)
	}
	return callback, u
}

// openidRedeem has openid-client redeem the callback and refresh once.
func openidRedeem(t *testing.T, c *codeSetup, callback *url.URL, u codeURL) codeRedeemed {
	t.Helper()
	r := openidCode(t, c, map[string]string{"STEP": "redeem", "CALLBACK_URL": callback.String(), "VERIFIER": u.Verifier,
		"STATE": u.State, "REFRESH": "1"})
	if !r.OK {
		t.Fatalf("openid-client authorizationCodeGrant/refreshTokenGrant: %s; stderr %s", r.Out, r.Stderr)
	}
	return decode[codeRedeemed](t, r, "openid-code.mjs")
}

// TestInteropOpenIDClientCodeFlow: openid-client discovers latchkey,
// builds the authorization URL with its own PKCE verifier and state,
// alice signs in and consents, and authorizationCodeGrant checks state
// and iss (RFC 9207) and redeems with the verifier; refreshTokenGrant
// rotates the refresh token; jose verifies both access tokens; a callback
// with another state or another iss is the library's error. With no
// refresh grace, the first refresh token presented again is invalid_grant
// and has revoked the grant: the second one is dead too.
func TestInteropOpenIDClientCodeFlow(t *testing.T) {
	t.Parallel()
	needNode(t)
	c := newCodeSetup(t, startLatchkeyWith(t, server.OAuthConfig{RefreshGrace: -1}), "shop", "")
	b := newFormBrowser(t, c.l.URL)
	callback, u := openidAuthorize(t, c, b, false)
	if callback.Query().Get("iss") != c.l.metadata(t).Issuer {
		t.Errorf("authorization response iss %q, want the issuer (RFC 9207)", callback.Query().Get("iss"))
	}
	out := openidRedeem(t, c, callback, u)
	checkUserToken(t, c.l, "code", out.Token, "shop", "orders:read")
	checkUserToken(t, c.l, "refreshed", out.Refreshed, "shop", "orders:read")
	if out.Refreshed.RefreshToken == out.Token.RefreshToken || out.Refreshed.AccessToken == out.Token.AccessToken {
		t.Fatal("refreshTokenGrant did not rotate the tokens")
	}

	// The state is checked: another expected state is the library's error.
	r := openidCode(t, c, map[string]string{"STEP": "redeem", "CALLBACK_URL": callback.String(), "VERIFIER": u.Verifier, "STATE": "other"})
	if f := mustFail(t, r, "a callback with another state"); f.Failed.Code != "OAUTH_INVALID_RESPONSE" || !strings.Contains(f.Failed.Cause, `"state"`) {
		t.Errorf("state mismatch: %+v", *f.Failed)
	}
	// So is iss (RFC 9207): a response naming another issuer (a mix-up) is refused.
	mixed := *callback
	q := mixed.Query()
	q.Set("iss", "https://other-as.example")
	mixed.RawQuery = q.Encode()
	r = openidCode(t, c, map[string]string{"STEP": "redeem", "CALLBACK_URL": mixed.String(), "VERIFIER": u.Verifier, "STATE": u.State})
	if f := mustFail(t, r, "a callback with another iss"); f.Failed.Code != "OAUTH_INVALID_RESPONSE" || !strings.Contains(f.Failed.Cause, `"iss"`) {
		t.Errorf("iss mismatch: %+v", *f.Failed)
	}

	reuse := mustFail(t, openidCode(t, c, map[string]string{"STEP": "refresh", "REFRESH_TOKEN": out.Token.RefreshToken}),
		"the rotated-out refresh token")
	if reuse.Failed.Error != "invalid_grant" || reuse.Failed.Status != http.StatusBadRequest {
		t.Errorf("reuse of the first refresh token: %+v, want invalid_grant (400)", *reuse.Failed)
	}
	after := mustFail(t, openidCode(t, c, map[string]string{"STEP": "refresh", "REFRESH_TOKEN": out.Refreshed.RefreshToken}),
		"the second refresh token after the reuse")
	if after.Failed.Error != "invalid_grant" {
		t.Errorf("second refresh token after the reuse: %+v, want invalid_grant (the grant is revoked)", *after.Failed)
	}
}

// TestInteropOpenIDClientPAR: the same flow with the request pushed first
// (buildAuthorizationUrlWithPAR, RFC 9126): the authorization URL carries
// only client_id and request_uri.
func TestInteropOpenIDClientPAR(t *testing.T) {
	t.Parallel()
	needNode(t)
	c := newCodeSetup(t, startLatchkey(t), "shop", "")
	if m := c.l.metadata(t); m.PushedAuthorizationRequestEndpoint != c.l.URL+"/oauth2/par" {
		t.Fatalf("pushed_authorization_request_endpoint %q", m.PushedAuthorizationRequestEndpoint)
	}
	callback, u := openidAuthorize(t, c, newFormBrowser(t, c.l.URL), true)
	out := openidRedeem(t, c, callback, u)
	checkUserToken(t, c.l, "code (PAR)", out.Token, "shop", "orders:read")
	checkUserToken(t, c.l, "refreshed (PAR)", out.Refreshed, "shop", "orders:read")
}

// TestInteropOpenIDClientPublicClient: a public client
// (token_endpoint_auth_method none) through openid-client's None(): PKCE
// alone binds the code; refresh works too.
func TestInteropOpenIDClientPublicClient(t *testing.T) {
	t.Parallel()
	needNode(t)
	c := newCodeSetup(t, startLatchkey(t), "spa", `"token_endpoint_auth_method":"none"`)
	if c.app.ClientSecret != "" {
		t.Fatal("a public client was given a secret")
	}
	callback, u := openidAuthorize(t, c, newFormBrowser(t, c.l.URL), false)
	out := openidRedeem(t, c, callback, u)
	checkUserToken(t, c.l, "code (public)", out.Token, "spa", "orders:read")
	checkUserToken(t, c.l, "refreshed (public)", out.Refreshed, "spa", "orders:read")
}
