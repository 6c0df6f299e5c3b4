package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/httpapi"
	"github.com/latchkey/latchkey/oauth"
	"github.com/latchkey/latchkey/people"
	"github.com/latchkey/latchkey/seal"
	"github.com/latchkey/latchkey/signer"
	"github.com/latchkey/latchkey/store/sqlstore"
	"github.com/latchkey/latchkey/token"
)

// The authorization endpoint in one process: real SQLite, the real token,
// people and oauth services, the API for /oauth2/token and /v1, and an
// in-memory grant store (memgrants_test.go) standing in for the SQL one.

const (
	testPassword = "correct horse battery staple 42"
	cbURI        = "https://app.example/cb"
)

type stack struct {
	t    *testing.T
	url  string
	root string
	svc  *token.Service // to flush usage (the stack runs no flusher)
}

func newStack(t *testing.T) *stack {
	t.Helper()
	return newStackAt(t, nil)
}

// newStackAt is newStack whose people service reads the clock now (nil:
// the real one).
func newStackAt(t *testing.T, now func() time.Time) *stack {
	t.Helper()
	return newStackWith(t, now, nil)
}

// newStackWith is newStackAt whose pages get the operations pages that
// ops returns (nil: none), given the store (and its file) and services.
func newStackWith(t *testing.T, now func() time.Time, ops func(db *sqlstore.DB, path string, box *seal.Box, svc *token.Service) OpsConfig) *stack {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "latchkey.db")
	db, err := sqlstore.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return newStackOn(t, db, path, now, ops)
}

