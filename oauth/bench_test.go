package oauth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/oauth"
	"github.com/latchkey/latchkey/token"
)

// BenchmarkTokenClientCredentials is the token endpoint's work for one
// client_credentials request (HTTP Basic, an at+jwt), without the network.
func BenchmarkTokenClientCredentials(b *testing.B) {
	f := newCodeFixture(&testing.T{}, oauth.Config{})
	_, _, secret, err := f.svc.CreateApp(context.Background(), token.SystemActor,
		token.CreatePrincipalParams{ID: "svc", Name: "svc", Permissions: []string{"orders:read"}},
		oauth.Settings{GrantTypes: []string{oauth.GrantClientCredentials}})
	if err != nil {
		b.Fatal(err)
	}
	body := url.Values{"grant_type": {"client_credentials"}}.Encode()
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, "/oauth2/token", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.SetBasicAuth("svc", secret)
		w := httptest.NewRecorder()
		if err := f.svc.HandleToken(w, r); err != nil || w.Code != 200 {
			b.Fatal(err, w.Code)
		}
	}
}

// BenchmarkIntrospectOpaque is introspection of an active opaque token by
// a resource server (HTTP Basic), without the network.
func BenchmarkIntrospectOpaque(b *testing.B) {
	f := newCodeFixture(&testing.T{}, oauth.Config{})
	ctx := context.Background()
	_, _, rs, err := f.svc.CreateApp(ctx, token.SystemActor, token.CreatePrincipalParams{ID: "rs", Name: "rs"},
		oauth.Settings{GrantTypes: []string{oauth.GrantClientCredentials}, Audiences: []string{"orders"}})
	if err != nil {
		b.Fatal(err)
	}
	_, _, secret, err := f.svc.CreateApp(ctx, token.SystemActor,
		token.CreatePrincipalParams{ID: "svc", Name: "svc", Permissions: []string{"orders:read"}},
		oauth.Settings{GrantTypes: []string{oauth.GrantClientCredentials}, Audiences: []string{"orders"}, AccessTokenFormat: "opaque"})
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "/oauth2/token", strings.NewReader("grant_type=client_credentials"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth("svc", secret)
	a := (&pkjwtFixture{svc: f.svc}).post("/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"svc"}, "client_secret": {secret}}, func(w http.ResponseWriter, _ *http.Request) error {
		return f.svc.HandleToken(w, r)
	})
	tok, _ := a.body["access_token"].(string)
	if tok == "" {
		b.Fatal(a)
	}
	body := url.Values{"token": {tok}}.Encode()
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, "/oauth2/introspect", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.SetBasicAuth("rs", rs)
		w := httptest.NewRecorder()
		if err := f.svc.HandleIntrospect(w, r); err != nil || !strings.Contains(w.Body.String(), `"active":true`) {
			b.Fatal(err, w.Body.String())
		}
	}
}
