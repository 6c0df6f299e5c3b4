package server_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/server"
)

// pkce returns a fresh code_verifier and its S256 challenge.
func pkce(t *testing.T) (verifier, challenge string) {
	t.Helper()
	b := make([]byte, 32)
	rand.Read(b)
	verifier = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

var (
	formAction  = regexp.MustCompile(`<form[^>]*action="(/oauth2/authorize[^"]*)"`)
	hiddenInput = regexp.MustCompile(`<input[^>]*type="hidden"[^>]*>`)
	inputName   = regexp.MustCompile(`name="([^"]*)"`)
	inputValue  = regexp.MustCompile(`value="([^"]*)"`)
)

// consentForm returns the action and hidden fields of the consent page.
func consentForm(t *testing.T, body []byte) (string, url.Values) {
	t.Helper()
	m := formAction.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no consent form in %.600s", body)
	}
	form := url.Values{}
	for _, in := range hiddenInput.FindAll(body, -1) {
		n, v := inputName.FindSubmatch(in), inputValue.FindSubmatch(in)
		if n != nil && v != nil {
			form.Set(html.UnescapeString(string(n[1])), html.UnescapeString(string(v[1])))
		}
	}
	return html.UnescapeString(string(m[1])), form
}

// authorize runs /oauth2/authorize for a signed-in browser, allowing the
// consent page if it comes, and returns the parameters of the redirect
// back to the client.
func authorize(t *testing.T, b *browser, params url.Values) url.Values {
	t.Helper()
	r := b.get("/oauth2/authorize?" + params.Encode())
	if r.Status == http.StatusOK {
		action, form := consentForm(t, r.Body)
		form.Set("decision", "allow")
		r = b.post(action, form)
	}
	if r.Status != http.StatusSeeOther && r.Status != http.StatusFound {
		t.Fatalf("authorize: %d %.600s", r.Status, r.Body)
	}
	loc, err := url.Parse(r.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if want := params.Get("redirect_uri"); want != "" && !strings.HasPrefix(loc.String(), want) {
		t.Fatalf("redirected to %s, not %s", loc, want)
	}
	return loc.Query()
}

// codeApp is a registered code-flow client and a signed-in user.
type codeApp struct {
	s        *testServer
	b        *browser
	id       string
	secret   string
	redirect string
}

// newCodeClient registers a confidential code-flow app "web" (with
// resource server "orders-api" for introspection) and signs in alice.
func newCodeClient(t *testing.T, cfg server.Config, oauth string) *codeApp {
	t.Helper()
	s := startServer(t, cfg)
	newUser(t, s, "alice", alicePassword, "orders:read", "orders:write")
	if oauth == "" {
		oauth = `{"redirect_uris":["https://web.example/cb"],"audiences":["https://orders.example"]}`
	}
	p := createClient(t, s, `{"id":"web","name":"Acme Web","permissions":["orders:read","orders:write"],"oauth":`+oauth+`}`)
	createClient(t, s, `{"id":"orders-api","oauth":{"grant_types":["client_credentials"],"audiences":["https://orders.example"]}}`)
	b := newBrowser(t, s.URL, nil)
	b.mustLogin("alice", alicePassword)
	return &codeApp{s: s, b: b, id: p.ID, secret: p.ClientSecret, redirect: "https://web.example/cb"}
}

// code gets an authorization code and its verifier.
func (c *codeApp) code(t *testing.T, extra url.Values) (string, string) {
	t.Helper()
	verifier, challenge := pkce(t)
	q := url.Values{"response_type": {"code"}, "client_id": {c.id}, "redirect_uri": {c.redirect}, "state": {"st-1"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	for k, v := range extra {
		q[k] = v
	}
	back := authorize(t, c.b, q)
	if back.Get("code") == "" || back.Get("state") != "st-1" || back.Get("iss") != c.s.URL {
		t.Fatalf("authorization response: %v", back)
	}
	return back.Get("code"), verifier
}

// redeem posts the code to the token endpoint.
func (c *codeApp) redeem(t *testing.T, code, verifier string) tokenAnswer {
	t.Helper()
	return postToken(t, c.s.URL, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {c.redirect},
		"code_verifier": {verifier}}, c.id, c.secret)
}

func (c *codeApp) refresh(t *testing.T, rt string) tokenAnswer {
	t.Helper()
	return postToken(t, c.s.URL, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, c.id, c.secret)
}

// active introspects tok as the resource server.
func (c *codeApp) active(t *testing.T, tok string) bool {
	t.Helper()
	secret := c.rsSecret(t)
	status, m := introspect(t, c.s.URL, tok, "orders-api", secret)
	if status != http.StatusOK {
		t.Fatalf("introspect: %d %v", status, m)
	}
	return m["active"] == true
}

var rsSecrets sync.Map // server URL → orders-api secret

func (c *codeApp) rsSecret(t *testing.T) string {
	if v, ok := rsSecrets.Load(c.s.URL); ok {
		return v.(string)
	}
	r := c.s.doJSON(t, http.MethodPost, "/v1/apps/orders-api/secret", c.s.Root, `{}`)
	if r.Status != http.StatusCreated {
		t.Fatalf("rotate orders-api secret: %d %s", r.Status, r.Body)
	}
	m := decodeMap(t, r.Body)
	rsSecrets.Store(c.s.URL, m["client_secret"].(string))
	return m["client_secret"].(string)
}

func TestOAuthCodeFlow(t *testing.T) {
	c := newCodeClient(t, server.Config{}, "")
	code, verifier := c.code(t, url.Values{"scope": {"orders:read"}})
	a := c.redeem(t, code, verifier)
	if a.Status != http.StatusOK || a.Token["token_type"] != "Bearer" || a.Token["scope"] != "orders:read" ||
		a.Token["refresh_token"] == nil || !strings.HasPrefix(a.Token["refresh_token"].(string), "lkr_") {
		t.Fatalf("token answer: %d %v %v", a.Status, a.Token, a.Problem)
	}
	at := a.Token["access_token"].(string)
	typ, claims := verifyAccessToken(t, c.s.URL, at)
	if typ != "at+jwt" || claims["sub"] != "user:alice" || claims["client_id"] != "web" || claims["scope"] != "orders:read" ||
		claims["aud"] != "https://orders.example" || claims["key_id"] == nil {
		t.Fatalf("access token: %s %v", typ, claims)
	}
	if !c.active(t, at) {
		t.Fatal("fresh access token inactive")
	}
	// The consent is remembered: the next authorization goes straight back.
	r := c.b.get("/oauth2/authorize?" + url.Values{"response_type": {"code"}, "client_id": {"web"}, "redirect_uri": {c.redirect},
		"code_challenge": {strings.Repeat("A", 43)}, "code_challenge_method": {"S256"}, "scope": {"orders:read"}}.Encode())
	if r.Status != http.StatusSeeOther || !strings.Contains(r.Header.Get("Location"), "code=") {
		t.Errorf("second authorization: %d %q", r.Status, r.Header.Get("Location"))
	}
	// Refresh rotates: a new refresh token, the old one spent.
	n := c.refresh(t, a.Token["refresh_token"].(string))
	if n.Status != http.StatusOK || n.Token["refresh_token"] == a.Token["refresh_token"] {
		t.Fatalf("refresh: %d %v %v", n.Status, n.Token, n.Problem)
	}
	if !c.active(t, n.Token["access_token"].(string)) {
		t.Error("refreshed access token inactive")
	}
}

// TestAS06_CodeRedeemedTwice: a code works once; a second redemption —
// later or at the same moment — fails and kills what the first issued.
func TestAS06_CodeRedeemedTwice(t *testing.T) {
	c := newCodeClient(t, server.Config{}, "")
	code, verifier := c.code(t, nil)
	first := c.redeem(t, code, verifier)
	if first.Status != http.StatusOK {
		t.Fatalf("first redemption: %d %v", first.Status, first.Problem)
	}
	if again := c.redeem(t, code, verifier); again.Status != http.StatusBadRequest || again.Problem.Error != "invalid_grant" {
		t.Fatalf("second redemption: %d %v", again.Status, again.Problem)
	}
	if c.active(t, first.Token["access_token"].(string)) {
		t.Error("access token of a replayed code still active")
	}
	if r := c.refresh(t, first.Token["refresh_token"].(string)); r.Status != http.StatusBadRequest {
		t.Errorf("refresh token of a replayed code still works: %d", r.Status)
	}

	// 50 at once: exactly one redemption wins the code in the store (the
	// conformance suite's AS06_ConcurrentRedeemOneWinner proves that per
	// engine); the replays mark it reused, so the winner's grant is revoked
	// — before its answer when a replay came first, and then the winner
	// answers invalid_grant too. Never does a live token come out.
	code, verifier = c.code(t, nil)
	var wg sync.WaitGroup
	answers := make([]tokenAnswer, 50)
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = c.redeem(t, code, verifier)
		}()
	}
	wg.Wait()
	var won []tokenAnswer
	for _, a := range answers {
		switch {
		case a.Status == http.StatusOK:
			won = append(won, a)
		case a.Problem.Error != "invalid_grant":
			t.Errorf("loser: %d %v", a.Status, a.Problem)
		}
	}
	if len(won) > 1 {
		t.Fatalf("%d of 50 concurrent redemptions succeeded", len(won))
	}
	for _, w := range won {
		if c.active(t, w.Token["access_token"].(string)) {
			t.Error("the winner's access token survived the concurrent replays")
		}
		if r := c.refresh(t, w.Token["refresh_token"].(string)); r.Status == http.StatusOK {
			t.Error("the winner's refresh token survived the concurrent replays")
		}
	}
}

