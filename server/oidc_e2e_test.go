package server_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/latchkey/latchkey/server"
)

// idTokenClaims verifies an ID token against the JWKS with go-jose and
// returns its typ and claims.
func idTokenClaims(t *testing.T, base, tok string) (string, map[string]any) {
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
	jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.EdDSA, jose.ES256, jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	keys := set.Key(jws.Signatures[0].Header.KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %q not in the JWKS", jws.Signatures[0].Header.KeyID)
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		t.Fatalf("ID token signature: %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	typ, _ := jws.Signatures[0].Header.ExtraHeaders["typ"].(string)
	return typ, claims
}

// TestOIDC_IDTokenAndUserinfo: scope openid gives an ID token (typ JWT,
// sub the user, aud the client, nonce, auth_time, amr, sid, at_hash) and
// the access token reads userinfo; the ID token is never an access token
// (JWT-14).
func TestOIDC_IDTokenAndUserinfo(t *testing.T) {
	up := newUpstream(t)
	s, gw := startGatewayServer(t, up, server.Config{})
	newUser(t, s, "alice", alicePassword, "orders:read")
	if r := s.doJSON(t, http.MethodPatch, "/v1/users/alice", s.Root, `{"name":"Alice Smith","email":"alice@example.com","email_verified":true,"preferred_username":"alice"}`); r.Status != http.StatusOK {
		t.Fatalf("profile: %d %s", r.Status, r.Body)
	}
	web := createClient(t, s, `{"id":"web","permissions":["orders:read"],"oauth":{"redirect_uris":["https://web.example/cb"],"audiences":["default"]}}`)
	rs := createClient(t, s, `{"id":"orders-api","oauth":{"grant_types":["client_credentials"],"audiences":["default"]}}`)
	b := newBrowser(t, s.URL, nil)
	b.mustLogin("alice", alicePassword)
	verifier, challenge := pkce(t)
	back := authorize(t, b, url.Values{"response_type": {"code"}, "client_id": {"web"}, "redirect_uri": {"https://web.example/cb"},
		"scope": {"openid profile email orders:read"}, "nonce": {"n-0S6_WzA2Mj"}, "state": {"s"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}})
	a := postToken(t, s.URL, url.Values{"grant_type": {"authorization_code"}, "code": {back.Get("code")},
		"redirect_uri": {"https://web.example/cb"}, "code_verifier": {verifier}}, "web", web.ClientSecret)
	if a.Status != http.StatusOK || a.Token["id_token"] == nil {
		t.Fatalf("token: %d %v %v", a.Status, a.Token["scope"], a.Problem)
	}
	idt, at := a.Token["id_token"].(string), a.Token["access_token"].(string)
	typ, c := idTokenClaims(t, s.URL, idt)
	if typ != "JWT" || c["iss"] != s.URL || c["sub"] != "alice" || c["aud"] != "web" || c["azp"] != "web" ||
		c["nonce"] != "n-0S6_WzA2Mj" || c["auth_time"] == nil || c["sid"] == nil || c["name"] != "Alice Smith" ||
		c["email"] != "alice@example.com" || c["email_verified"] != true {
		t.Fatalf("ID token: %s %v", typ, c)
	}
	if amr, _ := c["amr"].([]any); len(amr) != 1 || amr[0] != "pwd" {
		t.Errorf("amr: %v", c["amr"])
	}
	if h, _ := c["at_hash"].(string); h == "" || len(h) != base64.RawURLEncoding.EncodedLen(32) {
		t.Errorf("at_hash: %v", c["at_hash"])
	}
	// userinfo, GET and POST.
	for _, m := range []string{"GET", "POST"} {
		req, _ := http.NewRequest(m, s.URL+"/oauth2/userinfo", nil)
		req.Header.Set("Authorization", "Bearer "+at)
		if m == "POST" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var u map[string]any
		json.NewDecoder(resp.Body).Decode(&u) //nolint:errcheck // checked below
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || u["sub"] != "alice" || u["email"] != "alice@example.com" || u["preferred_username"] != "alice" {
			t.Errorf("userinfo %s: %d %v", m, resp.StatusCode, u)
		}
	}
	// JWT-14: the ID token is no access token anywhere (userinfo, the
	// gateway, introspection, the verify API), though our ring signed it.
	t.Run("JWT14_IDTokenIsNoAccessToken", func(t *testing.T) {
		req, _ := http.NewRequest("GET", s.URL+"/oauth2/userinfo", nil)
		req.Header.Set("Authorization", "Bearer "+idt)
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "invalid_token") {
			t.Errorf("userinfo with the ID token: %v %v", resp.StatusCode, err)
		}
		if resp := gatewayGet(t, gw+"/orders/1", idt); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("JWT-14 gateway took the ID token: %d", resp.StatusCode)
		}
		if _, m := introspect(t, s.URL, idt, "orders-api", rs.ClientSecret); m["active"] != false {
			t.Errorf("JWT-14 introspection of the ID token: %v", m)
		}
		r := s.doJSON(t, http.MethodPost, "/v1/keys/verify", s.Root, `{"key":"`+idt+`"}`)
		if m := decodeMap(t, r.Body); m["valid"] != false {
			t.Errorf("JWT-14 verify API took the ID token: %v", m)
		}
	})
	// Discovery names what is there.
	md := decodeMap(t, s.doJSON(t, http.MethodGet, "/.well-known/openid-configuration", "", "").Body)
	if md["userinfo_endpoint"] != s.URL+"/oauth2/userinfo" || md["subject_types_supported"] == nil || md["id_token_signing_alg_values_supported"] == nil {
		t.Errorf("discovery: %v", md)
	}
	// A sign-in alone (openid) gets no permissions.
	verifier, challenge = pkce(t)
	back = authorize(t, b, url.Values{"response_type": {"code"}, "client_id": {"web"}, "redirect_uri": {"https://web.example/cb"},
		"scope": {"openid"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}})
	a = postToken(t, s.URL, url.Values{"grant_type": {"authorization_code"}, "code": {back.Get("code")},
		"redirect_uri": {"https://web.example/cb"}, "code_verifier": {verifier}}, "web", web.ClientSecret)
	if a.Status != http.StatusOK || a.Token["scope"] != "openid" || a.Token["id_token"] == nil {
		t.Errorf("openid alone: %d %v", a.Status, a.Token["scope"])
	}
}

