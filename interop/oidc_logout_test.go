package interop_test

import (
	"crypto/rand"
	"net/http"
	"net/url"
	"testing"

	"github.com/latchkey/latchkey/api"
)

// oidcLogoutURL has openid-client build the RP-initiated logout URL
// (buildEndSessionUrl from discovery) for idToken, redirect and state,
// and checks that it is the discovered end_session_endpoint with those
// parameters and the client's client_id.
func oidcLogoutURL(t *testing.T, l *latchkey, app api.Principal, idToken, redirect, state string) string {
	t.Helper()
	r := oidcCode(t, l, app, map[string]string{"STEP": "logout", "ID_TOKEN": idToken, "POST_LOGOUT_REDIRECT_URI": redirect, "STATE": state})
	if !r.OK {
		t.Fatalf("openid-client buildEndSessionUrl: %s; stderr %s", r.Out, r.Stderr)
	}
	out := decode[struct {
		URL                string `json:"url"`
		EndSessionEndpoint string `json:"end_session_endpoint"`
	}](t, r, "oidc-code.mjs")
	u, err := url.Parse(out.URL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if out.EndSessionEndpoint != l.URL+"/oauth2/logout" || u.Scheme+"://"+u.Host+u.Path != out.EndSessionEndpoint ||
		q.Get("id_token_hint") != idToken || q.Get("post_logout_redirect_uri") != redirect || q.Get("state") != state ||
		q.Get("client_id") != app.ClientID {
		t.Fatalf("end session URL %s (end_session_endpoint %q)", u.Redacted(), out.EndSessionEndpoint)
	}
	return out.URL
}

// TestInteropOpenIDClientRPLogout: RP-initiated logout (OpenID Connect
// RP-Initiated Logout 1.0) through openid-client. alice signs in for shop
// (which registered a post_logout_redirect_uri); buildEndSessionUrl, from
// the discovered end_session_endpoint, carries the ID token as
// id_token_hint, the redirect, state and client_id. With a redirect shop
// did not register, latchkey shows an error (400) and redirects nowhere,
// and the session stays (prompt=none still gives a code). With the
// registered one it ends the session and redirects there with state; a
// prompt=none request afterwards is login_required.
func TestInteropOpenIDClientRPLogout(t *testing.T) {
	t.Parallel()
	needNode(t)
	bye := loopbackRedirect(t, "/bye")
	c := newCodeSetup(t, startLatchkey(t), "shop", `"post_logout_redirect_uris":["`+bye+`"]`)
	b := newFormBrowser(t, c.l.URL)
	u := oidcAuthorizeURL(t, c.l, c.app, c.redirect, "")
	out := oidcRedeem(t, c.l, c.app, b.authorize(u.URL), u, false)
	if out.Token.IDToken == "" {
		t.Fatal("no ID token")
	}

	state := rand.Text()
	for name, redirect := range map[string]string{"unregistered": loopbackRedirect(t, "/bye"), "suffixed": bye + "/x"} {
		p := b.send(http.MethodGet, oidcLogoutURL(t, c.l, c.app, out.Token.IDToken, redirect, state), nil)
		if p.Status != http.StatusBadRequest || p.Header.Get("Location") != "" {
			t.Errorf("logout to an %s post_logout_redirect_uri: %d Location %q, want 400 and no redirect", name, p.Status, p.Header.Get("Location"))
		}
	}
	uN := oidcAuthorizeURL(t, c.l, c.app, c.redirect, "none")
	if cb := b.silentAuthorize(uN.URL); cb.Query().Get("code") == "" {
		t.Fatalf("a refused logout ended the session: prompt=none answered %s", cb.Redacted())
	}

	p := b.send(http.MethodGet, oidcLogoutURL(t, c.l, c.app, out.Token.IDToken, bye, state), nil)
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != bye+"?state="+url.QueryEscape(state) {
		t.Fatalf("logout: %d Location %q, want 303 to %s?state=…", p.Status, p.Header.Get("Location"), bye)
	}
	uN = oidcAuthorizeURL(t, c.l, c.app, c.redirect, "none")
	if cb := b.silentAuthorize(uN.URL); cb.Query().Get("error") != "login_required" {
		t.Fatalf("after logout prompt=none answered %s, want login_required", cb.Redacted())
	}
}
