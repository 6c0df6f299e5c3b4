package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/api"
)

const (
	clientSecret  = "lkcs_CLIENTSECRETCLIENTSECRET"
	rotatedSecret = "lkcs_ROTATEDSECRETROTATED"
)

// newOAuthAppServer is a fake of the OAuth endpoints of /v1/apps. It
// normalises the settings as the server does; the app "ci" is not an OAuth
// client, "nope" does not exist, and an app named "bad" is refused.
func newOAuthAppServer(t *testing.T) *fakeServer {
	t.Helper()
	s := &fakeServer{}
	normalise := func(o *api.OAuthSettings) {
		if len(o.GrantTypes) == 0 {
			o.GrantTypes = []string{"client_credentials"}
			if len(o.RedirectURIs) > 0 {
				o.GrantTypes = []string{"authorization_code", "refresh_token"}
			}
		}
		if o.TokenEndpointAuthMethod == "" {
			o.TokenEndpointAuthMethod = "client_secret_basic"
		}
		if o.AccessTokenFormat == "" {
			o.AccessTokenFormat = "jwt"
		}
	}
	withOAuth := func(p *api.Principal, o *api.OAuthSettings, secret bool) {
		if o == nil {
			return
		}
		normalise(o)
		p.OAuth, p.ClientID = o, p.ID
		if secret && o.TokenEndpointAuthMethod != "none" && o.TokenEndpointAuthMethod != "private_key_jwt" {
			p.ClientSecret = clientSecret
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/apps", func(w http.ResponseWriter, r *http.Request) {
		var req api.CreatePrincipalRequest
		json.NewDecoder(r.Body).Decode(&req)
		if req.ID == "bad" {
			problem(w, 422, "invalid_client_metadata", "redirect_uris[0]: not an absolute https URI")
			return
		}
		p := api.Principal{Type: "app", ID: req.ID, Name: req.Name, Permissions: req.Permissions, CreatedAt: t0, UpdatedAt: t0}
		withOAuth(&p, req.OAuth, true)
		reply(w, 201, p)
	})
	mux.HandleFunc("GET /v1/apps/{id}", func(w http.ResponseWriter, r *http.Request) {
		p := api.Principal{Type: "app", ID: r.PathValue("id"), CreatedAt: t0, UpdatedAt: t0}
		if p.ID != "ci" {
			withOAuth(&p, &api.OAuthSettings{RedirectURIs: []string{"https://web.example/cb"}, Audiences: []string{"orders"}, SkipConsent: true, DPoPBoundAccessTokens: true}, false)
		}
		reply(w, 200, p)
	})
	mux.HandleFunc("PATCH /v1/apps/{id}", func(w http.ResponseWriter, r *http.Request) {
		var req api.UpdatePrincipalRequest
		json.NewDecoder(r.Body).Decode(&req)
		p := api.Principal{Type: "app", ID: r.PathValue("id"), CreatedAt: t0, UpdatedAt: t0}
		withOAuth(&p, req.OAuth, p.ID == "ci") // ci becomes a client now
		reply(w, 200, p)
	})
	mux.HandleFunc("POST /v1/apps/{id}/secret", func(w http.ResponseWriter, r *http.Request) {
		var req api.RotateSecretRequest
		json.NewDecoder(r.Body).Decode(&req)
		if id := r.PathValue("id"); id == "ci" {
			problem(w, 404, "client_not_found", "app \"ci\" is not an OAuth client")
			return
		}
		cs := api.ClientSecret{ClientID: r.PathValue("id"), ClientSecret: rotatedSecret}
		if req.GracePeriod != "" {
			until := "2026-01-02T04:04:05Z"
			cs.PreviousValidUntil = &until
		}
		reply(w, 201, cs)
	})
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var body map[string]any
		json.Unmarshal(b, &body)
		s.mu.Lock()
		s.last = recorded{method: r.Method, path: r.URL.EscapedPath(), query: r.URL.RawQuery, header: r.Header.Clone(), body: body}
		s.mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer "+testToken {
			problem(w, 401, "unauthenticated", "missing or invalid credential")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func TestOAuthAppCommands(t *testing.T) {
	srv := newOAuthAppServer(t)
	dir := t.TempDir()
	jwksFile, notJWKS := filepath.Join(dir, "jwks.json"), filepath.Join(dir, "list.json")
	jwks := `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"k1"}]}`
	if err := os.WriteFile(jwksFile, []byte(jwks), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(notJWKS, []byte(`[1]`), 0o600); err != nil {
		t.Fatal(err)
	}
	wantBody := func(want map[string]any) func(t *testing.T, r recorded) {
		return func(t *testing.T, r recorded) {
			t.Helper()
			if !reflect.DeepEqual(r.body, want) {
				t.Errorf("%s %s body = %v, want %v", r.method, r.path, r.body, want)
			}
		}
	}
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantOut    []string
		wantErr    []string
		secretOnce bool // stdout has the client secret exactly once
		noSecret   bool // stdout has no client secret at all
		check      func(t *testing.T, r recorded)
	}{
		{name: "create/all the flags make the oauth object", args: []string{"apps", "create", "web", "--name", "Acme Web", "--permissions", "orders:read,orders:write",
			"--redirect-uri", "https://web.example/cb", "--redirect-uri", "https://web.example/cb2", "--grant", "authorization_code,refresh_token",
			"--token-auth", "client_secret_post", "--audience", "orders", "--audience", "billing", "--skip-consent", "--dpop-bound",
			"--access-token-format", "opaque", "--post-logout-redirect-uri", "https://web.example/bye",
			"--backchannel-logout-uri", "https://web.example/backchannel-logout"},
			wantOut:    []string{"Client ID:", "Grant types:", "authorization_code,refresh_token", "Token endpoint auth:", "client_secret_post", "opaque, DPoP-bound", "Consent:", "skipped", "shown once"},
			secretOnce: true,
			check: wantBody(map[string]any{"id": "web", "name": "Acme Web", "permissions": []any{"orders:read", "orders:write"}, "oauth": map[string]any{
				"redirect_uris": []any{"https://web.example/cb", "https://web.example/cb2"}, "post_logout_redirect_uris": []any{"https://web.example/bye"},
				"backchannel_logout_uri": "https://web.example/backchannel-logout",
				"grant_types":            []any{"authorization_code", "refresh_token"}, "token_endpoint_auth_method": "client_secret_post", "access_token_format": "opaque",
				"dpop_bound_access_tokens": true, "skip_consent": true, "audiences": []any{"orders", "billing"}}})},
		{name: "create/--backchannel-logout-uri alone makes a client", args: []string{"apps", "create", "wiki", "--backchannel-logout-uri", "http://127.0.0.1:9002/backchannel-logout"},
			secretOnce: true,
			check:      wantBody(map[string]any{"id": "wiki", "oauth": map[string]any{"backchannel_logout_uri": "http://127.0.0.1:9002/backchannel-logout"}})},
		{name: "create/one flag is enough", args: []string{"apps", "create", "worker", "--grant", "client_credentials"},
			wantOut: []string{"client_credentials", "client_secret_basic", "jwt"}, secretOnce: true,
			check: wantBody(map[string]any{"id": "worker", "oauth": map[string]any{"grant_types": []any{"client_credentials"}}})},
		{name: "create/repeated grant", args: []string{"apps", "create", "worker", "--grant", "client_credentials", "--grant", "urn:ietf:params:oauth:grant-type:token-exchange"},
			secretOnce: true,
			check:      wantBody(map[string]any{"id": "worker", "oauth": map[string]any{"grant_types": []any{"client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"}}})},
		{name: "create/a flag set to false still makes a client", args: []string{"apps", "create", "worker", "--skip-consent=false"}, secretOnce: true,
			check: wantBody(map[string]any{"id": "worker", "oauth": map[string]any{}})},
		{name: "create/public client has no secret", args: []string{"apps", "create", "spa", "--redirect-uri", "https://spa.example/cb", "--token-auth", "none"},
			wantOut: []string{"Client ID:", "authorization_code,refresh_token", "none"}, noSecret: true},
		{name: "create/--jwks makes a private_key_jwt client without a secret", args: []string{"apps", "create", "signer", "--jwks", jwksFile},
			wantOut: []string{"Client ID:", "private_key_jwt", "JWKS:"}, noSecret: true,
			check: wantBody(map[string]any{"id": "signer", "oauth": map[string]any{"token_endpoint_auth_method": "private_key_jwt",
				"jwks": map[string]any{"keys": []any{map[string]any{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "k1"}}}}})},
		{name: "usage/--jwks not a JWK Set", args: []string{"apps", "create", "signer", "--jwks", notJWKS}, wantCode: 2, wantErr: []string{"--jwks", "JWK Set"}},
		{name: "usage/--jwks missing file", args: []string{"apps", "create", "signer", "--jwks", filepath.Join(dir, "nope.json")}, wantCode: 2, wantErr: []string{"--jwks"}},
		{name: "create/without oauth flags is a plain app", args: []string{"apps", "create", "ci", "--permissions", "orders:read"}, noSecret: true,
			check: wantBody(map[string]any{"id": "ci", "permissions": []any{"orders:read"}})},
		{name: "create/invalid metadata", args: []string{"apps", "create", "bad", "--redirect-uri", "cb"}, wantCode: 3,
			wantErr: []string{"422 invalid_client_metadata: redirect_uris[0]"}},
		{name: "usage/unknown grant", args: []string{"apps", "create", "web", "--grant", "password"}, wantCode: 2, wantErr: []string{"--grant must be among", `"password"`}},
		{name: "usage/unknown token auth", args: []string{"apps", "create", "web", "--token-auth", "basic"}, wantCode: 2, wantErr: []string{"--token-auth must be", `"basic"`}},
		{name: "create/--subject-type pairwise", args: []string{"apps", "create", "shop", "--redirect-uri", "https://shop.example/cb", "--subject-type", "pairwise"},
			secretOnce: true,
			check:      wantBody(map[string]any{"id": "shop", "oauth": map[string]any{"redirect_uris": []any{"https://shop.example/cb"}, "subject_type": "pairwise"}})},
		{name: "usage/unknown subject type", args: []string{"apps", "create", "shop", "--subject-type", "secret"}, wantCode: 2, wantErr: []string{"--subject-type must be public or pairwise"}},
		{name: "usage/unknown token format", args: []string{"apps", "create", "web", "--access-token-format", "paseto"}, wantCode: 2, wantErr: []string{"jwt or opaque"}},
		{name: "usage/users have no oauth flags", args: []string{"users", "create", "alice", "--grant", "client_credentials"}, wantCode: 2, wantErr: []string{"-grant"}},
		{name: "get/shows the settings, never a secret", args: []string{"apps", "get", "web"}, noSecret: true,
			wantOut: []string{"Client ID:", "web", "Redirect URIs:", "https://web.example/cb", "Grant types:", "authorization_code,refresh_token", "Audiences:", "orders", "jwt, DPoP-bound", "skipped"}},
		{name: "get/a plain app has no client lines", args: []string{"apps", "get", "ci"}, noSecret: true,
			check: func(t *testing.T, r recorded) {
				if r.method != "GET" || r.path != "/v1/apps/ci" {
					t.Errorf("request = %s %s", r.method, r.path)
				}
			}},
		{name: "update/replaces the oauth object", args: []string{"apps", "update", "web", "--redirect-uri", "https://web.example/new"}, noSecret: true,
			wantOut: []string{"https://web.example/new"},
			check:   wantBody(map[string]any{"oauth": map[string]any{"redirect_uris": []any{"https://web.example/new"}}})},
		{name: "update/an app becomes a client", args: []string{"apps", "update", "ci", "--grant", "client_credentials"}, secretOnce: true,
			check: wantBody(map[string]any{"oauth": map[string]any{"grant_types": []any{"client_credentials"}}})},
		{name: "update/other fields leave oauth alone", args: []string{"apps", "update", "web", "--name", "Web"}, noSecret: true,
			check: wantBody(map[string]any{"name": "Web"})},
		{name: "update/help says the settings are replaced", args: []string{"apps", "update", "-h"}, wantOut: []string{"replace all of the app's OAuth settings", "--redirect-uri"}},
		{name: "update/nothing to change names the oauth flags", args: []string{"apps", "update", "web"}, wantCode: 2, wantErr: []string{"OAuth flag"}},
		{name: "rotate-secret/at once", args: []string{"apps", "rotate-secret", "web"}, secretOnce: true,
			wantOut: []string{"Rotated the client secret of app web. The old secret has stopped working.", "shown once"},
			check: func(t *testing.T, r recorded) {
				if r.method != "POST" || r.path != "/v1/apps/web/secret" || len(r.body) != 0 {
					t.Errorf("request = %s %s %v", r.method, r.path, r.body)
				}
			}},
		{name: "rotate-secret/grace", args: []string{"apps", "rotate-secret", "web", "--grace-period", "1h"}, secretOnce: true,
			wantOut: []string{"The old secret keeps working until 2026-01-02T04:04:05Z."},
			check:   wantBody(map[string]any{"grace_period": "1h0m0s"})},
		{name: "rotate-secret/grace in days", args: []string{"apps", "rotate-secret", "web", "--grace-period", "2d"}, secretOnce: true,
			check: wantBody(map[string]any{"grace_period": "48h0m0s"})},
		{name: "rotate-secret/bad grace", args: []string{"apps", "rotate-secret", "web", "--grace-period", "soon"}, wantCode: 2, wantErr: []string{"1h or 30d"}},
		{name: "rotate-secret/not a client", args: []string{"apps", "rotate-secret", "ci"}, wantCode: 3, wantErr: []string{"404 client_not_found"}},
		{name: "rotate-secret/missing id", args: []string{"apps", "rotate-secret"}, wantCode: 2, wantErr: []string{"missing ID"}},
		{name: "apps help lists rotate-secret", args: []string{"apps", "-h"}, wantOut: []string{"rotate-secret"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, srv, nil, "", tt.args...)
			if r.code != tt.wantCode {
				t.Errorf("exit code = %d, want %d\nstdout: %s\nstderr: %s", r.code, tt.wantCode, r.stdout, r.stderr)
			}
			for _, s := range tt.wantOut {
				if !strings.Contains(r.stdout, s) {
					t.Errorf("stdout does not contain %q:\n%s", s, r.stdout)
				}
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("stderr does not contain %q:\n%s", s, r.stderr)
				}
			}
			secrets := strings.Count(r.stdout, clientSecret) + strings.Count(r.stdout, rotatedSecret)
			if tt.secretOnce && secrets != 1 {
				t.Errorf("stdout has the client secret %d times, want once:\n%s", secrets, r.stdout)
			}
			if tt.noSecret && (secrets != 0 || strings.Contains(r.stdout, "Client secret")) {
				t.Errorf("stdout has a client secret:\n%s", r.stdout)
			}
			if strings.Contains(r.stderr, clientSecret) || strings.Contains(r.stderr, rotatedSecret) || strings.Contains(r.stdout+r.stderr, testToken) {
				t.Error("stderr has the client secret, or the output has the management token")
			}
			if tt.check != nil {
				tt.check(t, srv.lastRequest())
			}
		})
	}
}

