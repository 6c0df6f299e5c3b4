package interop_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/browsertest"
	"golang.org/x/oauth2"
)

// redirectTarget is a client's redirect URI served on 127.0.0.1: it
// records the query of the first request to /cb (and answers a favicon
// request with 204).
func redirectTarget(t *testing.T) (*httptest.Server, <-chan url.Values) {
	t.Helper()
	got := make(chan url.Values, 1)
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/cb":
		case "/favicon.ico": // Chromium may ask for it: no console error for its 404
			w.WriteHeader(http.StatusNoContent)
			return
		default:
			http.NotFound(w, r)
			return
		}
		select {
		case got <- r.URL.Query():
		default:
			t.Errorf("a second request to the redirect URI: %s", r.URL.Redacted())
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><title>client</title><p id="done">back at the client</p>`))
	}))
	t.Cleanup(s.Close)
	return s, got
}

// arrival waits for the browser's request to the redirect URI. The
// navigation goes on after the click that started it returns; a browser
// that refuses a redirect (Content-Security-Policy form-action governs
// every redirect of a form submission, CSP3 §6.4.1) reports a violation
// on the console instead, shown in the failure.
func arrival(t *testing.T, tab *browsertest.Tab, client *httptest.Server, got <-chan url.Values) *url.URL {
	t.Helper()
	var q url.Values
	select {
	case q = <-got:
	case <-time.After(15 * time.Second):
		t.Fatalf("the browser never reached the redirect URI; it shows %s; console: %v", tab.URL(), tab.ConsoleErrors())
	}
	if u := tab.URL(); !strings.HasPrefix(u, client.URL+"/cb?") {
		t.Errorf("the browser shows %s, want the redirect URI", u)
	}
	if errs := tab.ConsoleErrors(); len(errs) > 0 {
		t.Errorf("console errors or CSP violations: %v", errs)
	}
	cb, _ := url.Parse(client.URL + "/cb?" + q.Encode())
	return cb
}

// chromiumSignIn opens authURL in a fresh headless Chromium, checks it is
// sent to /login, and signs alice in there.
func chromiumSignIn(t *testing.T, c *codeSetup, authURL string) *browsertest.Tab {
	t.Helper()
	tab := browsertest.New(t).NewTab(t)
	tab.Navigate(authURL)
	if u := tab.URL(); !strings.HasPrefix(u, c.l.URL+"/login?") {
		t.Fatalf("the authorization request without a session shows %s, want /login", u)
	}
	tab.WaitVisible(`input[name="username"]`)
	tab.Fill("username", alice)
	tab.Fill("password", alicePassword)
	return tab
}

// TestInteropChromiumCodeFlow: the authorization code grant in a real
// browser. Headless Chromium opens x/oauth2's authorization URL, is sent
// to /login and signs alice in; then
//   - consent: it sees the consent page naming the app and scope, clicks
//     Allow and is sent on to the client's redirect URI;
//   - skip consent: a first-party app (skip_consent) sends it from the
//     sign-in form through /oauth2/authorize straight to the client.
//
// The redirect URI is an httptest server on 127.0.0.1 that records the
// query it gets; that code and state redeem with x/oauth2. Without
// Chromium the test skips loudly (fails under
// LATCHKEY_TEST_REQUIRE_SERVICES=1, as in CI).
func TestInteropChromiumCodeFlow(t *testing.T) {
	t.Parallel()
	browsertest.ExecPath(t)
	needNode(t) // jose checks the tokens
	for name, extra := range map[string]string{"consent": "", "skip consent": `"skip_consent":true`} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			client, got := redirectTarget(t)
			c := newCodeSetupAt(t, startLatchkey(t), "shop", client.URL+"/cb", extra)
			cfg := goOAuth2Config(t, c)
			verifier := oauth2.GenerateVerifier()
			tab := chromiumSignIn(t, c, cfg.AuthCodeURL("browser-state", oauth2.S256ChallengeOption(verifier)))
			if extra == "" {
				tab.ClickAndWaitLoad(`form[action="/login"] button[type="submit"]`)
				allow := `form[action="/oauth2/authorize/consent"] button[value="allow"]`
				tab.WaitVisible(allow)
				if u := tab.URL(); !strings.HasPrefix(u, c.l.URL+"/oauth2/authorize?") {
					t.Fatalf("after sign-in the browser shows %s, want the consent page of the authorization request", u)
				}
				if text := browsertest.Eval[string](tab, `document.body.innerText`); !strings.Contains(text, "Shop") ||
					!strings.Contains(text, "orders:read") {
					t.Errorf("consent page does not name the app and scope: %.400s", text)
				}
				tab.Click(allow)
			} else {
				tab.Click(`form[action="/login"] button[type="submit"]`)
			}
			goRedeem(t, c, cfg, arrival(t, tab, client, got), "browser-state", verifier)
		})
	}
}