// TestAS07_CodeBoundToClientAndRedirect: another client, another
// redirect URI, a wrong or missing verifier: invalid_grant.
func TestAS07_CodeBoundToClientAndRedirect(t *testing.T) {
	c := newCodeClient(t, server.Config{}, `{"redirect_uris":["https://web.example/cb","https://web.example/other"],"audiences":["https://orders.example"]}`)
	other := createClient(t, c.s, `{"id":"other","permissions":["orders:read"],"oauth":{"redirect_uris":["https://web.example/cb"]}}`)
	cases := map[string]func(code, verifier string) tokenAnswer{
		"other client": func(code, verifier string) tokenAnswer {
			return postToken(t, c.s.URL, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {c.redirect},
				"code_verifier": {verifier}}, "other", other.ClientSecret)
		},
		"other redirect": func(code, verifier string) tokenAnswer {
			return postToken(t, c.s.URL, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"https://web.example/other"},
				"code_verifier": {verifier}}, c.id, c.secret)
		},
		"no redirect": func(code, verifier string) tokenAnswer {
			return postToken(t, c.s.URL, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier}}, c.id, c.secret)
		},
		"wrong verifier": func(code, _ string) tokenAnswer {
			v, _ := pkce(t)
			return c.redeem(t, code, v)
		},
		"no verifier": func(code, _ string) tokenAnswer { return c.redeem(t, code, "") },
		"tampered code": func(code, verifier string) tokenAnswer {
			return c.redeem(t, changeLast(code), verifier)
		},
	}
	for name, try := range cases {
		code, verifier := c.code(t, nil)
		if a := try(code, verifier); a.Problem.Error != "invalid_grant" || a.Status != http.StatusBadRequest {
			t.Errorf("%s: %d %v", name, a.Status, a.Problem)
		}
	}
}

