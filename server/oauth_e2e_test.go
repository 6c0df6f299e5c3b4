package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/server"
)

// tokenCall posts a token request and decodes the answer.
type tokenAnswer struct {
	Status  int
	Header  http.Header
	Token   map[string]any
	Problem api.OAuthError
}

func postToken(t *testing.T, base string, form url.Values, basicUser, basicPass string) tokenAnswer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicUser != "" {
		req.SetBasicAuth(url.QueryEscape(basicUser), url.QueryEscape(basicPass))
	}
	return doToken(t, req)
}

// doToken sends a token request and decodes the answer.
func doToken(t *testing.T, req *http.Request) tokenAnswer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := tokenAnswer{Status: resp.StatusCode, Header: resp.Header}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, &a.Token); err != nil {
			t.Fatalf("token answer %s: %v", b, err)
		}
	} else if err := json.Unmarshal(b, &a.Problem); err != nil || a.Problem.Error == "" {
		t.Fatalf("error answer is not RFC 6749 JSON: %d %s", resp.StatusCode, b)
	}
	return a
}

// createClient registers an OAuth app and returns its secret.
func createClient(t *testing.T, s *testServer, body string) api.Principal {
	t.Helper()
	r := s.doJSON(t, http.MethodPost, "/v1/apps", s.Root, body)
	if r.Status != http.StatusCreated {
		t.Fatalf("create app: %d %s", r.Status, r.Body)
	}
	var p api.Principal
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatal(err)
	}
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Error("the answer carrying a client secret may be cached")
	}
	return p
}

