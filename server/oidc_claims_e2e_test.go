package server_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/server"
	"github.com/latchkey/latchkey/signer"
)

// codeFlow runs the code flow of client id (redirect https://<id>.example/cb)
// with scope in browser b and returns the ID token, its claims and the
// access token.
func codeFlow(t *testing.T, base string, b *browser, id, secret, scope string) (string, map[string]any, string) {
	t.Helper()
	verifier, challenge := pkce(t)
	cb := "https://" + id + ".example/cb"
	back := authorize(t, b, url.Values{"response_type": {"code"}, "client_id": {id}, "redirect_uri": {cb},
		"scope": {scope}, "nonce": {"n-" + id}, "state": {"s"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}})
	tk := postToken(t, base, url.Values{"grant_type": {"authorization_code"}, "code": {back.Get("code")},
		"redirect_uri": {cb}, "code_verifier": {verifier}}, id, secret)
	idt, _ := tk.Token["id_token"].(string)
	at, _ := tk.Token["access_token"].(string)
	if tk.Status != http.StatusOK || idt == "" || at == "" {
		t.Fatalf("token of %s: %d %v", id, tk.Status, tk.Problem)
	}
	_, c := idTokenClaims(t, base, idt)
	return idt, c, at
}

// userinfo reads /oauth2/userinfo with access token at.
func userinfo(t *testing.T, base, at string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/oauth2/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+at)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var u map[string]any
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&u) != nil {
		t.Fatalf("userinfo: %d", resp.StatusCode)
	}
	return u
}

// jwtPayload decodes a JWT's claims without checking it.
func jwtPayload(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	return decodeMap(t, b)
}