// TestAS08_IssMatchesMetadata: the authorization response's iss is the
// metadata's issuer, byte for byte, and the token's.
func TestAS08_IssMatchesMetadata(t *testing.T) {
	c := newCodeClient(t, server.Config{}, "")
	r := c.s.doJSON(t, http.MethodGet, "/.well-known/oauth-authorization-server", "", "")
	md := decodeMap(t, r.Body)
	code, verifier := c.code(t, nil) // checks iss == c.s.URL
	if md["issuer"] != c.s.URL || md["authorization_endpoint"] != c.s.URL+"/oauth2/authorize" {
		t.Fatalf("metadata: %v", md)
	}
	a := c.redeem(t, code, verifier)
	if _, claims := verifyAccessToken(t, c.s.URL, a.Token["access_token"].(string)); claims["iss"] != md["issuer"] {
		t.Errorf("iss %v, metadata issuer %v", claims["iss"], md["issuer"])
	}
	got := md["code_challenge_methods_supported"]
	if l, ok := got.([]any); !ok || len(l) != 1 || l[0] != "S256" {
		t.Errorf("code_challenge_methods_supported: %v", got)
	}
}

// TestRT01_ReuseRevokesGrant: with no grace, a rotated-out refresh token
// presented again kills the grant: the newer refresh token and every
// access token of it.
func TestRT01_ReuseRevokesGrant(t *testing.T) {
	c := newCodeClient(t, server.Config{OAuth: server.OAuthConfig{RefreshGrace: -1}}, "")
	code, verifier := c.code(t, nil)
	a1 := c.redeem(t, code, verifier)
	a2 := c.refresh(t, a1.Token["refresh_token"].(string))
	if a2.Status != http.StatusOK {
		t.Fatalf("refresh: %d %v", a2.Status, a2.Problem)
	}
	if r := c.refresh(t, a1.Token["refresh_token"].(string)); r.Status != http.StatusBadRequest || r.Problem.Error != "invalid_grant" {
		t.Fatalf("reuse: %d %v", r.Status, r.Problem)
	}
	for name, tok := range map[string]string{"AT1": a1.Token["access_token"].(string), "AT2": a2.Token["access_token"].(string)} {
		if c.active(t, tok) {
			t.Errorf("%s still active after reuse", name)
		}
	}
	if r := c.refresh(t, a2.Token["refresh_token"].(string)); r.Status != http.StatusBadRequest {
		t.Errorf("RT2 still works after reuse: %d", r.Status)
	}
}