// verifyAccessToken checks a JWT with go-jose against the server's JWKS,
// as an independent resource server would, and returns its header type and
// claims.
func verifyAccessToken(t *testing.T, base, jwt string) (string, map[string]any) {
	t.Helper()
	resp, err := http.Get(base + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	err = json.NewDecoder(resp.Body).Decode(&set)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	sig, err := jose.ParseSignedCompact(jwt, []jose.SignatureAlgorithm{jose.EdDSA, jose.ES256, jose.RS256})
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	h := sig.Signatures[0].Protected
	keys := set.Key(h.KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %q: %d keys in the JWKS", h.KeyID, len(keys))
	}
	payload, err := sig.Verify(keys[0])
	if err != nil {
		t.Fatalf("signature: %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	typ, _ := h.ExtraHeaders["typ"].(string)
	return typ, claims
}

func TestOAuthClientCredentials(t *testing.T) {
	s := startServer(t, server.Config{})
	app := createClient(t, s, `{"id":"reports","name":"Reports job","permissions":["orders:read","billing:read"],
		"oauth":{"grant_types":["client_credentials"],"audiences":["https://api.example"]}}`)
	if app.ClientID != "reports" || !strings.HasPrefix(app.ClientSecret, "lkcs_") || app.OAuth == nil ||
		app.OAuth.TokenEndpointAuthMethod != "client_secret_basic" || app.OAuth.AccessTokenFormat != "jwt" {
		t.Fatalf("created app: %+v", app)
	}
	// The secret is never shown again.
	get := s.doJSON(t, http.MethodGet, "/v1/apps/reports", s.Root, "")
	if strings.Contains(string(get.Body), app.ClientSecret) || !strings.Contains(string(get.Body), `"client_id":"reports"`) {
		t.Fatalf("GET /v1/apps/reports: %s", get.Body)
	}
	a := postToken(t, s.URL, url.Values{"grant_type": {"client_credentials"}, "scope": {"orders:read"}}, "reports", app.ClientSecret)
	if a.Status != http.StatusOK || a.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("token: %d %+v", a.Status, a.Problem)
	}
	if a.Token["token_type"] != "Bearer" || a.Token["scope"] != "orders:read" {
		t.Fatalf("token answer %v", a.Token)
	}
	typ, claims := verifyAccessToken(t, s.URL, a.Token["access_token"].(string))
	if typ != "at+jwt" {
		t.Errorf("typ %q, want at+jwt (RFC 9068)", typ)
	}
	var meta api.AuthorizationServerMetadata
	r := s.doJSON(t, http.MethodGet, "/.well-known/oauth-authorization-server", "", "")
	if err := json.Unmarshal(r.Body, &meta); err != nil || meta.TokenEndpoint != s.URL+"/oauth2/token" {
		t.Fatalf("metadata: %s", r.Body)
	}
	// AS-08: the metadata's issuer is byte-identical to the token's iss.
	if claims["iss"] != meta.Issuer || claims["sub"] != "app:reports" || claims["client_id"] != "reports" ||
		claims["aud"] != "https://api.example" || claims["scope"] != "orders:read" {
		t.Errorf("claims %v (issuer %q)", claims, meta.Issuer)
	}
	if exp, iat := claims["exp"].(float64), claims["iat"].(float64); exp-iat <= 0 || exp-iat > 3600 {
		t.Errorf("lifetime %v s", exp-iat)
	}
	// client_secret_post is not this client's method: refused.
	post := postToken(t, s.URL, url.Values{"grant_type": {"client_credentials"}, "client_id": {"reports"}, "client_secret": {app.ClientSecret}}, "", "")
	if post.Status != http.StatusUnauthorized || post.Problem.Error != "invalid_client" {
		t.Errorf("client_secret_post for a basic client: %d %+v", post.Status, post.Problem)
	}
	// Without scope: all of the app's permissions.
	all := postToken(t, s.URL, url.Values{"grant_type": {"client_credentials"}}, "reports", app.ClientSecret)
	if all.Status != http.StatusOK || all.Token["scope"] != "billing:read orders:read" {
		t.Errorf("no scope asked: %d %v %+v", all.Status, all.Token["scope"], all.Problem)
	}
}

// changeLast returns s with its last character replaced by a different
// one (a fixed replacement is a no-op once in 62 random secrets).
func changeLast(s string) string {
	c := byte('x')
	if s[len(s)-1] == c {
		c = 'y'
	}
	return s[:len(s)-1] + string(c)
}

// TestAS09_ClientAuthentication: missing, wrong and another client's
// secrets all get 401 invalid_client, with WWW-Authenticate for Basic.
func TestAS09_ClientAuthentication(t *testing.T) {
	s := startServer(t, server.Config{})
	a := createClient(t, s, `{"id":"a","permissions":["x:read"],"oauth":{"grant_types":["client_credentials"]}}`)
	b := createClient(t, s, `{"id":"b","permissions":["x:read"],"oauth":{"grant_types":["client_credentials"],"token_endpoint_auth_method":"client_secret_post"}}`)
	cc := url.Values{"grant_type": {"client_credentials"}}
	cases := []struct {
		name       string
		form       url.Values
		user, pass string
		basic      bool
	}{
		{"no credentials", cc, "", "", false},
		{"wrong secret", cc, "a", changeLast(a.ClientSecret), true},
		{"another client's secret", cc, "a", b.ClientSecret, true},
		{"unknown client", cc, "nobody", a.ClientSecret, true},
		{"post: wrong secret", url.Values{"grant_type": {"client_credentials"}, "client_id": {"b"}, "client_secret": {a.ClientSecret}}, "", "", false},
		{"post: no secret", url.Values{"grant_type": {"client_credentials"}, "client_id": {"b"}}, "", "", false},
	}
	for _, c := range cases {
		r := postToken(t, s.URL, c.form, c.user, c.pass)
		if r.Status != http.StatusUnauthorized || r.Problem.Error != "invalid_client" {
			t.Errorf("%s: %d %+v, want 401 invalid_client", c.name, r.Status, r.Problem)
		}
		if got := r.Header.Get("WWW-Authenticate") != ""; got != c.basic {
			t.Errorf("%s: WWW-Authenticate present=%v, want %v", c.name, got, c.basic)
		}
		if strings.Contains(r.Problem.ErrorDescription, "lkcs_") {
			t.Errorf("%s: the error echoes a secret", c.name)
		}
	}
	if r := postToken(t, s.URL, url.Values{"grant_type": {"client_credentials"}, "client_id": {"b"}, "client_secret": {b.ClientSecret}}, "", ""); r.Status != http.StatusOK {
		t.Errorf("client_secret_post: %d %+v", r.Status, r.Problem)
	}
	// A disabled app authenticates no more.
	if r := s.doJSON(t, http.MethodPatch, "/v1/apps/a", s.Root, `{"disabled":true}`); r.Status != http.StatusOK {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}
	if r := postToken(t, s.URL, cc, "a", a.ClientSecret); r.Status != http.StatusUnauthorized {
		t.Errorf("disabled app: %d %+v", r.Status, r.Problem)
	}
}

// TestAS11_ScopeAndAudienceBounds: a client gets no scope it does not
// hold and no audience it did not register; narrowing its permissions
// narrows its next token.
func TestAS11_ScopeAndAudienceBounds(t *testing.T) {
	s := startServer(t, server.Config{})
	a := createClient(t, s, `{"id":"svc","permissions":["orders:read","orders:write"],"oauth":{"grant_types":["client_credentials"],"audiences":["https://one.example","https://two.example"]}}`)
	tok := func(form url.Values) tokenAnswer {
		form.Set("grant_type", "client_credentials")
		return postToken(t, s.URL, form, "svc", a.ClientSecret)
	}
	if r := tok(url.Values{"scope": {"admin"}}); r.Status != http.StatusBadRequest || r.Problem.Error != "invalid_scope" {
		t.Errorf("scope not held: %d %+v", r.Status, r.Problem)
	}
	if r := tok(url.Values{"audience": {"https://evil.example"}}); r.Status != http.StatusBadRequest || r.Problem.Error != "invalid_target" {
		t.Errorf("audience not registered: %d %+v", r.Status, r.Problem)
	}
	r := tok(url.Values{"audience": {"https://two.example"}})
	if r.Status != http.StatusOK {
		t.Fatalf("registered audience: %d %+v", r.Status, r.Problem)
	}
	if _, claims := verifyAccessToken(t, s.URL, r.Token["access_token"].(string)); claims["aud"] != "https://two.example" {
		t.Errorf("aud %v", claims["aud"])
	}
	if r := s.doJSON(t, http.MethodPatch, "/v1/apps/svc", s.Root, `{"permissions":["orders:read"]}`); r.Status != http.StatusOK {
		t.Fatal(r.Status)
	}
	if r := tok(url.Values{"scope": {"orders:write"}}); r.Problem.Error != "invalid_scope" {
		t.Errorf("a removed permission is still granted: %d %v", r.Status, r.Token)
	}
	if r := tok(url.Values{}); r.Token["scope"] != "orders:read" {
		t.Errorf("default scope after narrowing: %v", r.Token["scope"])
	}
}

// TestAS13_UnsupportedGrants: password and implicit are refused at the
// token endpoint too, and a client gets only the grants it registered.
func TestAS13_UnsupportedGrants(t *testing.T) {
	s := startServer(t, server.Config{})
	a := createClient(t, s, `{"id":"svc","oauth":{"grant_types":["client_credentials"]}}`)
	for grant, want := range map[string]string{"password": "unsupported_grant_type", "implicit": "unsupported_grant_type",
		"urn:example:magic": "unsupported_grant_type", "": "invalid_request"} {
		r := postToken(t, s.URL, url.Values{"grant_type": {grant}, "username": {"u"}, "password": {"p"}}, "svc", a.ClientSecret)
		if r.Status != http.StatusBadRequest || r.Problem.Error != want {
			t.Errorf("grant %q: %d %+v, want %s", grant, r.Status, r.Problem, want)
		}
	}
	if r := s.doJSON(t, http.MethodPost, "/v1/apps", s.Root, `{"id":"old","oauth":{"grant_types":["password"]}}`); r.Status < 400 || r.Status >= 500 ||
		!strings.Contains(string(r.Body), "invalid_client_metadata") {
		t.Errorf("registering the password grant: %d %s", r.Status, r.Body)
	}
	// Parameters in the URL, a JSON body, a repeated parameter: invalid_request.
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/oauth2/token?grant_type=client_credentials", strings.NewReader(""))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("svc", a.ClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("parameters in the query: %d", resp.StatusCode)
	}
	if r := postToken(t, s.URL, url.Values{"grant_type": {"client_credentials", "client_credentials"}}, "svc", a.ClientSecret); r.Problem.Error != "invalid_request" {
		t.Errorf("repeated grant_type: %+v", r.Problem)
	}
}

// TestOAuthSecretRotation: with a grace period both secrets work until it
// ends; without one the old secret stops at once.
func TestOAuthSecretRotation(t *testing.T) {
	s := startServer(t, server.Config{})
	a := createClient(t, s, `{"id":"svc","oauth":{"grant_types":["client_credentials"]}}`)
	cc := url.Values{"grant_type": {"client_credentials"}}
	rot := func(body string) api.ClientSecret {
		r := s.doJSON(t, http.MethodPost, "/v1/apps/svc/secret", s.Root, body)
		if r.Status != http.StatusCreated {
			t.Fatalf("rotate: %d %s", r.Status, r.Body)
		}
		var cs api.ClientSecret
		json.Unmarshal(r.Body, &cs)
		return cs
	}
	second := rot(`{"grace_period":"1h"}`)
	if second.PreviousValidUntil == nil || second.ClientSecret == a.ClientSecret {
		t.Fatalf("rotation answer %+v", second)
	}
	for name, secret := range map[string]string{"old": a.ClientSecret, "new": second.ClientSecret} {
		if r := postToken(t, s.URL, cc, "svc", secret); r.Status != http.StatusOK {
			t.Errorf("%s secret during the grace period: %d %+v", name, r.Status, r.Problem)
		}
	}
	third := rot(`{}`)
	for name, secret := range map[string]string{"first": a.ClientSecret, "second": second.ClientSecret} {
		if r := postToken(t, s.URL, cc, "svc", secret); r.Status != http.StatusUnauthorized {
			t.Errorf("%s secret after a rotation without grace: %d", name, r.Status)
		}
	}
	if r := postToken(t, s.URL, cc, "svc", third.ClientSecret); r.Status != http.StatusOK {
		t.Errorf("newest secret: %d %+v", r.Status, r.Problem)
	}
	if r := s.doJSON(t, http.MethodPost, "/v1/apps/nosuch/secret", s.Root, `{}`); r.Status != http.StatusNotFound {
		t.Errorf("rotate for a missing app: %d", r.Status)
	}
	plain := s.doJSON(t, http.MethodPost, "/v1/apps", s.Root, `{"id":"plain"}`)
	if plain.Status != http.StatusCreated {
		t.Fatal(plain.Status)
	}
	if r := s.doJSON(t, http.MethodPost, "/v1/apps/plain/secret", s.Root, `{}`); r.Status != http.StatusNotFound || !strings.Contains(string(r.Body), "client_not_found") {
		t.Errorf("rotate for an app without OAuth: %d %s", r.Status, r.Body)
	}
	// An existing app becomes a client through PATCH; the answer has its secret once.
	r := s.doJSON(t, http.MethodPatch, "/v1/apps/plain", s.Root, `{"oauth":{"grant_types":["client_credentials"]}}`)
	var p api.Principal
	if json.Unmarshal(r.Body, &p); r.Status != http.StatusOK || !strings.HasPrefix(p.ClientSecret, "lkcs_") {
		t.Fatalf("PATCH oauth onto an app: %d %s", r.Status, r.Body)
	}
	if r := postToken(t, s.URL, cc, "plain", p.ClientSecret); r.Status != http.StatusOK {
		t.Errorf("token for the patched app: %d %+v", r.Status, r.Problem)
	}
}

// TestOAuthTokenThroughGateway: the in-process gateway admits an OAuth
// client_credentials token for its audience with the app's current
// permissions, and refuses it the moment the app is narrowed or disabled.
func TestOAuthTokenThroughGateway(t *testing.T) {
	up := newUpstream(t)
	s, gw := startGatewayServer(t, up, server.Config{})
	app := createClient(t, s, `{"id":"reporter","permissions":["orders:read","orders:write"],"oauth":{"grant_types":["client_credentials"],"audiences":["default"]}}`)
	a := postToken(t, s.URL, url.Values{"grant_type": {"client_credentials"}}, "reporter", app.ClientSecret)
	if a.Status != http.StatusOK {
		t.Fatalf("token: %d %+v", a.Status, a.Problem)
	}
	jwt := a.Token["access_token"].(string)
	if resp := gatewayGet(t, gw+"/orders/1", jwt); resp.StatusCode != http.StatusOK {
		t.Fatalf("gateway with the OAuth token: %d", resp.StatusCode)
	}
	if got := up.last(t).header.Get("X-Latchkey-Principal"); got != "app:reporter" {
		t.Errorf("upstream saw principal %q", got)
	}
	if r := s.doJSON(t, http.MethodPatch, "/v1/apps/reporter", s.Root, `{"permissions":["orders:write"]}`); r.Status != http.StatusOK {
		t.Fatal(r.Status)
	}
	if resp := gatewayGet(t, gw+"/orders/1", jwt); resp.StatusCode != http.StatusForbidden {
		t.Errorf("after orders:read was taken from the app: %d, want 403", resp.StatusCode)
	}
	if r := s.doJSON(t, http.MethodPatch, "/v1/apps/reporter", s.Root, `{"permissions":["orders:read"],"disabled":true}`); r.Status != http.StatusOK {
		t.Fatal(r.Status)
	}
	if resp := gatewayGet(t, gw+"/orders/1", jwt); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("after the app was disabled: %d, want 401", resp.StatusCode)
	}
}

