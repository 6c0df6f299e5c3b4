package interop_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// pkcePair returns a fresh PKCE verifier and its S256 challenge.
func pkcePair() (verifier, challenge string) {
	verifier = rand.Text() + rand.Text() // 52 characters of base32
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// authURL is an authorization request of c's app with more parameters
// (an empty value removes a default).
func (c *codeSetup) authURL(state string, more url.Values) string {
	q := url.Values{"response_type": {"code"}, "client_id": {c.app.ClientID}, "redirect_uri": {c.redirect},
		"state": {state}, "scope": {"orders:read"}}
	for k, v := range more {
		if len(v) == 1 && v[0] == "" {
			q.Del(k)
		} else {
			q[k] = v
		}
	}
	return c.l.URL + "/oauth2/authorize?" + q.Encode()
}

// redeemWithOAuth4WebAPI runs code.mjs: validateAuthResponse on callback,
// then the redemption with verifier (and redirect, if not "").
func redeemWithOAuth4WebAPI(t *testing.T, c *codeSetup, callback *url.URL, state, verifier, redirect string) nodeResult {
	t.Helper()
	env := map[string]string{"LATCHKEY_URL": c.l.URL, "CLIENT_ID": c.app.ClientID, "CLIENT_SECRET": c.app.ClientSecret,
		"CALLBACK_URL": callback.String(), "STATE": state, "VERIFIER": verifier}
	if redirect != "" {
		env["REDIRECT_URI"] = redirect
	}
	return runNode(t, "code.mjs", env)
}

// TestInteropOAuth4WebAPICodeRefusals: each way of getting the code flow
// wrong reaches oauth4webapi as the specific error. An authorization
// request without PKCE, or with code_challenge_method=plain, comes back to
// the redirect URI with error=invalid_request, which validateAuthResponse
// raises as AuthorizationResponseError; at the token endpoint, another
// redirect_uri than the request's, a wrong code_verifier and a code
// redeemed a second time are ResponseBodyError invalid_grant (400).
func TestInteropOAuth4WebAPICodeRefusals(t *testing.T) {
	t.Parallel()
	needNode(t)
	c := newCodeSetup(t, startLatchkey(t), "shop", "")
	b := newFormBrowser(t, c.l.URL)
	other := strings.TrimSuffix(c.redirect, "/cb") + "/other"

	verifier, _ := pkcePair()
	for name, more := range map[string]url.Values{
		"no PKCE":                     {},
		"code_challenge_method plain": {"code_challenge": {verifier}, "code_challenge_method": {"plain"}},
	} {
		back := b.authorize(c.authURL("st-"+name, more))
		q := back.Query()
		if back.Scheme+"://"+back.Host+back.Path != c.redirect || q.Get("error") != "invalid_request" || q.Has("code") ||
			q.Get("state") != "st-"+name || q.Get("iss") != c.l.URL {
			t.Errorf("%s: authorization response %s, want error=invalid_request with state and iss", name, back)
			continue
		}
		f := mustFail(t, redeemWithOAuth4WebAPI(t, c, back, "st-"+name, verifier, ""), name)
		if f.Failed.Name != "AuthorizationResponseError" || f.Failed.Error != "invalid_request" {
			t.Errorf("%s: oauth4webapi raised %+v, want AuthorizationResponseError invalid_request", name, *f.Failed)
		}
	}

	code := func(state string) (*url.URL, string) {
		t.Helper()
		v, ch := pkcePair()
		back := b.authorize(c.authURL(state, url.Values{"code_challenge": {ch}, "code_challenge_method": {"S256"}}))
		if back.Query().Get("code") == "" {
			t.Fatalf("authorization response %s", back.Redacted())
		}
		return back, v
	}
	invalidGrant := func(what string, r nodeResult) {
		t.Helper()
		f := mustFail(t, r, what)
		if f.Failed.Name != "ResponseBodyError" || f.Failed.Error != "invalid_grant" || f.Failed.Status != http.StatusBadRequest {
			t.Errorf("%s: oauth4webapi raised %+v, want ResponseBodyError invalid_grant (400)", what, *f.Failed)
		}
	}

	back, v := code("st-redirect")
	invalidGrant("another registered redirect_uri at the token endpoint", redeemWithOAuth4WebAPI(t, c, back, "st-redirect", v, other))

	back, _ = code("st-verifier")
	wrong, _ := pkcePair()
	invalidGrant("a wrong code_verifier", redeemWithOAuth4WebAPI(t, c, back, "st-verifier", wrong, ""))

	back, v = code("st-reuse")
	if r := redeemWithOAuth4WebAPI(t, c, back, "st-reuse", v, ""); !r.OK {
		t.Fatalf("oauth4webapi redemption: %s; stderr %s", r.Out, r.Stderr)
	} else {
		checkUserToken(t, c.l, "oauth4webapi code", decode[struct {
			Token tokenOut `json:"token"`
		}](t, r, "code.mjs").Token, "shop", "orders:read")
	}
	invalidGrant("the code redeemed again", redeemWithOAuth4WebAPI(t, c, back, "st-reuse", v, ""))
}