// TestRT_GraceSamePair: the same client presenting the same refresh token
// again within the grace gets the same new pair; once the new refresh
// token was used, the old one is a reuse again.
func TestRT_GraceSamePair(t *testing.T) {
	c := newCodeClient(t, server.Config{}, "")
	code, verifier := c.code(t, nil)
	a1 := c.redeem(t, code, verifier)
	rt1 := a1.Token["refresh_token"].(string)
	a2 := c.refresh(t, rt1)
	retry := c.refresh(t, rt1)
	if retry.Status != http.StatusOK || retry.Token["refresh_token"] != a2.Token["refresh_token"] ||
		retry.Token["access_token"] != a2.Token["access_token"] {
		t.Fatalf("retry within the grace: %d %v", retry.Status, retry.Problem)
	}
	a3 := c.refresh(t, a2.Token["refresh_token"].(string))
	if a3.Status != http.StatusOK {
		t.Fatalf("RT2: %d %v", a3.Status, a3.Problem)
	}
	if r := c.refresh(t, rt1); r.Status != http.StatusBadRequest {
		t.Fatalf("RT1 after RT2 was used: %d", r.Status)
	}
	if c.active(t, a3.Token["access_token"].(string)) {
		t.Error("AT3 survived the reuse of RT1")
	}
}