// TestOIDC_ACRValuesMFA: acr_values asking for two factors sends a
// one-factor session to sign in again; when that sign-in still has one
// factor, the client gets unmet_authentication_requirements, never a code.
func TestOIDC_ACRValuesMFA(t *testing.T) {
	c := newCodeClient(t, server.Config{}, `{"redirect_uris":["https://web.example/cb"],"skip_consent":true}`)
	_, challenge := pkce(t)
	q := url.Values{"response_type": {"code"}, "client_id": {"web"}, "redirect_uri": {c.redirect}, "scope": {"openid"},
		"acr_values": {"urn:latchkey:acr:mfa"}, "state": {"s"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	authz := "/oauth2/authorize?" + q.Encode()
	r := c.b.get(authz)
	loc := r.Header.Get("Location")
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(loc, "/login?") {
		t.Fatalf("one-factor session: %d %q", r.Status, loc)
	}
	lu, _ := url.Parse(loc)
	c.b.get(loc)
	r = c.b.post("/login", url.Values{"username": {"alice"}, "password": {alicePassword}, "return_to": {lu.Query().Get("return_to")}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", r.Status)
	}
	r = c.b.get(r.Header.Get("Location"))
	back, _ := url.Parse(r.Header.Get("Location"))
	if !strings.HasPrefix(back.String(), c.redirect) || back.Query().Get("error") != "unmet_authentication_requirements" || back.Query().Get("code") != "" {
		t.Errorf("after a one-factor sign-in: %d %q", r.Status, back)
	}
}

// TestOIDC_MaxAge: max_age within the session's age signs in silently;
// max_age=0 forces a fresh sign-in, after which the ID token's auth_time
// is the new sign-in's; a malformed max_age is invalid_request.
func TestOIDC_MaxAge(t *testing.T) {
	s := startServer(t, server.Config{})
	requireCodeGrant(t, s)
	newUser(t, s, "alice", alicePassword, "orders:read")
	codeClient(t, s, "first", `"skip_consent":true`)
	b := newBrowser(t, s.URL, nil)
	openid := func(more url.Values) url.Values {
		more.Set("scope", "openid")
		return more
	}
	idToken := func(q url.Values, verifier string) map[string]any {
		t.Helper()
		a := redeem(t, s, "first", q.Get("code"), verifier)
		idt, _ := a.Token["id_token"].(string)
		if a.Status != http.StatusOK || idt == "" {
			t.Fatalf("redeem: %d %+v", a.Status, a.Problem)
		}
		_, c := idTokenClaims(t, s.URL, idt)
		return c
	}
	verifier, ch := pkcePair(t)
	first := idToken(back(t, s, signInThrough(t, b, authorizeURL("first", ch, openid(url.Values{})), "alice", alicePassword)), verifier)
	authTime, _ := first["auth_time"].(float64)
	if authTime == 0 {
		t.Fatalf("no auth_time: %v", first)
	}

	verifier, ch = pkcePair(t)
	r := b.get(authorizeURL("first", ch, openid(url.Values{"max_age": {"3600"}})))
	if c := idToken(back(t, s, r), verifier); c["auth_time"] != first["auth_time"] {
		t.Errorf("max_age=3600 within the session: auth_time %v, want %v", c["auth_time"], first["auth_time"])
	}

	time.Sleep(1100 * time.Millisecond) // auth_time has a resolution of one second
	verifier, ch = pkcePair(t)
	fresh := idToken(back(t, s, signInThrough(t, b, authorizeURL("first", ch, openid(url.Values{"max_age": {"0"}})), "alice", alicePassword)), verifier)
	if at, _ := fresh["auth_time"].(float64); at <= authTime {
		t.Errorf("max_age=0: auth_time %v, not after the first sign-in's %v", at, authTime)
	}

	for _, bad := range []string{"-1", "soon", "1e3"} {
		_, ch = pkcePair(t)
		if q := back(t, s, b.get(authorizeURL("first", ch, openid(url.Values{"max_age": {bad}})))); q.Get("error") != "invalid_request" || q.Get("code") != "" {
			t.Errorf("max_age=%s: %v", bad, q)
		}
	}
}