// TestOIDC_PairwiseSubject: two pairwise apps on different hosts see
// different subs for one user — HMAC-SHA256 under a key derived from the
// master key of host "|" user ID — a public app the user ID; the sub is the
// same after a restart; userinfo agrees with the ID token; access tokens
// and introspection keep the real user; an id_token_hint with a pairwise
// sub ends the session at /oauth2/logout; the back-channel logout token
// carries the pairwise sub. Redirect URIs on two hosts are refused for a
// pairwise app (no sector_identifier_uri).
func TestOIDC_PairwiseSubject(t *testing.T) {
	dir := t.TempDir()
	cfg := server.Config{DataDir: dir, OAuth: server.OAuthConfig{OutboundAllowPrivate: true,
		BackchannelRetries: []time.Duration{0, 20 * time.Millisecond, 50 * time.Millisecond}}}
	s := startServer(t, cfg)
	newUser(t, s, "alice", alicePassword, "orders:read")
	shopBC, wikiBC := newBCReceiver(t, 0), newBCReceiver(t, 0)
	secrets := map[string]string{}
	for id, extra := range map[string]string{
		"shop": `,"subject_type":"pairwise","backchannel_logout_uri":"` + shopBC.url + `"`,
		"wiki": `,"subject_type":"pairwise","backchannel_logout_uri":"` + wikiBC.url + `"`,
		"pub":  ``,
	} {
		p := createClient(t, s, `{"id":"`+id+`","permissions":["orders:read"],"oauth":{"redirect_uris":["https://`+id+`.example/cb","https://`+id+`.example/cb2"],`+
			`"post_logout_redirect_uris":["https://`+id+`.example/bye"],"audiences":["default"]`+extra+`}}`)
		secrets[id] = p.ClientSecret
		if want := map[bool]string{true: "pairwise", false: "public"}[id != "pub"]; p.OAuth == nil || p.OAuth.SubjectType != want {
			t.Errorf("%s: subject_type %+v, want %s", id, p.OAuth, want)
		}
	}
	rs := createClient(t, s, `{"id":"orders-api","oauth":{"grant_types":["client_credentials"],"audiences":["default"]}}`)

	// The expected pairwise sub, from the master key in the data directory.
	b, err := os.ReadFile(filepath.Join(dir, server.MasterKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	mk, err := signer.ParseMasterKey(string(b))
	if err != nil {
		t.Fatal(err)
	}
	kdf := hmac.New(sha256.New, mk[:])
	kdf.Write([]byte("latchkey pairwise subjects v1"))
	want := func(host string) string {
		m := hmac.New(sha256.New, kdf.Sum(nil))
		m.Write([]byte(host + "|alice"))
		return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	}

	br := newBrowser(t, s.URL, nil)
	br.mustLogin("alice", alicePassword)
	subs := map[string]string{}
	var shopIDT string
	for _, id := range []string{"shop", "wiki", "pub"} {
		idt, c, at := codeFlow(t, s.URL, br, id, secrets[id], "openid orders:read")
		sub, _ := c["sub"].(string)
		subs[id] = sub
		if id == "shop" {
			shopIDT = idt
		}
		if u := userinfo(t, s.URL, at); u["sub"] != sub {
			t.Errorf("%s: userinfo sub %v, ID token sub %q", id, u["sub"], sub)
		}
		// The access token and introspection name the real user.
		if p := jwtPayload(t, at); p["sub"] != "user:alice" {
			t.Errorf("%s: access token sub %v, want user:alice", id, p["sub"])
		}
		if _, m := introspect(t, s.URL, at, "orders-api", rs.ClientSecret); m["active"] != true || m["sub"] != "user:alice" {
			t.Errorf("%s: introspection %v", id, m)
		}
	}
	if subs["pub"] != "alice" {
		t.Errorf("public app's sub %q, want alice", subs["pub"])
	}
	if subs["shop"] != want("shop.example") || subs["wiki"] != want("wiki.example") || subs["shop"] == subs["wiki"] {
		t.Errorf("pairwise subs shop %q wiki %q, want %q and %q", subs["shop"], subs["wiki"], want("shop.example"), want("wiki.example"))
	}
	md := decodeMap(t, s.doJSON(t, http.MethodGet, "/.well-known/openid-configuration", "", "").Body)
	if st, _ := json.Marshal(md["subject_types_supported"]); string(st) != `["public","pairwise"]` {
		t.Errorf("subject_types_supported %s", st)
	}

	// Pairwise needs one host: refused at create and at update.
	r := s.doJSON(t, http.MethodPost, "/v1/apps", s.Root, `{"id":"two","oauth":{"subject_type":"pairwise","redirect_uris":["https://a.example/cb","https://b.example/cb"]}}`)
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), "invalid_client_metadata") {
		t.Errorf("pairwise on two hosts: %d %s", r.Status, r.Body)
	}
	r = s.doJSON(t, http.MethodPatch, "/v1/apps/pub", s.Root, `{"oauth":{"subject_type":"pairwise","redirect_uris":["https://pub.example/cb","https://other.example/cb"]}}`)
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), "invalid_client_metadata") {
		t.Errorf("PATCH to pairwise on two hosts: %d %s", r.Status, r.Body)
	}
	if r := s.doJSON(t, http.MethodPost, "/v1/apps", s.Root, `{"id":"odd","oauth":{"subject_type":"secret","redirect_uris":["https://a.example/cb"]}}`); r.Status != http.StatusUnprocessableEntity {
		t.Errorf("unknown subject_type: %d %s", r.Status, r.Body)
	}

	// RP-initiated logout with shop's ID token (a pairwise sub) ends the
	// browser's session at once, and the apps are told with their subs.
	sid, _ := jwtPayload(t, shopIDT)["sid"].(string)
	q := url.Values{"id_token_hint": {shopIDT}, "post_logout_redirect_uri": {"https://shop.example/bye"}, "state": {"x"}}
	if r := br.get("/oauth2/logout?" + q.Encode()); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "https://shop.example/bye?state=x" {
		t.Fatalf("logout with a pairwise hint: %d %q %.300s", r.Status, r.Header.Get("Location"), r.Body)
	}
	if br.signedIn() {
		t.Fatal("the session survived the logout")
	}
	for id, rc := range map[string]*bcReceiver{"shop": shopBC, "wiki": wikiBC} {
		typ, c := idTokenClaims(t, s.URL, rc.next(t))
		if typ != "logout+jwt" || c["sub"] != subs[id] || c["sid"] != sid || c["aud"] != id {
			t.Errorf("logout token for %s: %s %v, want sub %q", id, typ, c, subs[id])
		}
	}

	// A restart (same data directory, so the same master key) gives the
	// same subs.
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	s2 := startServer(t, cfg)
	br2 := newBrowser(t, s2.URL, nil)
	br2.mustLogin("alice", alicePassword)
	for _, id := range []string{"shop", "wiki"} {
		_, c, at := codeFlow(t, s2.URL, br2, id, secrets[id], "openid")
		if c["sub"] != subs[id] {
			t.Errorf("%s after a restart: sub %v, want %q", id, c["sub"], subs[id])
		}
		if u := userinfo(t, s2.URL, at); u["sub"] != subs[id] {
			t.Errorf("%s after a restart: userinfo sub %v", id, u["sub"])
		}
	}
}

