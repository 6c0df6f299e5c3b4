package oauth_test

import (
	"context"
	"errors"
	"net/url"
	"testing"

	"github.com/latchkey/latchkey/oauth"
	"github.com/latchkey/latchkey/token"
)

// FuzzParseAuthorize: whatever the query of /oauth2/authorize holds,
// ParseAuthorize neither panics nor fails as the server's fault (a 5xx),
// and neither a request nor an error ever names a redirect URI other than
// the one registered (AS-01, AS-03).
func FuzzParseAuthorize(f *testing.F) {
	fx := newCodeFixture(f, oauth.Config{})
	const ch = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	for _, seed := range []string{
		"",
		"response_type=code&client_id=web&code_challenge=" + ch + "&code_challenge_method=S256",
		"response_type=code&client_id=web&redirect_uri=https%3A%2F%2Fweb.example%2Fcb&code_challenge=" + ch + "&code_challenge_method=S256&state=x&scope=orders%3Aread",
		"response_type=code&client_id=web&redirect_uri=https%3A%2F%2Fweb.example%2FCB",
		"response_type=code&client_id=web&redirect_uri=https%3A%2F%2Fweb.example%40evil%2Fcb",
		"response_type=token&client_id=web&redirect_uri=https%3A%2F%2Fweb.example%2Fcb",
		"response_type=code&client_id=web&code_challenge=" + ch + "&code_challenge_method=plain",
		"response_type=code&client_id=web&request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Alkpar_x",
		"response_type=code&client_id=web&client_id=web",
		"client_id=%00&redirect_uri=%ff",
		"response_type=code&client_id=web&code_challenge=" + ch + "&code_challenge_method=S256&prompt=none%20login&max_age=-1&dpop_jkt=%%%",
		"response_type=code&client_id=web&code_challenge=" + ch + "&code_challenge_method=S256&audience=a&audience=b&resource=https%3A%2F%2Fx",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw) // net/http keeps what parses
		req, err := fx.svc.ParseAuthorize(context.Background(), q)
		if err == nil {
			if req == nil || req.RedirectURI != "https://web.example/cb" {
				t.Fatalf("accepted with redirect URI %q", req.RedirectURI)
			}
			return
		}
		var ae *oauth.AuthorizeError
		if errors.As(err, &ae) {
			if ae.RedirectURI != "" && ae.RedirectURI != "https://web.example/cb" {
				t.Fatalf("an error redirects to %q", ae.RedirectURI)
			}
			return
		}
		if k := token.KindOf(err); k != token.Invalid && k != token.NotFound {
			t.Fatalf("%q: a server-side failure (%v): %v", raw, k, err)
		}
	})
}
