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

// TestInteropChromiumCodeFlow: the authorization code grant in a real
// browser. Headless Chromium opens x/oauth2's authorization URL, is sent
// to /login, signs alice in, sees the consent page naming the app and
// scope, clicks Allow and is sent on to the client's redirect URI — an
// httptest server on 127.0.0.1 that records the query it gets. That code
// and state then redeem with x/oauth2. Without Chromium the test skips
// loudly (fails under LATCHKEY_TEST_REQUIRE_SERVICES=1, as in CI).
func TestInteropChromiumCodeFlow(t *testing.T) {
	t.Parallel()
	browsertest.ExecPath(t)
	needNode(t) // jose checks the tokens
	got := make(chan url.Values, 1)
	client := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/cb" {
			http.NotFound(w, r)
			return
		}
		select {
		case got <- r.URL.Query():
		default: // only the first callback counts; a second one is a bug the receive below misses, so fail it
			t.Errorf("a second request to the redirect URI: %s", r.URL.Redacted())
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><title>client</title><p id="done">back at the client</p>`))
	}))
	t.Cleanup(client.Close)
	c := newCodeSetupAt(t, startLatchkey(t), "shop", client.URL+"/cb", "")
	cfg := goOAuth2Config(t, c)
	verifier := oauth2.GenerateVerifier()
	authURL := cfg.AuthCodeURL("browser-state", oauth2.S256ChallengeOption(verifier))

	b := browsertest.New(t)
	tab := b.NewTab(t)
	tab.Navigate(authURL)
	if u := tab.URL(); !strings.HasPrefix(u, c.l.URL+"/login?") {
		t.Fatalf("the authorization request without a session shows %s, want /login", u)
	}
	tab.WaitVisible(`input[name="username"]`)
	tab.Fill("username", alice)
	tab.Fill("password", alicePassword)
	tab.ClickAndWaitLoad(`form[action="/login"] button[type="submit"]`)
	tab.WaitVisible(`form[action="/oauth2/authorize/consent"] button[value="allow"]`)
	if u := tab.URL(); !strings.HasPrefix(u, c.l.URL+"/oauth2/authorize?") {
		t.Fatalf("after sign-in the browser shows %s, want the consent page of the authorization request", u)
	}
	if text := browsertest.Eval[string](tab, `document.body.innerText`); !strings.Contains(text, "Shop") || !strings.Contains(text, "orders:read") {
		t.Errorf("consent page does not name the app and scope: %.400s", text)
	}
	tab.Click(`form[action="/oauth2/authorize/consent"] button[value="allow"]`)

	// The navigation goes on after the click returns; the redirect URI's
	// handler says when it arrived. A browser that refuses the redirect
	// (Content-Security-Policy form-action applies to the redirects of a
	// form submission, CSP3 §6.4.1) reports a violation instead.
	var q url.Values
	select {
	case q = <-got:
	case <-time.After(15 * time.Second):
		t.Fatalf("after Allow the browser never reached the redirect URI; it shows %s; console: %v", tab.URL(), tab.ConsoleErrors())
	}
	if u := tab.URL(); !strings.HasPrefix(u, client.URL+"/cb?") {
		t.Errorf("the browser shows %s, want the redirect URI", u)
	}
	if errs := tab.ConsoleErrors(); len(errs) > 0 {
		t.Errorf("console errors or CSP violations: %v", errs)
	}
	cb, _ := url.Parse(client.URL + "/cb?" + q.Encode())
	goRedeem(t, c, cfg, cb, "browser-state", verifier)
}