func introspect(t *testing.T, base, token, user, pass string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/oauth2/introspect", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// TestIR_Introspection: only an authenticated client introspects (IR-01);
// anything not active, or not for one of its audiences, is
// {"active":false} and nothing else (IR-02, IR-03); GET is refused
// (IR-04); a live token shows its current scope.
func TestIR_Introspection(t *testing.T) {
	s := startServer(t, server.Config{})
	rs := createClient(t, s, `{"id":"orders-api","oauth":{"grant_types":["client_credentials"],"audiences":["https://orders.example","default"]}}`)
	other := createClient(t, s, `{"id":"billing-api","oauth":{"grant_types":["client_credentials"],"audiences":["https://billing.example"]}}`)
	job := createClient(t, s, `{"id":"job","permissions":["orders:read","orders:write"],"oauth":{"grant_types":["client_credentials"],"audiences":["https://orders.example"]}}`)
	a := postToken(t, s.URL, url.Values{"grant_type": {"client_credentials"}}, "job", job.ClientSecret)
	jwt := a.Token["access_token"].(string)

	// IR-01: no or wrong client credentials: 401 invalid_client, not active:false.
	t.Run("IR01_NoOrWrongCredentials", func(t *testing.T) {
		for name, creds := range map[string][2]string{"none": {"", ""}, "wrong": {"orders-api", other.ClientSecret}} {
			status, m := introspect(t, s.URL, jwt, creds[0], creds[1])
			if status != http.StatusUnauthorized || m["error"] != "invalid_client" {
				t.Errorf("IR-01 %s credentials: %d %v", name, status, m)
			}
		}
	})
	status, m := introspect(t, s.URL, jwt, "orders-api", rs.ClientSecret)
	if status != http.StatusOK || m["active"] != true || m["sub"] != "app:job" || m["client_id"] != "job" ||
		m["scope"] != "orders:read orders:write" || m["token_type"] != "Bearer" {
		t.Fatalf("active token: %d %v", status, m)
	}
	// IR-03: a resource server of another audience learns nothing.
	t.Run("IR03_OtherAudienceLearnsNothing", func(t *testing.T) {
		if status, m := introspect(t, s.URL, jwt, "billing-api", other.ClientSecret); status != http.StatusOK || len(m) != 1 || m["active"] != false {
			t.Errorf("IR-03 other audience: %d %v", status, m)
		}
	})
	// An API key of keyspace "default", for a caller with audience "default".
	key, err := s.client(t, s.Root).CreateKey(t.Context(), api.CreateKeyRequest{Scopes: []string{"orders:read"}})
	if err != nil {
		t.Fatal(err)
	}
	if status, m := introspect(t, s.URL, key.Secret, "orders-api", rs.ClientSecret); status != http.StatusOK || m["active"] != true ||
		m["key_id"] != key.ID || m["scope"] != "orders:read" {
		t.Errorf("API key: %d %v", status, m)
	}
	if _, m := introspect(t, s.URL, key.Secret, "billing-api", other.ClientSecret); len(m) != 1 || m["active"] != false {
		t.Errorf("API key for another audience: %v", m)
	}
	// IR-02: unknown, malformed, tampered, revoked: {"active":false} only.
	tampered := jwt[:len(jwt)-2] + "AA"
	if jwt[len(jwt)-2:] == "AA" {
		tampered = jwt[:len(jwt)-2] + "BB"
	}
	t.Run("IR02_UnknownMalformedTampered", func(t *testing.T) {
		for name, tok := range map[string]string{"garbage": "not a token", "unknown key": "acme_live_" + strings.Repeat("a", 49),
			"tampered JWT": tampered, "three dots": "a.b.c"} {
			if status, m := introspect(t, s.URL, tok, "orders-api", rs.ClientSecret); status != http.StatusOK || len(m) != 1 || m["active"] != false {
				t.Errorf("IR-02 %s: %d %v", name, status, m)
			}
		}
	})
	// Narrowing the app narrows what introspection reports; disabling it ends the token.
	if r := s.doJSON(t, http.MethodPatch, "/v1/apps/job", s.Root, `{"permissions":["orders:read"]}`); r.Status != http.StatusOK {
		t.Fatal(r.Status)
	}
	if _, m := introspect(t, s.URL, jwt, "orders-api", rs.ClientSecret); m["scope"] != "orders:read" {
		t.Errorf("after narrowing: %v", m)
	}
	if r := s.doJSON(t, http.MethodPost, "/v1/keys/"+key.ID+"/revoke", s.Root, `{"reason":"test"}`); r.Status != http.StatusOK {
		t.Fatal(r.Status, string(r.Body))
	}
	if r := s.doJSON(t, http.MethodPatch, "/v1/apps/job", s.Root, `{"disabled":true}`); r.Status != http.StatusOK {
		t.Fatal(r.Status)
	}
	t.Run("IR02_DisabledAppAndRevokedKey", func(t *testing.T) {
		for name, tok := range map[string]string{"token of a disabled app": jwt, "revoked key": key.Secret} {
			if _, m := introspect(t, s.URL, tok, "orders-api", rs.ClientSecret); len(m) != 1 || m["active"] != false {
				t.Errorf("IR-02 %s: %v", name, m)
			}
		}
	})
	// IR-04: GET is refused, and the token it carried is in no log line.
	t.Run("IR04_GETRefused", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/oauth2/introspect?token="+url.QueryEscape(jwt)+"&key="+url.QueryEscape(key.Secret), nil)
		req.SetBasicAuth("orders-api", rs.ClientSecret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("IR-04 GET: %d, want 405", resp.StatusCode)
		}
		logs := s.Logs.String() // every line the server wrote, at debug level
		for name, secret := range map[string]string{"JWT": jwt[len(jwt)-20:], "API key": key.Secret[len(key.Secret)-20:], "client secret": rs.ClientSecret[len(rs.ClientSecret)-20:]} {
			if strings.Contains(logs, secret) {
				t.Errorf("IR-04: the %s appears in the log", name)
			}
		}
	})
}

