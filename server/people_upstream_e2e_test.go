package server_test

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/api"
	oidcup "github.com/latchkey/latchkey/people/upstream"
	"github.com/latchkey/latchkey/server"
)

// Sign-in through an upstream OpenID Connect provider, end to end: the
// upstream is a second latchkey (its own data directory), the downstream
// latchkey sends its users there. Two cookie jars stand for the browser's
// cookies of the two sites (both listen on 127.0.0.1, and cookies do not
// tell ports apart).

// upstreamPair is an upstream latchkey with user alice and app
// "downstream", and a downstream latchkey with provider "corp" on it.
type upstreamPair struct {
	up, down *testServer
	mk       [32]byte // the downstream's master key
}

func startUpstreamPair(t *testing.T, usernameClaim string) *upstreamPair {
	t.Helper()
	us := startServer(t, server.Config{})
	newUser(t, us, "alice", alicePassword)
	if r := us.doJSON(t, http.MethodPatch, "/v1/users/alice", us.Root, `{"name":"Alice Smith","email":"alice@corp.example","email_verified":true,"preferred_username":"alice","groups":["staff","sales"]}`); r.Status != http.StatusOK {
		t.Fatalf("profile: %d %s", r.Status, r.Body)
	}
	// A loopback redirect URI without a port matches any port (RFC 8252
	// §7.3), so the app is registered before the downstream has one.
	app := createClient(t, us, `{"id":"downstream","name":"Downstream","oauth":{"redirect_uris":["http://127.0.0.1/login/upstream/corp/callback"],"audiences":["default"]}}`)
	p := &upstreamPair{up: us}
	rand.Read(p.mk[:])
	// The upstream's ID tokens carry alice's groups (scope groups, claim
	// groups by default): staff maps to permissions, sales to none.
	p.down = startServer(t, server.Config{MasterKey: &p.mk, People: server.PeopleConfig{OutboundAllowPrivate: true,
		Upstreams: []oidcup.Config{{ID: "corp", Name: "Corp SSO", Issuer: us.URL, ClientID: "downstream", ClientSecret: app.ClientSecret,
			Scopes: []string{"openid", "profile", "email", "groups"}, UsernameClaim: usernameClaim,
			GroupPermissions: map[string][]string{"staff": {"orders:read", "orders:write"}, "admins": {"admin"}}}}}})
	return p
}

var upstreamLink = regexp.MustCompile(`href="(/login/upstream/corp[^"]*)"[^>]*>Sign in with Corp SSO<`)

// start opens the downstream's sign-in page (with return_to), follows its
// "Sign in with Corp SSO" link and returns the upstream authorization
// request it redirects to (a path of the upstream).
func (p *upstreamPair) start(t *testing.T, db *browser, returnTo string) string {
	t.Helper()
	path := "/login"
	if returnTo != "" {
		path += "?return_to=" + url.QueryEscape(returnTo)
	}
	r := db.get(path)
	m := upstreamLink.FindSubmatch(r.Body)
	if r.Status != http.StatusOK || m == nil {
		t.Fatalf("downstream /login: %d, no upstream link: %.500s", r.Status, r.Body)
	}
	r = db.get(html.UnescapeString(string(m[1])))
	loc := r.Header.Get("Location")
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(loc, p.up.URL+"/oauth2/authorize?") {
		t.Fatalf("upstream start: %d Location %q: %.300s", r.Status, loc, r.Body)
	}
	u, _ := url.Parse(loc)
	q := u.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("state") == "" || q.Get("nonce") == "" ||
		q.Get("redirect_uri") != p.down.URL+"/login/upstream/corp/callback" {
		t.Errorf("authorization request lacks PKCE, state or nonce: %s", loc)
	}
	var c *http.Cookie
	for _, k := range db.c.Jar.Cookies(mustURL(p.down.URL)) {
		if k.Name == "latchkey_upstream" {
			c = k
		}
	}
	if c == nil {
		t.Fatal("no state cookie")
	}
	if sc := r.Header.Get("Set-Cookie"); !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Lax") || !strings.Contains(sc, "Max-Age=") {
		t.Errorf("state cookie attributes: %s", sc)
	}
	return strings.TrimPrefix(loc, p.up.URL)
}

