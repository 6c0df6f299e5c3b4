package interop_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/api"
)

// oidcURL is oidc-code.mjs's STEP=url result.
type oidcURL struct {
	URL      string         `json:"url"`
	Verifier string         `json:"verifier"`
	State    string         `json:"state"`
	Nonce    string         `json:"nonce"`
	Metadata map[string]any `json:"metadata"`
}

// oidcRedeemed is oidc-code.mjs's STEP=redeem result.
type oidcRedeemed struct {
	Token struct {
		tokenOut
		IDToken string `json:"id_token"`
	} `json:"token"`
	Header    map[string]any `json:"header"`
	Claims    map[string]any `json:"claims"`
	Userinfo  map[string]any `json:"userinfo"`
	Refreshed *struct {
		tokenOut
		IDToken string `json:"id_token"`
	} `json:"refreshed"`
	RefreshedClaims map[string]any `json:"refreshed_claims"`
}

// oidcCode runs oidc-code.mjs for the confidential app.
func oidcCode(t *testing.T, l *latchkey, app api.Principal, env map[string]string) nodeResult {
	t.Helper()
	e := map[string]string{"LATCHKEY_URL": l.URL, "CLIENT_ID": app.ClientID, "CLIENT_SECRET": app.ClientSecret}
	for k, v := range env {
		e[k] = v
	}
	return runNode(t, "oidc-code.mjs", e)
}

// oidcAuthorizeURL has openid-client (discovered through
// openid-configuration) build an OpenID Connect authorization URL for app
// at redirect, with prompt if not "", and checks its parameters.
func oidcAuthorizeURL(t *testing.T, l *latchkey, app api.Principal, redirect, prompt string) oidcURL {
	t.Helper()
	env := map[string]string{"STEP": "url", "REDIRECT_URI": redirect}
	if prompt != "" {
		env["PROMPT"] = prompt
	}
	r := oidcCode(t, l, app, env)
	if !r.OK {
		t.Fatalf("openid-client discovery/authorization URL: %s; stderr %s", r.Out, r.Stderr)
	}
	u := decode[oidcURL](t, r, "oidc-code.mjs")
	au, err := url.Parse(u.URL)
	if err != nil {
		t.Fatal(err)
	}
	q := au.Query()
	if au.Path != "/oauth2/authorize" || q.Get("client_id") != app.ClientID || q.Get("scope") != "openid profile email" ||
		q.Get("nonce") != u.Nonce || u.Nonce == "" || q.Get("state") != u.State || q.Get("code_challenge_method") != "S256" ||
		q.Get("prompt") != prompt {
		t.Fatalf("authorization URL %s", u.URL)
	}
	return u
}

// oidcRedeem has openid-client redeem callback (and refresh once with
// refresh) and fails the test if the library refused anything.
func oidcRedeem(t *testing.T, l *latchkey, app api.Principal, callback *url.URL, u oidcURL, refresh bool) oidcRedeemed {
	t.Helper()
	env := map[string]string{"STEP": "redeem", "CALLBACK_URL": callback.String(), "VERIFIER": u.Verifier,
		"STATE": u.State, "NONCE": u.Nonce}
	if refresh {
		env["REFRESH"] = "1"
	}
	r := oidcCode(t, l, app, env)
	if !r.OK {
		t.Fatalf("openid-client authorizationCodeGrant (idTokenExpected, expectedNonce)/fetchUserInfo/refreshTokenGrant refused: %s; stderr %s",
			r.Out, r.Stderr)
	}
	return decode[oidcRedeemed](t, r, "oidc-code.mjs")
}