// TestIR10_FailedClientAuthThrottled: an address that keeps failing
// client authentication gets 429, while a valid client still passes.
func TestIR10_FailedClientAuthThrottled(t *testing.T) {
	s := startServer(t, server.Config{})
	rs := createClient(t, s, `{"id":"rs","oauth":{"grant_types":["client_credentials"],"audiences":["default"]}}`)
	var last int
	for range 30 {
		last, _ = introspect(t, s.URL, "x", "rs", "lkcs_wrong")
		if last == http.StatusTooManyRequests {
			break
		}
	}
	if last != http.StatusTooManyRequests {
		t.Fatalf("30 failed client authentications: last status %d, want 429", last)
	}
	if status, _ := introspect(t, s.URL, "x", "rs", rs.ClientSecret); status != http.StatusOK {
		t.Errorf("a valid client from the throttled address: %d", status)
	}
}

func revokeToken(t *testing.T, base, token, user, pass string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/oauth2/revoke", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(user, pass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// TestOAuthOpaqueTokensAndRevocation: an opaque access token is a
// checksummed lka_ token, introspected for its audience, revoked by its
// client (IR-05, IR-07) and then inactive everywhere.
func TestOAuthOpaqueTokensAndRevocation(t *testing.T) {
	s := startServer(t, server.Config{})
	rs := createClient(t, s, `{"id":"orders-api","oauth":{"grant_types":["client_credentials"],"audiences":["https://orders.example"]}}`)
	job := createClient(t, s, `{"id":"job","permissions":["orders:read"],"oauth":{"grant_types":["client_credentials"],"audiences":["https://orders.example"],"access_token_format":"opaque"}}`)
	other := createClient(t, s, `{"id":"other","oauth":{"grant_types":["client_credentials"]}}`)
	a := postToken(t, s.URL, url.Values{"grant_type": {"client_credentials"}}, "job", job.ClientSecret)
	if a.Status != http.StatusOK {
		t.Fatalf("token: %d %+v", a.Status, a.Problem)
	}
	opaque := a.Token["access_token"].(string)
	if !strings.HasPrefix(opaque, "lka_") || strings.Count(opaque, ".") != 0 {
		t.Fatalf("opaque token %.8s…", opaque)
	}
	status, m := introspect(t, s.URL, opaque, "orders-api", rs.ClientSecret)
	if status != http.StatusOK || m["active"] != true || m["client_id"] != "job" || m["sub"] != "app:job" || m["scope"] != "orders:read" {
		t.Fatalf("introspect opaque: %d %v", status, m)
	}
	// IR-07: another client cannot revoke it, and it stays active.
	t.Run("IR07_AnotherClientCannotRevoke", func(t *testing.T) {
		if status, m := revokeToken(t, s.URL, opaque, "other", other.ClientSecret); status != http.StatusBadRequest || m["error"] != "unauthorized_client" {
			t.Errorf("IR-07 revoke by another client: %d %v", status, m)
		}
		if _, m := introspect(t, s.URL, opaque, "orders-api", rs.ClientSecret); m["active"] != true {
			t.Fatal("the token died when another client tried to revoke it")
		}
	})
	// IR-05: garbage, unknown and (later) already revoked tokens: 200.
	t.Run("IR05_UnknownAndGarbage", func(t *testing.T) {
		for _, tok := range []string{"garbage", "lka_" + strings.Repeat("z", 49), "a.b.c"} {
			if status, _ := revokeToken(t, s.URL, tok, "job", job.ClientSecret); status != http.StatusOK {
				t.Errorf("IR-05 revoke %q: %d", tok, status)
			}
		}
	})
	if status, _ := revokeToken(t, s.URL, opaque, "job", job.ClientSecret); status != http.StatusOK {
		t.Fatalf("revoke by its client: %d", status)
	}
	if _, m := introspect(t, s.URL, opaque, "orders-api", rs.ClientSecret); len(m) != 1 || m["active"] != false {
		t.Errorf("revoked token introspects as %v", m)
	}
	t.Run("IR05_AlreadyRevoked", func(t *testing.T) {
		if status, _ := revokeToken(t, s.URL, opaque, "job", job.ClientSecret); status != http.StatusOK {
			t.Errorf("IR-05 revoking again: %d", status)
		}
	})
	// A JWT access token cannot be revoked one by one.
	jc := createClient(t, s, `{"id":"jwtjob","oauth":{"grant_types":["client_credentials"]}}`)
	jwt := postToken(t, s.URL, url.Values{"grant_type": {"client_credentials"}}, "jwtjob", jc.ClientSecret).Token["access_token"].(string)
	if status, m := revokeToken(t, s.URL, jwt, "jwtjob", jc.ClientSecret); status != http.StatusBadRequest || m["error"] != "unsupported_token_type" {
		t.Errorf("revoke a JWT: %d %v", status, m)
	}
	// Disabling the app ends its opaque tokens at once.
	b := postToken(t, s.URL, url.Values{"grant_type": {"client_credentials"}}, "job", job.ClientSecret).Token["access_token"].(string)
	if r := s.doJSON(t, http.MethodPatch, "/v1/apps/job", s.Root, `{"disabled":true}`); r.Status != http.StatusOK {
		t.Fatal(r.Status)
	}
	if _, m := introspect(t, s.URL, b, "orders-api", rs.ClientSecret); m["active"] != false {
		t.Errorf("token of a disabled app: %v", m)
	}
	var meta api.AuthorizationServerMetadata
	r := s.doJSON(t, http.MethodGet, "/.well-known/oauth-authorization-server", "", "")
	if json.Unmarshal(r.Body, &meta); meta.RevocationEndpoint != s.URL+"/oauth2/revoke" || meta.IntrospectionEndpoint != s.URL+"/oauth2/introspect" {
		t.Errorf("metadata: %s", r.Body)
	}
}
