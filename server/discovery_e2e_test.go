package server_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/server"
)

// discoveryMembers are the members latchkey's discovery document may
// have. A new one fails this test until the test exercises it below:
// discovery must advertise only what is implemented.
var discoveryMembers = []string{
	"issuer", "jwks_uri", "authorization_endpoint", "token_endpoint", "userinfo_endpoint", "end_session_endpoint",
	"pushed_authorization_request_endpoint", "require_pushed_authorization_requests", "introspection_endpoint",
	"revocation_endpoint", "latchkey_token_exchange_endpoint", "latchkey_revocation_feed_endpoint",
	"response_types_supported", "response_modes_supported", "grant_types_supported", "code_challenge_methods_supported",
	"authorization_response_iss_parameter_supported", "token_endpoint_auth_methods_supported",
	"token_endpoint_auth_signing_alg_values_supported", "introspection_endpoint_auth_methods_supported",
	"introspection_endpoint_auth_signing_alg_values_supported", "revocation_endpoint_auth_methods_supported",
	"revocation_endpoint_auth_signing_alg_values_supported", "scopes_supported", "subject_types_supported",
	"id_token_signing_alg_values_supported", "claims_supported", "acr_values_supported",
	"backchannel_logout_supported", "backchannel_logout_session_supported",
}

// strs reads a discovery member that is a list of strings.
func strs(t *testing.T, md map[string]any, name string) []string {
	t.Helper()
	raw, ok := md[name].([]any)
	if !ok || len(raw) == 0 {
		t.Fatalf("discovery %s: %v, want a non-empty list", name, md[name])
	}
	out := make([]string, len(raw))
	for i, v := range raw {
		out[i], _ = v.(string)
	}
	return out
}