// atUpstream signs alice in at the upstream (if ub has no session there),
// allows the app (if asked) and returns the callback path and query the
// upstream sends the browser back to.
func (p *upstreamPair) atUpstream(t *testing.T, ub *browser, authz string) string {
	t.Helper()
	r := ub.get(authz)
	if r.Status == http.StatusSeeOther && strings.HasPrefix(r.Header.Get("Location"), "/login?") {
		r = signInThrough(t, ub, authz, "alice", alicePassword)
	}
	if r.Status == http.StatusOK {
		req := consentPage(t, r, "Downstream")
		r = ub.post("/oauth2/authorize/consent", url.Values{"decision": {"allow"}, "request": {req}})
	}
	loc := r.Header.Get("Location")
	prefix := p.down.URL + "/login/upstream/corp/callback?"
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(loc, prefix) {
		t.Fatalf("upstream did not send the browser back: %d Location %q: %.300s", r.Status, loc, r.Body)
	}
	return strings.TrimPrefix(loc, p.down.URL)
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func (p *upstreamPair) user(t *testing.T, id string) (api.Principal, bool) {
	t.Helper()
	r := p.down.doJSON(t, http.MethodGet, "/v1/users/"+url.PathEscape(id), p.down.Root, "")
	if r.Status == http.StatusNotFound {
		return api.Principal{}, false
	}
	var u api.Principal
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &u) != nil {
		t.Fatalf("GET user %s: %d %s", id, r.Status, r.Body)
	}
	return u, true
}

// TestUpstreamOIDCSignIn: downstream /login → "Sign in with Corp SSO" →
// upstream sign-in and consent → callback → a downstream session, the
// user "corp:<sub>" created with the permissions its upstream groups map
// to, its groups, name and email; an authorization request of the
// downstream survives the round trip, and the next sign-in refreshes the
// name and groups.
func TestUpstreamOIDCSignIn(t *testing.T) {
	p := startUpstreamPair(t, "")
	requireCodeGrant(t, p.up)
	db, ub := newBrowser(t, p.down.URL, nil), newBrowser(t, p.up.URL, nil)
	cb := p.atUpstream(t, ub, p.start(t, db, ""))
	r := db.get(cb)
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/ui/me" {
		t.Fatalf("callback: %d Location %q: %.300s", r.Status, r.Header.Get("Location"), r.Body)
	}
	if db.cookie("latchkey_upstream") != "" {
		t.Error("the state cookie outlived the callback")
	}
	if r := db.get("/ui/me"); r.Status != http.StatusOK || !strings.Contains(string(r.Body), "corp:alice") {
		t.Fatalf("GET /ui/me: %d %.300s", r.Status, r.Body)
	}
	u, ok := p.user(t, "corp:alice")
	if !ok || u.Name != "Alice Smith" || !slices.Equal(u.Permissions, []string{"orders:read", "orders:write"}) ||
		u.Email != "alice@corp.example" || !slices.Equal(u.Groups, []string{"staff", "sales"}) {
		t.Fatalf("downstream user: %v %+v", ok, u)
	}
	r = p.down.doJSON(t, http.MethodGet, "/v1/users/"+url.PathEscape("corp:alice")+"/sessions", p.down.Root, "")
	var sl api.SessionList
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &sl) != nil || len(sl.Items) != 1 ||
		len(sl.Items[0].Factors) != 1 || sl.Items[0].Factors[0].Method != "fed" {
		t.Errorf("sessions of corp:alice: %d %s", r.Status, r.Body)
	}
	// The callback URL in another browser (without the state cookie)
	// signs nobody in.
	db2 := newBrowser(t, p.down.URL, nil)
	if r := db2.get(cb); r.Status < 400 || r.Status >= 500 || db2.signedIn() {
		t.Errorf("replayed callback in another browser: %d", r.Status)
	}

	// An authorization request of a downstream app comes back to
	// /oauth2/authorize after the upstream sign-in.
	// Every sign-in refreshes the user from the upstream's claims.
	if r := p.up.doJSON(t, http.MethodPatch, "/v1/users/alice", p.up.Root, `{"name":"Alice Jones","groups":["admins"]}`); r.Status != http.StatusOK {
		t.Fatalf("rename at the upstream: %d %s", r.Status, r.Body)
	}
	codeClient(t, p.down, "shop", "")
	_, ch := pkcePair(t)
	authz := authorizeURL("shop", ch, nil)
	db3 := newBrowser(t, p.down.URL, nil)
	if r := db3.get(authz); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login?") {
		t.Fatalf("authorize without session: %d %q", r.Status, r.Header.Get("Location"))
	}
	r = db3.get(p.atUpstream(t, ub, p.start(t, db3, authz)))
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != authz {
		t.Fatalf("callback with return_to: %d Location %q", r.Status, r.Header.Get("Location"))
	}
	consentPage(t, db3.get(authz), "Shop shop")
	if u, _ := p.user(t, "corp:alice"); u.Name != "Alice Jones" || !slices.Equal(u.Groups, []string{"admins"}) ||
		!slices.Equal(u.Permissions, []string{"admin"}) {
		t.Errorf("name and groups not refreshed at sign-in: %+v", u)
	}
}