// checkIDClaims checks the claims of an ID token of alice for clientID
// (validated by the library already) against what latchkey promises:
// sub alice (the user ID), aud and azp the client, the nonce, auth_time
// not in the future, sid, amr ["pwd"], acr, and the profile and email
// claims; at_hash is the left half of the alg's hash of accessToken.
func checkIDClaims(t *testing.T, what string, l *latchkey, header, c map[string]any, clientID, nonce, accessToken string) {
	t.Helper()
	alg := claimString(header, "alg")
	if header["typ"] != "JWT" || claimString(header, "kid") == "" {
		t.Errorf("%s: ID token header %v, want typ JWT and a kid", what, header)
	}
	aud := c["aud"]
	if s, ok := aud.([]any); ok && len(s) == 1 {
		aud = s[0]
	}
	authTime, _ := c["auth_time"].(float64)
	if c["iss"] != l.metadata(t).Issuer || c["sub"] != alice || aud != clientID || c["azp"] != clientID ||
		c["nonce"] != nonce || authTime <= 0 || authTime > float64(time.Now().Unix()+1) || claimString(c, "sid") == "" ||
		claimString(c, "acr") == "" {
		t.Errorf("%s: ID token claims %v", what, c)
	}
	if amr, _ := c["amr"].([]any); len(amr) != 1 || amr[0] != "pwd" {
		t.Errorf("%s: amr %v, want [pwd]", what, c["amr"])
	}
	if c["name"] != aliceName || c["email"] != aliceEmail || c["email_verified"] != true || c["preferred_username"] != alice {
		t.Errorf("%s: profile/email claims %v", what, c)
	}
	if got, want := claimString(c, "at_hash"), atHash(t, alg, accessToken); got != want {
		t.Errorf("%s: at_hash %q, want %q (left half of the %s hash of the access token)", what, got, want, alg)
	}
}