// TestOIDC_DiscoveryAdvertisesOnlyWhatIsImplemented reads the discovery
// document and tries every value it names: each endpoint answers, each
// grant type, response type, client authentication method, scope, ACR
// value and subject type is taken, the claims of a user with a full
// profile are exactly claims_supported, and what is not listed (implicit,
// password, PKCE plain) is refused.
func TestOIDC_DiscoveryAdvertisesOnlyWhatIsImplemented(t *testing.T) {
	s := startServer(t, server.Config{})
	newUser(t, s, "alice", alicePassword, "orders:read")
	if r := s.doJSON(t, http.MethodPatch, "/v1/users/alice", s.Root,
		`{"name":"Alice Smith","email":"alice@example.com","email_verified":true,"preferred_username":"alice","groups":["staff"]}`); r.Status != http.StatusOK {
		t.Fatalf("profile: %d %s", r.Status, r.Body)
	}
	get := func(path string) map[string]any {
		r := s.doJSON(t, http.MethodGet, path, "", "")
		if r.Status != http.StatusOK {
			t.Fatalf("%s: %d", path, r.Status)
		}
		return decodeMap(t, r.Body)
	}
	md := get("/.well-known/openid-configuration")
	if a, b := s.doJSON(t, http.MethodGet, "/.well-known/openid-configuration", "", ""), s.doJSON(t, http.MethodGet, "/.well-known/oauth-authorization-server", "", ""); !jsonEqual(a.Body, b.Body) {
		t.Errorf("the two discovery documents differ:\n%s\n%s", a.Body, b.Body)
	}
	for k := range md {
		if !slices.Contains(discoveryMembers, k) {
			t.Errorf("discovery member %q is not exercised by this test", k)
		}
	}
	if md["issuer"] != s.URL {
		t.Errorf("issuer %v, want %s", md["issuer"], s.URL)
	}

	t.Run("endpoints answer", func(t *testing.T) {
		for name, method := range map[string]string{"jwks_uri": "GET", "authorization_endpoint": "GET", "token_endpoint": "POST",
			"userinfo_endpoint": "GET", "end_session_endpoint": "GET", "pushed_authorization_request_endpoint": "POST",
			"introspection_endpoint": "POST", "revocation_endpoint": "POST", "latchkey_token_exchange_endpoint": "POST",
			"latchkey_revocation_feed_endpoint": "GET"} {
			u, _ := md[name].(string)
			if !strings.HasPrefix(u, s.URL+"/") {
				t.Errorf("%s: %q is not under the issuer", name, u)
				continue
			}
			req, _ := http.NewRequest(method, u, nil)
			if method == "POST" {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			resp, err := noRedirects.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed || resp.StatusCode >= 500 {
				t.Errorf("%s %s (%s): %d", method, u, name, resp.StatusCode)
			}
		}
	})

	grants := strs(t, md, "grant_types_supported")
	all := createClient(t, s, `{"id":"all","permissions":["orders:read"],"oauth":{"grant_types":`+jsonList(grants)+
		`,"redirect_uris":["https://all.example/cb"],"skip_consent":true,"audiences":["default"]}}`)
	t.Run("grant types", func(t *testing.T) {
		for _, g := range grants {
			r := postToken(t, s.URL, url.Values{"grant_type": {g}}, "all", all.ClientSecret)
			if r.Problem.Error == "unsupported_grant_type" || r.Status >= 500 {
				t.Errorf("advertised grant %s: %d %+v", g, r.Status, r.Problem)
			}
		}
		for _, g := range []string{"password", "implicit", "urn:ietf:params:oauth:grant-type:device_code", "urn:ietf:params:oauth:grant-type:jwt-bearer"} {
			if slices.Contains(grants, g) {
				t.Errorf("grant %s is advertised", g)
			}
			if r := postToken(t, s.URL, url.Values{"grant_type": {g}}, "all", all.ClientSecret); r.Problem.Error != "unsupported_grant_type" {
				t.Errorf("grant %s not advertised but: %d %+v", g, r.Status, r.Problem)
			}
		}
	})

	t.Run("client authentication methods", func(t *testing.T) {
		bodies := map[string]string{
			"client_secret_basic": `{"grant_types":["client_credentials"],"token_endpoint_auth_method":"client_secret_basic"}`,
			"client_secret_post":  `{"grant_types":["client_credentials"],"token_endpoint_auth_method":"client_secret_post"}`,
			"private_key_jwt": `{"grant_types":["client_credentials"],"token_endpoint_auth_method":"private_key_jwt","jwks":{"keys":[` +
				`{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"k1"}]}}`,
			"none": `{"redirect_uris":["https://native.example/cb"],"token_endpoint_auth_method":"none"}`,
		}
		for _, m := range strs(t, md, "token_endpoint_auth_methods_supported") {
			body, ok := bodies[m]
			if !ok {
				t.Errorf("advertised method %s is not exercised here", m)
				continue
			}
			id := strings.ReplaceAll(m, "_", "-")
			if r := s.doJSON(t, http.MethodPost, "/v1/apps", s.Root, `{"id":"`+id+`","oauth":`+body+`}`); r.Status != http.StatusCreated {
				t.Errorf("app with %s: %d %s", m, r.Status, r.Body)
			}
		}
		for _, list := range []string{"introspection_endpoint_auth_methods_supported", "revocation_endpoint_auth_methods_supported"} {
			for _, m := range strs(t, md, list) {
				if !slices.Contains(strs(t, md, "token_endpoint_auth_methods_supported"), m) {
					t.Errorf("%s names %s, which the token endpoint does not take", list, m)
				}
			}
		}
	})

	b := newBrowser(t, s.URL, nil)
	b.mustLogin("alice", alicePassword)
	authz := func(more url.Values) url.Values {
		verifier, challenge := pkce(t)
		q := url.Values{"response_type": {"code"}, "client_id": {"all"}, "redirect_uri": {"https://all.example/cb"}, "state": {"s"},
			"nonce": {"n"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
		for k, v := range more {
			q[k] = v
		}
		back := authorize(t, b, q)
		back.Set("verifier", verifier)
		return back
	}
	t.Run("response types and PKCE", func(t *testing.T) {
		if got := strs(t, md, "response_types_supported"); !slices.Equal(got, []string{"code"}) {
			t.Errorf("response types %v", got)
		}
		if got := strs(t, md, "response_modes_supported"); !slices.Equal(got, []string{"query"}) {
			t.Errorf("response modes %v", got)
		}
		if back := authz(url.Values{"scope": {"openid"}}); back.Get("code") == "" || back.Get("iss") != s.URL {
			t.Errorf("code flow: %v", back)
		}
		for _, rt := range []string{"token", "id_token", "code id_token"} {
			if back := authz(url.Values{"response_type": {rt}, "scope": {"openid"}}); back.Get("error") != "unsupported_response_type" {
				t.Errorf("response_type %s: %v", rt, back)
			}
		}
		if got := strs(t, md, "code_challenge_methods_supported"); !slices.Equal(got, []string{"S256"}) {
			t.Errorf("PKCE methods %v", got)
		}
		if back := authz(url.Values{"scope": {"openid"}, "code_challenge_method": {"plain"}}); back.Get("error") != "invalid_request" {
			t.Errorf("PKCE plain: %v", back)
		}
	})

	t.Run("scopes, claims, subject and ACR", func(t *testing.T) {
		scopes := strs(t, md, "scopes_supported")
		back := authz(url.Values{"scope": {strings.Join(scopes, " ")}})
		tk := postToken(t, s.URL, url.Values{"grant_type": {"authorization_code"}, "code": {back.Get("code")},
			"redirect_uri": {"https://all.example/cb"}, "code_verifier": {back.Get("verifier")}}, "all", all.ClientSecret)
		if tk.Status != http.StatusOK {
			t.Fatalf("token: %d %+v", tk.Status, tk.Problem)
		}
		for _, sc := range scopes {
			if !slices.Contains(strings.Fields(tk.Token["scope"].(string)), sc) {
				t.Errorf("advertised scope %s was not granted: %v", sc, tk.Token["scope"])
			}
		}
		if tk.Token["refresh_token"] == nil {
			t.Error("offline_access gave no refresh token")
		}
		_, idc := idTokenClaims(t, s.URL, tk.Token["id_token"].(string))
		req, _ := http.NewRequest("GET", s.URL+"/oauth2/userinfo", nil)
		req.Header.Set("Authorization", "Bearer "+tk.Token["access_token"].(string))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var ui map[string]any
		json.NewDecoder(resp.Body).Decode(&ui) //nolint:errcheck // checked below
		resp.Body.Close()
		seen := map[string]bool{}
		for k := range idc {
			seen[k] = true
		}
		for k := range ui {
			seen[k] = true
		}
		claims := strs(t, md, "claims_supported")
		for _, c := range claims {
			if !seen[c] {
				t.Errorf("claim %s is advertised, but neither the ID token nor userinfo carries it", c)
			}
			delete(seen, c)
		}
		for c := range seen {
			t.Errorf("claim %s is issued but not in claims_supported", c)
		}
		if idc["sub"] != "alice" {
			t.Errorf("a public app's sub %v", idc["sub"])
		}
		for _, st := range strs(t, md, "subject_types_supported") {
			if r := s.doJSON(t, http.MethodPost, "/v1/apps", s.Root, `{"id":"st-`+st+`","oauth":{"subject_type":"`+st+
				`","redirect_uris":["https://st.example/cb"]}}`); r.Status != http.StatusCreated {
				t.Errorf("app with subject type %s: %d %s", st, r.Status, r.Body)
			}
		}
		if r := s.doJSON(t, http.MethodPost, "/v1/apps", s.Root, `{"id":"st-other","oauth":{"subject_type":"other","redirect_uris":["https://st.example/cb"]}}`); r.Status/100 != 4 {
			t.Errorf("an unknown subject type: %d", r.Status)
		}
		if algs := strs(t, md, "id_token_signing_alg_values_supported"); !slices.Contains(algs, idTokenAlg(t, tk.Token["id_token"].(string))) {
			t.Errorf("the ID token's alg is not in %v", algs)
		}
		for _, acr := range strs(t, md, "acr_values_supported") {
			// alice's session has one factor: 1fa is met (a code), mfa
			// sends her to sign in again with a second one.
			_, challenge := pkce(t)
			r := b.get("/oauth2/authorize?" + url.Values{"response_type": {"code"}, "client_id": {"all"}, "scope": {"openid"},
				"redirect_uri": {"https://all.example/cb"}, "state": {"s"}, "acr_values": {acr},
				"code_challenge": {challenge}, "code_challenge_method": {"S256"}}.Encode())
			loc, _ := url.Parse(r.Header.Get("Location"))
			if r.Status != http.StatusSeeOther || (loc.Query().Get("code") == "" && !strings.HasPrefix(loc.String(), "/login?")) {
				t.Errorf("acr_values %s: %d %s", acr, r.Status, loc)
			}
		}
	})

	t.Run("signing algorithms", func(t *testing.T) {
		for _, alg := range strs(t, md, "id_token_signing_alg_values_supported") {
			other := startServer(t, server.Config{SigningAlg: alg})
			resp, err := http.Get(other.URL + "/.well-known/jwks.json")
			if err != nil {
				t.Fatal(err)
			}
			var set struct {
				Keys []struct {
					Alg string `json:"alg"`
				} `json:"keys"`
			}
			json.NewDecoder(resp.Body).Decode(&set) //nolint:errcheck // checked below
			resp.Body.Close()
			if len(set.Keys) == 0 || set.Keys[0].Alg != alg {
				t.Errorf("a server configured for %s publishes %+v", alg, set.Keys)
			}
		}
	})
}

// noRedirects is an HTTP client that hands back redirects.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// jsonList renders a list of strings as JSON.
func jsonList(l []string) string {
	b, _ := json.Marshal(l)
	return string(b)
}

// idTokenAlg returns the alg of a JWS's protected header.
func idTokenAlg(t *testing.T, tok string) string {
	t.Helper()
	var h struct {
		Alg string `json:"alg"`
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.SplitN(tok, ".", 2)[0])
	if err != nil || json.Unmarshal(raw, &h) != nil {
		t.Fatalf("JWS header of %.20s…", tok)
	}
	return h.Alg
}