// newStackOn is newStackWith on store db (at path, "" for PostgreSQL).
func newStackOn(t *testing.T, db *sqlstore.DB, path string, now func() time.Time, ops func(db *sqlstore.DB, path string, box *seal.Box, svc *token.Service) OpsConfig) *stack {
	t.Helper()
	ctx := context.Background()
	var mk [32]byte
	rand.Read(mk[:])
	box, err := seal.New(mk)
	if err != nil {
		t.Fatal(err)
	}
	svc := token.NewService(token.Config{Store: db, Secrets: box})
	root, err := svc.Bootstrap(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	sig, err := signer.NewManager(signer.ManagerConfig{Store: db, MasterKey: mk})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sig.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	ppl, err := people.New(people.Config{Store: db, Tokens: svc, Box: box, Pepper: []byte("test pepper"), Issuer: "latchkey", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + ln.Addr().String()
	oa := oauth.New(oauth.Config{Store: db, Grants: db, Tokens: svc, Signer: sig, Issuer: issuer})
	api := httpapi.New(httpapi.Config{Service: svc, People: ppl, OAuth: oa, Signer: sig, Issuer: issuer})
	var oc OpsConfig
	if ops != nil {
		oc = ops(db, path, box, svc)
	}
	pages, err := New(Config{People: ppl, Tokens: svc, OAuth: oa, Signer: sig, Ops: oc})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", api)
	for _, p := range Patterns() {
		mux.Handle(p, pages)
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: mux}}
	srv.Start()
	t.Cleanup(srv.Close)
	return &stack{t: t, url: issuer, root: root.Reveal(), svc: svc}
}

// api calls the management API as root.
func (s *stack) api(method, path, body string) (int, []byte) {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.root)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (s *stack) must(want int, method, path, body string) []byte {
	s.t.Helper()
	st, b := s.api(method, path, body)
	if st != want {
		s.t.Fatalf("%s %s: %d %s", method, path, st, b)
	}
	return b
}

func (s *stack) user(id string) {
	s.must(201, "POST", "/v1/users", `{"id":"`+id+`","permissions":["orders:read","orders:write"]}`)
	s.must(204, "PUT", "/v1/users/"+id+"/password", `{"password":"`+testPassword+`"}`)
}

func (s *stack) app(id, extra string) {
	s.must(201, "POST", "/v1/apps", `{"id":"`+id+`","name":"Shop `+id+`","permissions":["orders:read","orders:write"],"oauth":{"redirect_uris":["`+cbURI+`"],
		"grant_types":["authorization_code","refresh_token"],"token_endpoint_auth_method":"none","audiences":["https://orders.example"]`+extra+`}}`)
}

// active introspects tok as resource server orders-api (secret).
func (s *stack) active(tok, secret string) bool {
	s.t.Helper()
	req, _ := http.NewRequest("POST", s.url+"/oauth2/introspect", strings.NewReader(url.Values{"token": {tok}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("orders-api", secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode != 200 {
		s.t.Fatalf("introspect: %d %v", resp.StatusCode, err)
	}
	if m["active"] == true && m["sub"] != "user:alice" {
		s.t.Errorf("introspection: sub %v, want user:alice", m["sub"])
	}
	return m["active"] == true
}

type page struct {
	status int
	loc    string
	hdr    http.Header
	body   string
}

type tbrowser struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]*)"`)

func (s *stack) browser() *tbrowser {
	jar, _ := cookiejar.New(nil)
	return &tbrowser{t: s.t, base: s.url, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *tbrowser) do(method, path string, form url.Values, hdr map[string]string) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if method == "POST" {
		req.Header.Set("Origin", b.base)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if m := csrfRE.FindSubmatch(raw); m != nil {
		b.csrf = string(m[1])
	}
	return page{resp.StatusCode, resp.Header.Get("Location"), resp.Header, string(raw)}
}

func (b *tbrowser) get(path string) page { b.t.Helper(); return b.do("GET", path, nil, nil) }

func (b *tbrowser) post(path string, form url.Values) page {
	b.t.Helper()
	if form.Get("csrf") == "" {
		form.Set("csrf", b.csrf)
	}
	return b.do("POST", path, form, nil)
}

func pkce() (string, string) {
	v := make([]byte, 32)
	rand.Read(v)
	verifier := base64.RawURLEncoding.EncodeToString(v)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

func authzPath(id, challenge string, more url.Values) string {
	q := url.Values{"response_type": {"code"}, "client_id": {id}, "redirect_uri": {cbURI}, "state": {"st-1"},
		"scope": {"orders:read"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	for k, v := range more {
		q[k] = v
	}
	return "/oauth2/authorize?" + q.Encode()
}

// toClient checks a redirect back to the client, with state and iss.
func (s *stack) toClient(p page) url.Values {
	s.t.Helper()
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.loc, cbURI+"?") {
		s.t.Fatalf("want a redirect to the client, got %d %q: %.300s", p.status, p.loc, p.body)
	}
	u, _ := url.Parse(p.loc)
	q := u.Query()
	if q.Get("state") != "st-1" || q.Get("iss") != s.url {
		s.t.Errorf("redirect %q lacks state or iss", p.loc)
	}
	return q
}

// signIn follows the endpoint to /login, signs in and comes back.
func (b *tbrowser) signIn(authz string) page {
	b.t.Helper()
	p := b.get(authz)
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.loc, "/login?") {
		b.t.Fatalf("authorize without a fresh session: %d %q", p.status, p.loc)
	}
	lu, _ := url.Parse(p.loc)
	ret := lu.Query().Get("return_to")
	if lp := b.get(p.loc); lp.status != 200 || !strings.Contains(lp.body, `value="`+html.EscapeString(ret)+`"`) {
		b.t.Fatalf("login page %d does not carry return_to %q", lp.status, ret)
	}
	p = b.post("/login", url.Values{"username": {"alice"}, "password": {testPassword}, "return_to": {ret}})
	if p.status != http.StatusSeeOther || p.loc != authz {
		b.t.Fatalf("sign-in: %d %q, want %q", p.status, p.loc, authz)
	}
	return b.get(authz)
}

var reqRE = regexp.MustCompile(`name="request" value="([^"]*)"`)

func consentRequest(t *testing.T, p page) string {
	t.Helper()
	m := reqRE.FindStringSubmatch(p.body)
	if p.status != 200 || m == nil {
		t.Fatalf("want the consent page, got %d %q: %.300s", p.status, p.loc, p.body)
	}
	return html.UnescapeString(m[1])
}

func (s *stack) redeem(id, code, verifier string) (int, map[string]any) {
	s.t.Helper()
	resp, err := http.PostForm(s.url+"/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "client_id": {id},
		"code": {code}, "code_verifier": {verifier}, "redirect_uri": {cbURI}})
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// TestAS01_AuthorizeErrorsBeforeTheRedirectStayHere: an unregistered
// redirect URI (any variant), an unknown or missing client: latchkey's page,
// 400, no Location (AS-01, AS-03); after them, errors go to the client
// (AS-13: response_type=token).
func TestAS01_AuthorizeErrorsBeforeTheRedirectStayHere(t *testing.T) {
	s := newStack(t)
	s.app("shop", "")
	_, ch := pkce()
	b := s.browser()
	for _, ru := range []string{cbURI + "/", cbURI + "?x=1", "https://APP.example/cb", "http://app.example/cb", "https://app.example:443/cb",
		"https://app.example.evil/cb", "https://app.example/cb/../cb", "https://app.example/CB", cbURI + "%20", "https://u@app.example/cb"} {
		p := b.get(authzPath("shop", ch, url.Values{"redirect_uri": {ru}}))
		if p.status != 400 || p.loc != "" || !strings.Contains(p.body, "redirect_uri") {
			t.Errorf("AS-01 redirect_uri %q: %d %q", ru, p.status, p.loc)
		}
		u, _ := url.Parse(authzPath("shop", ch, url.Values{"redirect_uri": {ru}}))
		if p := b.do("POST", "/oauth2/authorize", u.Query(), map[string]string{"Origin": "https://app.example", "Sec-Fetch-Site": "cross-site"}); p.status != 400 || p.loc != "" {
			t.Errorf("AS-01 POST redirect_uri %q: %d %q", ru, p.status, p.loc)
		}
	}
	for _, id := range []string{"nobody", ""} {
		if p := b.get(authzPath(id, ch, url.Values{"redirect_uri": {"https://evil.example/cb"}})); p.status != 400 || p.loc != "" {
			t.Errorf("AS-03 client %q: %d %q", id, p.status, p.loc)
		}
	}
	if q := s.toClient(b.get(authzPath("shop", ch, url.Values{"response_type": {"token"}}))); q.Get("error") != "unsupported_response_type" {
		t.Errorf("AS-13: %v", q)
	}
	// A cross-site POST of the request itself is allowed (OIDC), and works as the GET.
	u, _ := url.Parse(authzPath("shop", ch, nil))
	if p := b.do("POST", "/oauth2/authorize", u.Query(), map[string]string{"Origin": "https://app.example", "Sec-Fetch-Site": "cross-site"}); p.status != 303 || !strings.HasPrefix(p.loc, "/login?") {
		t.Errorf("cross-site POST /oauth2/authorize: %d %q", p.status, p.loc)
	}
}

// TestAuthorizeFlowInProcess: sign-in, consent, code, redeem; remembered
// consent; deny; prompt=none; prompt=login without a loop; skip_consent;
// the portal lists and revokes the grant, which ends its token.
func TestAuthorizeFlowInProcess(t *testing.T) {
	s := newStack(t)
	s.user("alice")
	s.app("shop", "")
	s.app("first", `,"skip_consent":true`)
	var rs struct {
		Secret string `json:"client_secret"`
	}
	json.Unmarshal(s.must(201, "POST", "/v1/apps", `{"id":"orders-api","oauth":{"grant_types":["client_credentials"],"audiences":["https://orders.example"]}}`), &rs)
	verifier, ch := pkce()
	b := s.browser()
	if q := s.toClient(b.get(authzPath("shop", ch, url.Values{"prompt": {"none"}}))); q.Get("error") != "login_required" {
		t.Errorf("prompt=none without a session: %v", q)
	}
	authz := authzPath("shop", ch, nil)
	cp := b.signIn(authz)
	for _, w := range []string{"Shop shop", "<code>orders:read</code> — read orders", "app.example"} {
		if !strings.Contains(cp.body, w) {
			t.Errorf("consent page lacks %q", w)
		}
	}
	if cp.hdr.Get("Cache-Control") != "no-store" || cp.hdr.Get("X-Frame-Options") != "DENY" || !strings.Contains(cp.hdr.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Errorf("consent page headers %v", cp.hdr)
	}
	req := consentRequest(t, cp)
	if q := s.toClient(b.get(authzPath("shop", ch, url.Values{"prompt": {"none"}}))); q.Get("error") != "consent_required" {
		t.Errorf("prompt=none without consent: %v", q)
	}
	if p := b.post("/oauth2/authorize/consent", url.Values{"decision": {"allow"}, "request": {req}, "csrf": {"forged"}}); p.status != 403 {
		t.Errorf("consent with a wrong CSRF token: %d", p.status)
	}
	if p := b.do("POST", "/oauth2/authorize/consent", url.Values{"decision": {"allow"}, "request": {req}, "csrf": {b.csrf}},
		map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}); p.status != 403 {
		t.Errorf("cross-site consent: %d", p.status)
	}
	tampered, _ := url.ParseQuery(req)
	tampered.Set("redirect_uri", "https://evil.example/cb")
	if p := b.post("/oauth2/authorize/consent", url.Values{"decision": {"allow"}, "request": {tampered.Encode()}}); p.status != 400 || p.loc != "" {
		t.Errorf("tampered request field: %d %q", p.status, p.loc)
	}
	if q := s.toClient(b.post("/oauth2/authorize/consent", url.Values{"decision": {"deny"}, "request": {req}})); q.Get("error") != "access_denied" || q.Has("code") {
		t.Errorf("deny: %v", q)
	}
	q := s.toClient(b.post("/oauth2/authorize/consent", url.Values{"decision": {"allow"}, "request": {req}}))
	st, tok := s.redeem("shop", q.Get("code"), verifier)
	if st != 200 || tok["access_token"] == nil {
		// "a keyspace that forbids permanent keys needs a default_ttl or
		// max_ttl": oauth.ensureKeyspace creates oauth-grants with neither.
		t.Fatalf("redeem: %d %v", st, tok)
	}
	at := tok["access_token"].(string)
	if !s.active(at, rs.Secret) {
		t.Fatal("the new access token is not active")
	}
	// Remembered: straight back, even with prompt=none.
	v2, ch2 := pkce()
	q2 := s.toClient(b.get(authzPath("shop", ch2, url.Values{"prompt": {"none"}})))
	st, tok2 := s.redeem("shop", q2.Get("code"), v2)
	if st != 200 {
		t.Fatalf("second code: %d %v", st, tok2)
	}
	// AS-06: a code redeemed twice fails, and what it gave dies.
	if st, m := s.redeem("shop", q2.Get("code"), v2); st != 400 || m["error"] != "invalid_grant" {
		t.Errorf("code redeemed twice: %d %v", st, m)
	}
	if s.active(tok2["access_token"].(string), rs.Secret) {
		t.Error("AS-06: the token of a replayed code is still active")
	}
	// prompt=login: one more sign-in, then back to the client (no loop).
	v3, ch3 := pkce()
	q3 := s.toClient(b.signIn(authzPath("shop", ch3, url.Values{"prompt": {"login"}})))
	if st, m := s.redeem("shop", q3.Get("code"), v3); st != 200 {
		t.Fatalf("prompt=login code: %d %v", st, m)
	}
	// max_age=0: the same, for a session of any age; max_age=3600 does not ask.
	v5, ch5 := pkce()
	q5 := s.toClient(b.signIn(authzPath("shop", ch5, url.Values{"max_age": {"0"}})))
	if st, m := s.redeem("shop", q5.Get("code"), v5); st != 200 {
		t.Fatalf("max_age=0 code: %d %v", st, m)
	}
	s.toClient(b.get(authzPath("shop", ch5, url.Values{"max_age": {"3600"}})))
	// skip_consent: no consent page.
	v4, ch4 := pkce()
	q4 := s.toClient(b.get(authzPath("first", ch4, nil)))
	if st, _ := s.redeem("first", q4.Get("code"), v4); st != 200 {
		t.Fatalf("skip_consent code: %d", st)
	}
	// The API lists alice's grants; the portal too, and revokes them.
	var list struct {
		Grants []struct {
			ID       string `json:"id"`
			ClientID string `json:"client_id"`
		} `json:"grants"`
	}
	json.Unmarshal(s.must(200, "GET", "/v1/users/alice/grants", ""), &list)
	if len(list.Grants) != 4 {
		t.Fatalf("GET /v1/users/alice/grants: %d grants, want 4", len(list.Grants))
	}
	me := b.get("/ui/me")
	if !strings.Contains(me.body, "Apps you have authorized") || !strings.Contains(me.body, "Shop first") {
		t.Fatalf("portal: %.400s", me.body)
	}
	ids := regexp.MustCompile(`action="/ui/me/grants/([^/"]+)/revoke"`).FindAllStringSubmatch(me.body, -1)
	if len(ids) != 4 || ids[0][1] != list.Grants[0].ID || list.Grants[0].ClientID != "first" {
		t.Fatalf("portal lists %d grants", len(ids))
	}
	if p := b.post("/ui/me/grants/"+ids[0][1]+"/revoke", url.Values{}); p.status != 200 || !strings.Contains(p.body, "revoked") {
		t.Fatalf("portal revoke: %d", p.status)
	}
	var n struct{ Revoked int }
	if st, body := s.api("DELETE", "/v1/users/alice/grants", ""); st != 400 || !strings.Contains(string(body), "missing_client_id") {
		t.Errorf("DELETE /v1/users/alice/grants without client_id: %d %s", st, body)
	}
	if !s.active(at, rs.Secret) {
		t.Fatal("revoking another grant ended this one's token")
	}
	json.Unmarshal(s.must(200, "DELETE", "/v1/users/alice/grants?client_id=first", ""), &n)
	if n.Revoked != 0 {
		t.Errorf("revoke alice's grants to first, revoked in the portal: %d, want 0", n.Revoked)
	}
	json.Unmarshal(s.must(200, "DELETE", "/v1/apps/shop/grants", ""), &n)
	if n.Revoked != 3 {
		t.Errorf("revoke shop's grants: %d, want 3", n.Revoked)
	}
	if s.active(at, rs.Secret) {
		t.Error("the access token of a revoked grant is still active")
	}
	if !strings.Contains(b.get("/ui/me").body, "You have not authorized any app") {
		t.Error("the portal still lists revoked grants")
	}
	if st, _ := s.api("DELETE", "/v1/users/bob/grants/"+ids[0][1], ""); st != 404 {
		t.Errorf("revoking alice's grant as bob's: %d, want 404", st)
	}
	// Consent forgotten with the grants: the page again.
	consentRequest(t, b.get(authzPath("shop", ch, nil)))
}

// TestAuthorizeWithoutOAuth: a server without OAuth has no authorization
// endpoint.
func TestAuthorizeWithoutOAuth(t *testing.T) {
	h, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ method, path string }{{"GET", "/oauth2/authorize?client_id=a"}, {"POST", "/oauth2/authorize"}, {"POST", "/oauth2/authorize/consent"}} {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(c.method, c.path, strings.NewReader(""))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		h.ServeHTTP(w, r)
		if w.Code != 404 || w.Header().Get("Location") != "" {
			t.Errorf("%s %s: %d", c.method, c.path, w.Code)
		}
	}
}

// TestPlainScope: the consent page's lines say what the name says.
func TestPlainScope(t *testing.T) {
	for in, want := range map[string]string{"orders:read": "read orders", "orders:write": "change orders", "billing:*": "do anything with billing",
		"*:read": "read everything", "admin": "use admin", "a:export": "export a"} {
		if got := plainScope(in); got != want {
			t.Errorf("plainScope(%q) = %q, want %q", in, got, want)
		}
	}
}