// TestInteropOpenIDClientOIDC: openid-client in its default OIDC mode
// discovers latchkey through /.well-known/openid-configuration (the
// issuer matches, userinfo_endpoint, the signing algs, subject types,
// scopes and claims are there), builds a code + PKCE request for "openid
// profile email" with its own state and nonce; alice signs in and
// consents; authorizationCodeGrant with idTokenExpected and expectedNonce
// validates the ID token (claims, and its signature against the JWKS with
// enableNonRepudiationChecks), fetchUserInfo checks the subject; the
// refresh gives a new ID token for the same user, client and sign-in. The
// test checks the claims latchkey promises and at_hash by hand
// (openid-client checks at_hash only in hybrid responses).
func TestInteropOpenIDClientOIDC(t *testing.T) {
	t.Parallel()
	needNode(t)
	c := newCodeSetup(t, startLatchkey(t), "shop", "")
	c.l.setAliceProfile(t)
	u := oidcAuthorizeURL(t, c.l, c.app, c.redirect, "")
	m := u.Metadata
	strs := func(k string) []string {
		var out []string
		v, _ := m[k].([]any)
		for _, s := range v {
			if s, ok := s.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	if m["issuer"] != c.l.metadata(t).Issuer || m["userinfo_endpoint"] != c.l.URL+"/oauth2/userinfo" ||
		m["jwks_uri"] == nil || len(strs("id_token_signing_alg_values_supported")) == 0 ||
		!slices.Contains(strs("subject_types_supported"), "public") || !slices.Contains(strs("response_types_supported"), "code") {
		t.Errorf("openid-configuration as openid-client read it: %v", m)
	}
	for _, s := range []string{"openid", "profile", "email"} {
		if !slices.Contains(strs("scopes_supported"), s) {
			t.Errorf("scopes_supported %v lacks %s", strs("scopes_supported"), s)
		}
	}
	for _, cl := range []string{"sub", "iss", "aud", "name", "email", "email_verified", "preferred_username"} {
		if !slices.Contains(strs("claims_supported"), cl) {
			t.Errorf("claims_supported %v lacks %s", strs("claims_supported"), cl)
		}
	}

	b := newFormBrowser(t, c.l.URL)
	callback := b.authorize(u.URL)
	out := oidcRedeem(t, c.l, c.app, callback, u, true)
	if !slices.Contains(strs("id_token_signing_alg_values_supported"), claimString(out.Header, "alg")) {
		t.Errorf("ID token alg %v not in id_token_signing_alg_values_supported %v", out.Header["alg"], m["id_token_signing_alg_values_supported"])
	}
	checkIDClaims(t, "code", c.l, out.Header, out.Claims, "shop", u.Nonce, out.Token.AccessToken)
	if !strings.Contains(" "+out.Token.Scope+" ", " openid ") || out.Token.RefreshToken == "" {
		t.Errorf("token answer scope %q, refresh token given %v", out.Token.Scope, out.Token.RefreshToken != "")
	}
	ui := out.Userinfo
	if ui["sub"] != alice || ui["name"] != aliceName || ui["email"] != aliceEmail || ui["email_verified"] != true ||
		ui["preferred_username"] != alice {
		t.Errorf("fetchUserInfo: %v", ui)
	}

	// OIDC Core §12.2: the refreshed ID token is for the same issuer,
	// user, client and sign-in; a nonce, if any, is the original one.
	if out.Refreshed == nil || out.Refreshed.IDToken == "" || out.RefreshedClaims == nil {
		t.Fatal("refreshTokenGrant gave no ID token")
	}
	rc := out.RefreshedClaims
	if rc["iss"] != out.Claims["iss"] || rc["sub"] != alice || rc["azp"] != "shop" || rc["auth_time"] != out.Claims["auth_time"] ||
		(rc["nonce"] != nil && rc["nonce"] != u.Nonce) {
		t.Errorf("refreshed ID token claims %v (first %v)", rc, out.Claims)
	}
	if got, want := claimString(rc, "at_hash"), atHash(t, claimString(out.Header, "alg"), out.Refreshed.AccessToken); got != want {
		t.Errorf("refreshed ID token at_hash %q, want %q (of the new access token)", got, want)
	}
	if out.Refreshed.IDToken == out.Token.IDToken || out.Refreshed.AccessToken == out.Token.AccessToken {
		t.Error("the refresh returned the same tokens")
	}
}

// TestInteropOpenIDClientPromptNone: single sign-on across two apps
// sharing one browser session. alice signs in once for app A (shop) in
// the form browser; app B (a skip_consent app) asks with prompt=none and
// gets a code without any page (no /login, no consent) whose ID token
// names the same sign-in (sid, auth_time) for B. openid-client's
// expectedNonce is enforced: the same answer with another expected nonce
// is the library's error. An app without skip_consent gets
// consent_required until alice has consented once, then codes silently
// too. Without a session (a fresh browser), B's prompt=none request comes
// back with error login_required, which authorizationCodeGrant raises.
func TestInteropOpenIDClientPromptNone(t *testing.T) {
	t.Parallel()
	needNode(t)
	c := newCodeSetup(t, startLatchkey(t), "shop", "")
	c.l.setAliceProfile(t)
	redirectB := loopbackRedirect(t, "/cb")
	appB := c.l.createApp(t, `{"id":"blog","name":"Blog","oauth":{"redirect_uris":["`+redirectB+`"],
		"grant_types":["authorization_code","refresh_token"],"audiences":["`+ordersAPI+`"],"skip_consent":true}}`)

	b := newFormBrowser(t, c.l.URL)
	uA := oidcAuthorizeURL(t, c.l, c.app, c.redirect, "")
	outA := oidcRedeem(t, c.l, c.app, b.authorize(uA.URL), uA, false)

	uB := oidcAuthorizeURL(t, c.l, appB, redirectB, "none")
	cb := b.silentAuthorize(uB.URL)
	if cb.Scheme+"://"+cb.Host+cb.Path != redirectB || cb.Query().Get("code") == "" {
		t.Fatalf("prompt=none with a session: %s, want a code at B's redirect URI", cb.Redacted())
	}
	outB := oidcRedeem(t, c.l, appB, cb, uB, false)
	checkIDClaims(t, "prompt=none", c.l, outB.Header, outB.Claims, "blog", uB.Nonce, outB.Token.AccessToken)
	if outB.Claims["sid"] != outA.Claims["sid"] || outB.Claims["auth_time"] != outA.Claims["auth_time"] {
		t.Errorf("B's ID token sid %v auth_time %v, want A's sign-in: sid %v auth_time %v", outB.Claims["sid"],
			outB.Claims["auth_time"], outA.Claims["sid"], outA.Claims["auth_time"])
	}

	// The nonce is the library's check: the same kind of answer, redeemed
	// expecting another nonce, is refused.
	uB2 := oidcAuthorizeURL(t, c.l, appB, redirectB, "none")
	cb2 := b.silentAuthorize(uB2.URL)
	wrong := uB2
	wrong.Nonce = "another-nonce-than-the-request-had"
	r := oidcCode(t, c.l, appB, map[string]string{"STEP": "redeem", "CALLBACK_URL": cb2.String(), "VERIFIER": wrong.Verifier,
		"STATE": wrong.State, "NONCE": wrong.Nonce})
	if f := mustFail(t, r, "an ID token with another nonce"); f.Failed.Code != "OAUTH_JWT_CLAIM_COMPARISON_FAILED" ||
		!strings.Contains(f.Failed.Message+f.Failed.Cause, "nonce") {
		t.Errorf("nonce mismatch: %+v", *f.Failed)
	}

	// An app alice has not allowed yet (no skip_consent): prompt=none is
	// consent_required; once she has consented (one interactive round),
	// prompt=none gives it a code too.
	redirectC := loopbackRedirect(t, "/cb")
	appC := c.l.createApp(t, `{"id":"wiki","name":"Wiki","oauth":{"redirect_uris":["`+redirectC+`"],
		"grant_types":["authorization_code","refresh_token"],"audiences":["`+ordersAPI+`"]}}`)
	uC := oidcAuthorizeURL(t, c.l, appC, redirectC, "none")
	if cbC := b.silentAuthorize(uC.URL); cbC.Query().Get("error") != "consent_required" || cbC.Query().Has("code") ||
		cbC.Query().Get("state") != uC.State {
		t.Errorf("prompt=none before consent: %s, want consent_required", cbC.Redacted())
	}
	b.authorize(oidcAuthorizeURL(t, c.l, appC, redirectC, "").URL)
	uC = oidcAuthorizeURL(t, c.l, appC, redirectC, "none")
	outC := oidcRedeem(t, c.l, appC, b.silentAuthorize(uC.URL), uC, false)
	checkIDClaims(t, "prompt=none after consent", c.l, outC.Header, outC.Claims, "wiki", uC.Nonce, outC.Token.AccessToken)

	// No session: login_required at B's redirect URI, with state and iss.
	uB3 := oidcAuthorizeURL(t, c.l, appB, redirectB, "none")
	cb3 := newFormBrowser(t, c.l.URL).silentAuthorize(uB3.URL)
	q := cb3.Query()
	if cb3.Scheme+"://"+cb3.Host+cb3.Path != redirectB || q.Get("error") != "login_required" || q.Has("code") ||
		q.Get("state") != uB3.State || q.Get("iss") != c.l.metadata(t).Issuer {
		t.Fatalf("prompt=none without a session: %s, want login_required with state and iss", cb3.Redacted())
	}
	r = oidcCode(t, c.l, appB, map[string]string{"STEP": "redeem", "CALLBACK_URL": cb3.String(), "VERIFIER": uB3.Verifier,
		"STATE": uB3.State, "NONCE": uB3.Nonce})
	if f := mustFail(t, r, "a login_required answer"); f.Failed.Error != "login_required" {
		t.Errorf("login_required through authorizationCodeGrant: %+v", *f.Failed)
	}
}