func TestOAuthAppJSON(t *testing.T) {
	srv := newOAuthAppServer(t)
	decode := func(t *testing.T, args []string, into any) {
		t.Helper()
		r := runCLI(t, srv, nil, "", args...)
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		dec := json.NewDecoder(strings.NewReader(r.stdout))
		dec.DisallowUnknownFields()
		if err := dec.Decode(into); err != nil {
			t.Fatalf("stdout is not the JSON answer: %v\n%s", err, r.stdout)
		}
	}
	t.Run("create", func(t *testing.T) {
		var p api.Principal
		decode(t, []string{"apps", "create", "worker", "--grant", "client_credentials", "--audience", "orders", "--json"}, &p)
		want := &api.OAuthSettings{GrantTypes: []string{"client_credentials"}, TokenEndpointAuthMethod: "client_secret_basic", AccessTokenFormat: "jwt", Audiences: []string{"orders"}}
		if p.ID != "worker" || p.ClientID != "worker" || p.ClientSecret != clientSecret || !reflect.DeepEqual(p.OAuth, want) {
			t.Errorf("got %+v (oauth %+v)", p, p.OAuth)
		}
	})
	t.Run("get", func(t *testing.T) {
		var p api.Principal
		decode(t, []string{"apps", "get", "web", "--json"}, &p)
		if p.ClientID != "web" || p.ClientSecret != "" || p.OAuth == nil || !p.OAuth.SkipConsent {
			t.Errorf("got %+v (oauth %+v)", p, p.OAuth)
		}
	})
	t.Run("rotate-secret", func(t *testing.T) {
		var s api.ClientSecret
		decode(t, []string{"apps", "rotate-secret", "web", "--grace-period", "1h", "--json"}, &s)
		if s.ClientID != "web" || s.ClientSecret != rotatedSecret || s.PreviousValidUntil == nil || *s.PreviousValidUntil != "2026-01-02T04:04:05Z" {
			t.Errorf("got %+v", s)
		}
	})
}