// TestUpstreamOIDCRefusesBadStateAndNonce: a callback whose state is not
// the cookie's, one naming another issuer, a forged cookie, a cookie whose
// nonce is not the ID token's, and a callback with no cookie all get a 4xx
// page, no session and a signin.failed audit event.
func TestUpstreamOIDCRefusesBadStateAndNonce(t *testing.T) {
	p := startUpstreamPair(t, "")
	requireCodeGrant(t, p.up)
	ub := newBrowser(t, p.up.URL, nil)
	key := hmac.New(sha256.New, p.mk[:])
	key.Write([]byte("latchkey upstream sign-in state v1"))
	codec, err := oidcup.NewCodec(key.Sum(nil))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		tamper func(db *browser, cb string) string
		want   int
	}{
		{"state altered", func(db *browser, cb string) string {
			u := mustURL(cb)
			q := u.Query()
			q.Set("state", q.Get("state")+"x")
			return u.Path + "?" + q.Encode()
		}, http.StatusBadRequest},
		{"another issuer (RFC 9207)", func(db *browser, cb string) string {
			u := mustURL(cb)
			q := u.Query()
			if q.Get("iss") != p.up.URL {
				t.Errorf("callback iss %q, want %q", q.Get("iss"), p.up.URL)
			}
			q.Set("iss", "https://evil.example")
			return u.Path + "?" + q.Encode()
		}, http.StatusUnauthorized},
		{"cookie forged", func(db *browser, cb string) string {
			v := db.cookie("latchkey_upstream")
			db.setCookie("latchkey_upstream", v[:len(v)-2]+flipFirst(v[len(v)-2:]))
			return cb
		}, http.StatusBadRequest},
		{"no cookie", func(db *browser, cb string) string {
			db.setCookie("latchkey_upstream", "")
			return cb
		}, http.StatusBadRequest},
		{"wrong nonce", func(db *browser, cb string) string {
			st, err := codec.Open(db.cookie("latchkey_upstream"), time.Now())
			if err != nil {
				t.Fatal(err)
			}
			st.Nonce = "not-the-nonce-the-upstream-was-given"
			db.setCookie("latchkey_upstream", codec.Seal(st))
			return cb
		}, http.StatusUnauthorized},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db := newBrowser(t, p.down.URL, nil)
			cb := p.atUpstream(t, ub, p.start(t, db, ""))
			r := db.get(c.tamper(db, cb))
			if r.Status != c.want || r.Header.Get("Set-Cookie") != "" && strings.Contains(r.Header.Get("Set-Cookie"), "latchkey_session=") {
				t.Errorf("%s: %d, want %d: %.300s", c.name, r.Status, c.want, r.Body)
			}
			if db.signedIn() {
				t.Errorf("%s: signed in", c.name)
			}
		})
	}
	if _, ok := p.user(t, "corp:alice"); ok {
		t.Error("a refused sign-in created the user")
	}
	audit := string(p.down.doJSON(t, http.MethodGet, "/v1/audit?action=signin.failed", p.down.Root, "").Body)
	for _, reason := range []string{"upstream_state", "upstream_rejected"} {
		if !strings.Contains(audit, reason) {
			t.Errorf("no signin.failed with reason %s in the audit log: %.500s", reason, audit)
		}
	}
}

// flipFirst changes the first character of s to another base64url one.
func flipFirst(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}

// TestUpstreamOIDCNeverTakesOverLocalUser: with username_claim
// preferred_username, the upstream's alice is not the downstream's local
// alice: the sign-in is refused and the local user is unchanged.
func TestUpstreamOIDCNeverTakesOverLocalUser(t *testing.T) {
	p := startUpstreamPair(t, "preferred_username")
	requireCodeGrant(t, p.up)
	newUser(t, p.down, "alice", alicePassword, "keys:read")
	db, ub := newBrowser(t, p.down.URL, nil), newBrowser(t, p.up.URL, nil)
	r := db.get(p.atUpstream(t, ub, p.start(t, db, "")))
	if r.Status != http.StatusUnauthorized || db.signedIn() {
		t.Fatalf("takeover: %d %.300s", r.Status, r.Body)
	}
	if u, _ := p.user(t, "alice"); !slices.Equal(u.Permissions, []string{"keys:read"}) {
		t.Errorf("local alice changed: %+v", u)
	}
}