// TestRT02_ConcurrentRefresh: 20 refreshes with one token at once rotate
// it once: without a grace exactly one succeeds; with the grace every
// success carries the one new pair.
func TestRT02_ConcurrentRefresh(t *testing.T) {
	for _, grace := range []bool{false, true} {
		cfg := server.Config{}
		if !grace {
			cfg.OAuth.RefreshGrace = -1
		}
		c := newCodeClient(t, cfg, "")
		code, verifier := c.code(t, nil)
		rt := c.redeem(t, code, verifier).Token["refresh_token"].(string)
		answers := make([]tokenAnswer, 20)
		var wg sync.WaitGroup
		for i := range answers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				answers[i] = c.refresh(t, rt)
			}()
		}
		wg.Wait()
		pairs := map[string]bool{}
		ok := 0
		for _, a := range answers {
			if a.Status == http.StatusOK {
				ok++
				pairs[a.Token["refresh_token"].(string)] = true
			} else if a.Problem.Error != "invalid_grant" {
				t.Errorf("grace %v: %d %v", grace, a.Status, a.Problem)
			}
		}
		if len(pairs) > 1 || ok == 0 || (!grace && ok != 1) {
			t.Errorf("grace %v: %d successes, %d distinct refresh tokens", grace, ok, len(pairs))
		}
	}
	// Two refreshes in the same second, one after the other, without a
	// grace: the second is a reuse (single use is a compare-and-set, not a
	// matter of iat seconds).
	c := newCodeClient(t, server.Config{OAuth: server.OAuthConfig{RefreshGrace: -1}}, "")
	code, verifier := c.code(t, nil)
	rt := c.redeem(t, code, verifier).Token["refresh_token"].(string)
	if a := c.refresh(t, rt); a.Status != http.StatusOK {
		t.Fatal(a.Problem)
	}
	if a := c.refresh(t, rt); a.Status != http.StatusBadRequest {
		t.Errorf("second refresh in the same second: %d", a.Status)
	}
}

// TestRT04_RevokeRacesRefresh: a revocation of the refresh token racing a
// refresh with it leaves nothing alive once the revocation answered 200.
func TestRT04_RevokeRacesRefresh(t *testing.T) {
	c := newCodeClient(t, server.Config{}, "")
	for range 5 {
		code, verifier := c.code(t, nil)
		a := c.redeem(t, code, verifier)
		rt := a.Token["refresh_token"].(string)
		var wg sync.WaitGroup
		var refreshed tokenAnswer
		var revoked int
		wg.Add(2)
		go func() { defer wg.Done(); refreshed = c.refresh(t, rt) }()
		go func() { defer wg.Done(); revoked, _ = revokeToken(t, c.s.URL, rt, c.id, c.secret) }()
		wg.Wait()
		if revoked != http.StatusOK {
			t.Fatalf("revoke: %d", revoked)
		}
		if refreshed.Status == http.StatusOK {
			if c.active(t, refreshed.Token["access_token"].(string)) {
				t.Error("an access token outlived the revocation of its refresh token")
			}
			if r := c.refresh(t, refreshed.Token["refresh_token"].(string)); r.Status == http.StatusOK {
				t.Error("a refresh token outlived the revocation")
			}
		}
		if c.active(t, a.Token["access_token"].(string)) {
			t.Error("IR-09: the grant's first access token outlived the revocation of its refresh token")
		}
	}
}

// TestRT05_RefreshTokenOfAnotherClient: client B cannot use or revoke
// client A's refresh token.
func TestRT05_RefreshTokenOfAnotherClient(t *testing.T) {
	c := newCodeClient(t, server.Config{}, "")
	other := createClient(t, c.s, `{"id":"other","permissions":["orders:read","orders:write"],"oauth":{"redirect_uris":["https://other.example/cb"]}}`)
	code, verifier := c.code(t, nil)
	a := c.redeem(t, code, verifier)
	rt := a.Token["refresh_token"].(string)
	if r := postToken(t, c.s.URL, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, "other", other.ClientSecret); r.Problem.Error != "invalid_grant" {
		t.Errorf("B refreshing A's token: %d %v", r.Status, r.Problem)
	}
	if status, m := revokeToken(t, c.s.URL, rt, "other", other.ClientSecret); status != http.StatusBadRequest || m["error"] != "unauthorized_client" {
		t.Errorf("IR-07: B revoking A's refresh token: %d %v", status, m)
	}
	if r := c.refresh(t, rt); r.Status != http.StatusOK {
		t.Errorf("A's token after B's attempts: %d %v", r.Status, r.Problem)
	}
}

