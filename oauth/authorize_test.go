package oauth

import (
	"errors"
	"testing"
)

// TestAS01_RedirectURIExactMatch: a registered redirect URI matches only
// itself, byte for byte; every near miss is an error for latchkey's own
// page, never a redirect.
func TestAS01_RedirectURIExactMatch(t *testing.T) {
	c := &Client{Settings: Settings{RedirectURIs: []string{"https://app.example/cb"}}}
	if got, err := matchRedirect(c, "https://app.example/cb"); err != nil || got != "https://app.example/cb" {
		t.Fatalf("exact: %q %v", got, err)
	}
	for _, v := range []string{
		"https://app.example/CB", "https://APP.example/cb", "https://app.example/cb/", "https://app.example/cb?x=1",
		"https://app.example/cb#f", "https://app.example/cb/../evil", "https://app.example.evil/cb",
		"https://app.example@evil/cb", "https://a@b@evil/cb", "https://app.example%2Fcb", "https://app.example/%63b",
		"https://app.example/cb%2F", "https://app.example/..;/cb", "https://app.example/cb;x", "https://app.example:443/cb",
		"http://app.example/cb", " https://app.example/cb", "https://app.example/cb ", "https://app.example/cb\x00",
	} {
		got, err := matchRedirect(c, v)
		var ae *AuthorizeError
		if err == nil || !errors.As(err, &ae) || ae.RedirectURI != "" {
			t.Errorf("%q: matched %q (%v)", v, got, err)
		}
	}
	// Without a redirect_uri, the only registered one is used; with several,
	// one must be named.
	if got, err := matchRedirect(c, ""); err != nil || got != "https://app.example/cb" {
		t.Errorf("default: %q %v", got, err)
	}
	two := &Client{Settings: Settings{RedirectURIs: []string{"https://app.example/a", "https://app.example/b"}}}
	if _, err := matchRedirect(two, ""); err == nil {
		t.Error("several registered, none named: accepted")
	}
}

// TestAS02_LoopbackRedirectPort: a native app's loopback redirect URI
// matches with any port, and nothing else varies.
func TestAS02_LoopbackRedirectPort(t *testing.T) {
	c := &Client{Settings: Settings{RedirectURIs: []string{"http://127.0.0.1/cb", "http://[::1]/cb"}}}
	for _, ok := range []string{"http://127.0.0.1:53122/cb", "http://127.0.0.1/cb", "http://[::1]:8080/cb"} {
		if _, err := matchRedirect(c, ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{
		"http://127.0.0.1:53122/cb?bar=foo", "http://localhost.evil.test/cb", "http://127.0.0.1.evil/cb",
		"http://127.0.0.1:53122/cb/", "http://127.0.0.1:53122/CB", "https://127.0.0.1:53122/cb", "http://localhost:53122/cb",
		"http://127.0.0.1:0/cb", "http://127.0.0.1:65536/cb", "http://127.0.0.1:053122/cb", "http://user@127.0.0.1:5312/cb",
		"http://127.0.0.1:53122/cb#x", "http://127.0.0.2:53122/cb", "http://[::1]:80/cb?x",
	} {
		if got, err := matchRedirect(c, bad); err == nil {
			t.Errorf("%q matched %q", bad, got)
		}
	}
	// Ports vary only for loopback redirect URIs.
	web := &Client{Settings: Settings{RedirectURIs: []string{"https://app.example/cb"}}}
	if _, err := matchRedirect(web, "https://app.example:8443/cb"); err == nil {
		t.Error("port of a web redirect URI varied")
	}
}

// TestAS04_PKCEVerifier: S256 only, 43–128 unreserved characters, the
// RFC 7636 Appendix B vector verifies; a code without challenge takes no
// verifier at all (AS-05).
func TestAS04_PKCEVerifier(t *testing.T) {
	const verifier, challenge = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	if !checkVerifier(challenge, verifier) {
		t.Fatal("RFC 7636 Appendix B vector refused")
	}
	long := make([]byte, 129)
	for i := range long {
		long[i] = 'a'
	}
	for name, v := range map[string]string{
		"wrong":       "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl",
		"empty":       "",
		"too short":   verifier[:42],
		"too long":    string(long),
		"bad char":    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjX+",
		"space":       "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjX ",
		"the challen": challenge,
	} {
		if checkVerifier(challenge, v) {
			t.Errorf("%s: accepted", name)
		}
	}
	if checkVerifier("", verifier) || checkVerifier("", "") {
		t.Error("AS-05: a code issued without challenge was redeemable")
	}
}