// TestOIDC_GroupsClaim: an admin sets a user's groups (PATCH /v1/users);
// the groups scope — an OpenID Connect scope, not a permission — puts them
// in the ID token and userinfo; without it neither has them; discovery
// names the scope and the claim; groups are for users only and are
// checked.
func TestOIDC_GroupsClaim(t *testing.T) {
	s := startServer(t, server.Config{})
	newUser(t, s, "alice", alicePassword)
	if r := s.doJSON(t, http.MethodPatch, "/v1/users/alice", s.Root, `{"groups":["staff","sales","staff"]}`); r.Status != http.StatusOK {
		t.Fatalf("PATCH groups: %d %s", r.Status, r.Body)
	}
	if g := getUser(t, s, "alice").Groups; !slices.Equal(g, []string{"staff", "sales"}) {
		t.Fatalf("stored groups %q, want staff sales (duplicates dropped)", g)
	}
	app := createClient(t, s, `{"id":"wiki","oauth":{"redirect_uris":["https://wiki.example/cb"],"audiences":["default"]}}`)
	br := newBrowser(t, s.URL, nil)
	br.mustLogin("alice", alicePassword)

	_, c, at := codeFlow(t, s.URL, br, "wiki", app.ClientSecret, "openid groups")
	if g, _ := json.Marshal(c["groups"]); string(g) != `["staff","sales"]` {
		t.Errorf("ID token groups %s", g)
	}
	// Neither alice nor the app has a permission "groups": it is granted
	// as an OpenID Connect scope, as openid is.
	if sc, _ := jwtPayload(t, at)["scope"].(string); sc != "openid groups" {
		t.Errorf("access token scope %q, want openid groups", sc)
	}
	if g, _ := json.Marshal(userinfo(t, s.URL, at)["groups"]); string(g) != `["staff","sales"]` {
		t.Errorf("userinfo groups %s", g)
	}
	_, c, at = codeFlow(t, s.URL, br, "wiki", app.ClientSecret, "openid profile")
	if _, ok := c["groups"]; ok {
		t.Errorf("ID token without the groups scope has groups: %v", c)
	}
	if _, ok := userinfo(t, s.URL, at)["groups"]; ok {
		t.Error("userinfo without the groups scope has groups")
	}
	// No groups: an empty list with the scope.
	if r := s.doJSON(t, http.MethodPatch, "/v1/users/alice", s.Root, `{"groups":[]}`); r.Status != http.StatusOK {
		t.Fatalf("clear groups: %d %s", r.Status, r.Body)
	}
	_, c, _ = codeFlow(t, s.URL, br, "wiki", app.ClientSecret, "openid groups")
	if g, _ := json.Marshal(c["groups"]); string(g) != `[]` {
		t.Errorf("ID token groups after clearing: %s", g)
	}

	md := decodeMap(t, s.doJSON(t, http.MethodGet, "/.well-known/openid-configuration", "", "").Body)
	scopes, _ := json.Marshal(md["scopes_supported"])
	claims, _ := json.Marshal(md["claims_supported"])
	if !strings.Contains(string(scopes), `"groups"`) || !strings.Contains(string(claims), `"groups"`) {
		t.Errorf("discovery: scopes %s claims %s", scopes, claims)
	}

	for name, body := range map[string]string{
		"empty name":      `{"groups":[""]}`,
		"control char":    `{"groups":["a\u0007b"]}`,
		"leading space":   `{"groups":[" staff"]}`,
		"too long":        `{"groups":["` + strings.Repeat("g", 129) + `"]}`,
		"not a list":      `{"groups":"staff"}`,
		"too many groups": `{"groups":[` + manyGroups(101) + `]}`,
	} {
		if r := s.doJSON(t, http.MethodPatch, "/v1/users/alice", s.Root, body); r.Status < 400 || r.Status >= 500 {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	if r := s.doJSON(t, http.MethodPatch, "/v1/apps/wiki", s.Root, `{"groups":["staff"]}`); r.Status < 400 || r.Status >= 500 {
		t.Errorf("groups on an app: %d %s", r.Status, r.Body)
	}
}

// manyGroups returns n distinct JSON strings, comma-separated.
func manyGroups(n int) string {
	gs := make([]string, n)
	for i := range gs {
		gs[i] = `"g` + strings.Repeat("x", i) + `"`
	}
	return strings.Join(gs, ",")
}