// TestAS11_RefreshNeverWider: a refresh asking for more than the grant is
// invalid_scope; permissions taken from the client or the user after the
// grant leave the refreshed token.
func TestAS11_RefreshNeverWider(t *testing.T) {
	c := newCodeClient(t, server.Config{}, "")
	code, verifier := c.code(t, url.Values{"scope": {"orders:read orders:write"}})
	a := c.redeem(t, code, verifier)
	rt := a.Token["refresh_token"].(string)
	if r := postToken(t, c.s.URL, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "scope": {"admin"}}, c.id, c.secret); r.Problem.Error != "invalid_scope" {
		t.Errorf("wider refresh: %d %v", r.Status, r.Problem)
	}
	if r := c.s.doJSON(t, http.MethodPatch, "/v1/apps/web", c.s.Root, `{"permissions":["orders:read"]}`); r.Status != http.StatusOK {
		t.Fatalf("narrow app: %d %s", r.Status, r.Body)
	}
	n := c.refresh(t, rt)
	if n.Status != http.StatusOK || n.Token["scope"] != "orders:read" {
		t.Errorf("refresh after the client lost orders:write: %d %v %v", n.Status, n.Token, n.Problem)
	}
	if r := c.s.doJSON(t, http.MethodPatch, "/v1/users/alice", c.s.Root, `{"permissions":[]}`); r.Status != http.StatusOK {
		t.Fatalf("narrow user: %d %s", r.Status, r.Body)
	}
	n2 := c.refresh(t, n.Token["refresh_token"].(string))
	if n2.Status == http.StatusOK && n2.Token["scope"] != nil && n2.Token["scope"] != "" {
		t.Errorf("refresh after the user lost everything: %v", n2.Token)
	}
}

// TestOAuthDisablingEndsGrants: disabling the user or the app ends the
// grant's tokens at once.
func TestOAuthDisablingEndsGrants(t *testing.T) {
	for _, who := range []string{"/v1/users/alice", "/v1/apps/web"} {
		c := newCodeClient(t, server.Config{}, "")
		code, verifier := c.code(t, nil)
		a := c.redeem(t, code, verifier)
		if r := c.s.doJSON(t, http.MethodPatch, who, c.s.Root, `{"disabled":true}`); r.Status != http.StatusOK {
			t.Fatalf("disable %s: %d %s", who, r.Status, r.Body)
		}
		if c.active(t, a.Token["access_token"].(string)) {
			t.Errorf("%s disabled: access token still active", who)
		}
		if r := c.refresh(t, a.Token["refresh_token"].(string)); r.Status == http.StatusOK {
			t.Errorf("%s disabled: refresh still works", who)
		}
	}
}

func decodeMap(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%v: %.300s", err, b)
	}
	return m
}

// TestOAuthGrantEndsForOfflineVerifiers: an SDK verifier checking a user's
// access token offline learns through the revocation feed, within the
// bound of a key revocation, that its grant was revoked, its user or its
// app disabled.
func TestOAuthGrantEndsForOfflineVerifiers(t *testing.T) {
	c := newCodeClient(t, server.Config{}, "")
	f := &jwtFixture{s: c.s, c: c.s.client(t, c.s.Root)}
	v := f.feedVerifier(t, "https://orders.example")
	for _, end := range []struct {
		what string
		do   func(t *testing.T, a tokenAnswer)
	}{
		{"grant revoked by its refresh token", func(t *testing.T, a tokenAnswer) {
			if status, _ := revokeToken(t, c.s.URL, a.Token["refresh_token"].(string), c.id, c.secret); status != http.StatusOK {
				t.Fatalf("revoke: %d", status)
			}
		}},
		{"grant revoked by the user", func(t *testing.T, a tokenAnswer) {
			r := c.s.doJSON(t, http.MethodGet, "/v1/users/alice/grants", c.s.Root, "")
			var out struct {
				Grants []struct {
					ID string `json:"id"`
				} `json:"grants"`
			}
			if err := json.Unmarshal(r.Body, &out); err != nil || len(out.Grants) == 0 {
				t.Fatalf("grants: %d %s", r.Status, r.Body)
			}
			for _, g := range out.Grants {
				if r := c.s.doJSON(t, http.MethodDelete, "/v1/users/alice/grants/"+g.ID, c.s.Root, ""); r.Status != http.StatusNoContent {
					t.Fatalf("revoke grant: %d %s", r.Status, r.Body)
				}
			}
		}},
		{"app disabled", func(t *testing.T, _ tokenAnswer) {
			if r := c.s.doJSON(t, http.MethodPatch, "/v1/apps/web", c.s.Root, `{"disabled":true}`); r.Status != http.StatusOK {
				t.Fatalf("disable: %d", r.Status)
			}
		}},
	} {
		code, verifier := c.code(t, nil)
		a := c.redeem(t, code, verifier)
		at := a.Token["access_token"].(string)
		if _, err := v.Verify(t.Context(), at); err != nil {
			t.Fatalf("%s: fresh token refused offline: %v", end.what, err)
		}
		end.do(t, a)
		refusedWithin(t, v, at, 5*time.Second, end.what)
	}
}

// TestVerifyAPIAcceptsOAuthAccessTokens: POST /v1/keys/verify answers
// for a user's OAuth access token as for an API key — VALID with its owner
// and current scopes, INSUFFICIENT_SCOPE, NOT_FOUND for another keyspace's
// audience, REVOKED once its grant is — and for an opaque one.
func TestVerifyAPIAcceptsOAuthAccessTokens(t *testing.T) {
	c := newCodeClient(t, server.Config{}, "")
	ks := c.s.doJSON(t, http.MethodPost, "/v1/keyspaces", c.s.Root, `{"name":"orders","audiences":["https://orders.example"]}`)
	if ks.Status != http.StatusCreated {
		t.Fatalf("keyspace: %d %s", ks.Status, ks.Body)
	}
	code, verifier := c.code(t, url.Values{"scope": {"orders:read"}})
	a := c.redeem(t, code, verifier)
	at := a.Token["access_token"].(string)
	verify := func(body string) map[string]any {
		t.Helper()
		r := c.s.doJSON(t, http.MethodPost, "/v1/keys/verify", c.s.Root, body)
		if r.Status != http.StatusOK {
			t.Fatalf("verify: %d %s", r.Status, r.Body)
		}
		return decodeMap(t, r.Body)
	}
	m := verify(`{"key":"` + at + `","keyspace":"orders","scopes":["orders:read"]}`)
	if m["valid"] != true || m["code"] != "VALID" || m["owner"].(map[string]any)["id"] != "alice" || m["key_id"] == nil {
		t.Fatalf("JWT: %v", m)
	}
	if m := verify(`{"key":"` + at + `","scopes":["orders:write"]}`); m["code"] != "INSUFFICIENT_SCOPE" {
		t.Errorf("wider scope: %v", m)
	}
	if m := verify(`{"key":"` + at + `","keyspace":"default"}`); m["code"] != "NOT_FOUND" {
		t.Errorf("another keyspace: %v", m)
	}
	if m := verify(`{"key":"` + at[:len(at)-3] + `abc"}`); m["code"] != "NOT_FOUND" {
		t.Errorf("tampered: %v", m)
	}
	if status, _ := revokeToken(t, c.s.URL, a.Token["refresh_token"].(string), c.id, c.secret); status != http.StatusOK {
		t.Fatal(status)
	}
	if m := verify(`{"key":"` + at + `"}`); m["code"] != "REVOKED" || m["valid"] != false {
		t.Errorf("after the grant was revoked: %v", m)
	}
	// An opaque one is a key of the oauth keyspace.
	op := createClient(t, c.s, `{"id":"job","permissions":["orders:read"],"oauth":{"grant_types":["client_credentials"],"access_token_format":"opaque"}}`)
	o := postToken(t, c.s.URL, url.Values{"grant_type": {"client_credentials"}}, "job", op.ClientSecret)
	if m := verify(`{"key":"` + o.Token["access_token"].(string) + `","scopes":["orders:read"]}`); m["code"] != "VALID" {
		t.Errorf("opaque access token: %v", m)
	}
}
