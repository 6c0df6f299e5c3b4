package server_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/server"
)

// People end to end over real HTTP: the people API (passwords, TOTP,
// factors, sessions) and the sign-in pages driven by a plain net/http
// client with a cookie jar, as a browser without JavaScript would.

// alicePassword is a password the strength check accepts (test value).
const alicePassword = "correct horse battery staple 42"

// browser is a cookie-keeping HTTP client that does not follow redirects
// and sends Origin on POSTs, as browsers do.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string // the hidden csrf field of the last page
}

func newBrowser(t *testing.T, base string, pool *x509.CertPool) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if pool != nil {
		c.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	}
	return &browser{t: t, base: base, c: c}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]*)"`)

// send sends a request; hdr may override Origin (set to "" to omit it).
func (b *browser) send(method, path string, form url.Values, hdr map[string]string) response {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if method == http.MethodPost {
		req.Header.Set("Origin", b.base)
	}
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatalf("%s %s: read: %v", method, path, err)
	}
	if m := csrfField.FindSubmatch(raw); m != nil {
		b.csrf = string(m[1])
	}
	return response{resp.StatusCode, resp.Header, raw}
}

func (b *browser) get(path string) response { b.t.Helper(); return b.send("GET", path, nil, nil) }

// post posts form with the page's csrf token added.
func (b *browser) post(path string, form url.Values) response {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", b.csrf)
	}
	return b.send("POST", path, form, nil)
}

// login opens /login and posts the credentials.
func (b *browser) login(user, password string) response {
	b.t.Helper()
	if r := b.get("/login"); r.Status != 200 || b.csrf == "" {
		b.t.Fatalf("GET /login: %d, csrf %q", r.Status, b.csrf)
	}
	return b.post("/login", url.Values{"username": {user}, "password": {password}})
}

// mustLogin signs in and checks the redirect to /ui/me.
func (b *browser) mustLogin(user, password string) {
	b.t.Helper()
	r := b.login(user, password)
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/ui/me" {
		b.t.Fatalf("sign-in of %s: %d Location %q; %.300s", user, r.Status, r.Header.Get("Location"), r.Body)
	}
}

// signedIn reports whether GET /ui/me shows the account (true) or sends
// the browser to /login (false).
func (b *browser) signedIn() bool {
	b.t.Helper()
	r := b.get("/ui/me")
	switch {
	case r.Status == 200:
		return true
	case r.Status == http.StatusSeeOther && strings.HasPrefix(r.Header.Get("Location"), "/login"):
		return false
	}
	b.t.Fatalf("GET /ui/me: %d Location %q", r.Status, r.Header.Get("Location"))
	return false
}

// cookie returns the jar's cookie name for the server, or "".
func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.base)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// setCookie puts a cookie into the jar.
func (b *browser) setCookie(name, value string) {
	u, _ := url.Parse(b.base)
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

// newUser creates user id with permissions and (if not empty) password.
func newUser(t *testing.T, s *testServer, id, password string, perms ...string) {
	t.Helper()
	body, _ := json.Marshal(api.CreatePrincipalRequest{ID: id, Permissions: perms})
	if r := s.doJSON(t, "POST", "/v1/users", s.Root, string(body)); r.Status != 201 {
		t.Fatalf("create user %s: %d %.200s", id, r.Status, r.Body)
	}
	if password != "" {
		body, _ := json.Marshal(api.SetPasswordRequest{Password: password})
		if r := s.doJSON(t, "PUT", "/v1/users/"+id+"/password", s.Root, string(body)); r.Status != 204 {
			t.Fatalf("set password of %s: %d %.200s", id, r.Status, r.Body)
		}
	}
}

// sessionsOf lists a user's sessions through the API.
func sessionsOf(t *testing.T, s *testServer, id string) []api.Session {
	t.Helper()
	r := s.doJSON(t, "GET", "/v1/users/"+id+"/sessions", s.Root, "")
	if r.Status != 200 {
		t.Fatalf("GET sessions of %s: %d %.200s", id, r.Status, r.Body)
	}
	var l api.SessionList
	if err := json.Unmarshal(r.Body, &l); err != nil {
		t.Fatal(err)
	}
	return l.Items
}

// auditByRequest returns every audit record, grouped by request id.
func auditByRequest(t *testing.T, s *testServer) map[string][]api.AuditEvent {
	t.Helper()
	root := s.client(t, s.Root)
	out := map[string][]api.AuditEvent{}
	opts := client.AuditListOptions{Limit: 500}
	for range 100 {
		page, err := root.Audit(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Items {
			out[e.RequestID] = append(out[e.RequestID], e)
		}
		if opts.Cursor = page.NextCursor; opts.Cursor == "" {
			break
		}
	}
	return out
}

// TestPeopleAPI_AUD01: the people endpoints over HTTP answer as the API
// says, and every state change leaves exactly one audit record (with the
// request id the client sent) while refused input and reads leave none,
// except a refusal for lack of permission, audited once as denied.
func TestPeopleAPI_AUD01(t *testing.T) {
	s := startServer(t, server.Config{})
	ctx := context.Background()
	root := s.client(t, s.Root)
	me, err := root.Self(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ro, err := root.CreateKey(ctx, api.CreateKeyRequest{Keyspace: "latchkey", Scopes: []string{"keys:read"}})
	if err != nil {
		t.Fatal(err)
	}
	newUser(t, s, "alice", "")

	send := func(rid, tok, method, path, body string, want int) response {
		t.Helper()
		req, err := http.NewRequest(method, s.URL+path, bytes.NewBufferString(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Request-Id", rid)
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		r := response{resp.StatusCode, resp.Header, b}
		if r.Status != want {
			t.Fatalf("%s %s: %d, want %d; %.300s", method, path, r.Status, want, b)
		}
		return r
	}
	pw := `{"password":"` + alicePassword + `"}`
	send("p-set", s.Root, "PUT", "/v1/users/alice/password", pw, 204)
	// A weak password is well-formed input the server refuses: 422, as
	// every validation failure of the API (400 is for malformed bodies).
	if p := wantProblem(t, send("p-weak", s.Root, "PUT", "/v1/users/alice/password", `{"password":"password"}`, 422), 422); p.Code != "weak_password" {
		t.Errorf("weak password: code %q, want weak_password", p.Code)
	}
	if p := wantProblem(t, send("p-nouser", s.Root, "PUT", "/v1/users/nobody/password", pw, 404), 404); p.Code == "" {
		t.Error("unknown user: no problem code")
	}
	wantProblem(t, send("p-malformed", s.Root, "PUT", "/v1/users/alice/password", `{"password":`, 400), 400)
	wantProblem(t, send("p-denied", ro.Secret, "PUT", "/v1/users/alice/password", pw, 403), 403)

	var enr api.TOTPEnrollment
	r := send("t-enroll", s.Root, "POST", "/v1/users/alice/totp", ``, 201)
	if err := json.Unmarshal(r.Body, &enr); err != nil || enr.Secret == "" || !strings.HasPrefix(enr.OTPAuthURI, "otpauth://totp/") {
		t.Fatalf("enrolment %+v %v", enr, err)
	}
	if cc := r.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("TOTP enrolment Cache-Control %q, want no-store", cc)
	}
	code, err := totp.GenerateCode(enr.Secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var rc api.RecoveryCodes
	json.Unmarshal(send("t-confirm", s.Root, "POST", "/v1/users/alice/totp/confirm", `{"code":"`+code+`"}`, 200).Body, &rc)
	if len(rc.RecoveryCodes) != 10 {
		t.Fatalf("%d recovery codes, want 10", len(rc.RecoveryCodes))
	}
	if p := wantProblem(t, send("t-again", s.Root, "POST", "/v1/users/alice/totp", ``, 409), 409); p.Code != "totp_active" {
		t.Errorf("second enrolment: code %q, want totp_active", p.Code)
	}
	var f api.Factors
	json.Unmarshal(send("f-get", s.Root, "GET", "/v1/users/alice/factors", ``, 200).Body, &f)
	if !f.Password || f.TOTP != "active" || f.RecoveryCodesLeft != 10 || f.Source != "local" {
		t.Errorf("factors %+v, want a password, active TOTP and 10 recovery codes", f)
	}
	send("t-delete", s.Root, "DELETE", "/v1/users/alice/totp", ``, 204)
	json.Unmarshal(send("f-get2", s.Root, "GET", "/v1/users/alice/factors", ``, 200).Body, &f)
	if f.TOTP != "none" {
		t.Errorf("factors after removing TOTP: %+v", f)
	}

	// Two sessions through the sign-in page, then end one, then all.
	b1, b2 := newBrowser(t, s.URL, nil), newBrowser(t, s.URL, nil)
	b1.mustLogin("alice", alicePassword)
	b2.mustLogin("alice", alicePassword)
	var sl api.SessionList
	json.Unmarshal(send("s-list", s.Root, "GET", "/v1/users/alice/sessions", ``, 200).Body, &sl)
	if len(sl.Items) != 2 {
		t.Fatalf("%d sessions, want 2", len(sl.Items))
	}
	for _, ss := range sl.Items {
		if ss.UserID != "alice" || ss.ID == "" || strings.Contains(string(mustJSON(t, ss)), b1.cookie("latchkey_session")) {
			t.Errorf("session %+v", ss)
		}
	}
	send("s-end", s.Root, "DELETE", "/v1/users/alice/sessions/"+sl.Items[0].ID, ``, 204)
	wantProblem(t, send("s-end-again", s.Root, "DELETE", "/v1/users/alice/sessions/"+sl.Items[0].ID, ``, 404), 404)
	if n := len(sessionsOf(t, s, "alice")); n != 1 {
		t.Fatalf("%d sessions after ending one, want 1", n)
	}
	var ended api.SessionsEnded
	json.Unmarshal(send("s-end-all", s.Root, "DELETE", "/v1/users/alice/sessions", ``, 200).Body, &ended)
	if ended.Ended != 1 {
		t.Errorf("ended %d, want 1", ended.Ended)
	}
	if b1.signedIn() || b2.signedIn() {
		t.Error("a browser is still signed in after DELETE /v1/users/alice/sessions")
	}

	// Each request leaves exactly one record of its action. Confirming
	// TOTP also issues recovery codes, and removing the last second factor
	// removes them: those are state changes of their own, each with its
	// one record under the same request id (and nothing else is there).
	byReq := auditByRequest(t, s)
	for _, tt := range []struct {
		rid, action, actor, outcome string
		also                        []string
	}{
		{"p-set", "user.password.set", me.KeyID, "success", nil},
		{"p-denied", "user.password.set", ro.ID, "denied", nil},
		{"t-enroll", "user.totp.enroll", me.KeyID, "success", nil},
		{"t-confirm", "user.totp.confirm", me.KeyID, "success", []string{"user.recovery_codes.create"}},
		{"t-delete", "user.totp.remove", me.KeyID, "success", []string{"user.recovery_codes.remove"}},
		{"s-end", "session.end", me.KeyID, "success", nil},
		{"s-end-all", "session.end_all", me.KeyID, "success", nil},
	} {
		evs := byReq[tt.rid]
		var actions []string
		var main []api.AuditEvent
		for _, e := range evs {
			actions = append(actions, e.Action)
			if e.Action == tt.action {
				main = append(main, e)
			}
		}
		want := append([]string{tt.action}, tt.also...)
		sort.Strings(actions)
		sort.Strings(want)
		if len(main) != 1 || !slices.Equal(actions, want) {
			t.Errorf("%s: audit records %v, want exactly %v: %+v", tt.rid, actions, want, evs)
			continue
		}
		if e := main[0]; e.Actor != tt.actor || e.Outcome != tt.outcome || (tt.outcome == "success" && e.TargetID != "alice") {
			t.Errorf("%s: audit record %+v, want actor %s outcome %s target alice", tt.rid, e, tt.actor, tt.outcome)
		}
	}
	for _, rid := range []string{"p-weak", "p-malformed", "p-nouser", "t-again", "f-get", "f-get2", "s-list", "s-end-again"} {
		if n := len(byReq[rid]); n != 0 {
			t.Errorf("%s changed nothing but left %d audit records: %+v", rid, n, byReq[rid])
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestLoginPageHeadersAndCSRF: the sign-in page is not cacheable or
// frameable and allows only same-origin script; a POST without the CSRF
// token, with a wrong one, or from another site is refused with 403 and
// signs nobody in.
func TestLoginPageHeadersAndCSRF(t *testing.T) {
	s := startServer(t, server.Config{})
	newUser(t, s, "alice", alicePassword)
	b := newBrowser(t, s.URL, nil)
	r := b.get("/login")
	if r.Status != 200 {
		t.Fatalf("GET /login: %d", r.Status)
	}
	csp := r.Header.Get("Content-Security-Policy")
	for _, want := range []string{"script-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %s", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP %q allows inline or eval'd script", csp)
	}
	if v := r.Header.Get("X-Frame-Options"); v != "DENY" {
		t.Errorf("X-Frame-Options %q, want DENY", v)
	}
	if v := r.Header.Get("Cache-Control"); !strings.Contains(v, "no-store") {
		t.Errorf("Cache-Control %q, want no-store", v)
	}
	if b.csrf == "" || b.cookie("latchkey_csrf") != b.csrf {
		t.Fatalf("the page's csrf field %q does not match the latchkey_csrf cookie", b.csrf)
	}
	creds := func() url.Values { return url.Values{"username": {"alice"}, "password": {alicePassword}} }
	for _, tt := range []struct {
		name string
		form url.Values
		hdr  map[string]string
	}{
		{"no csrf field", creds(), nil},
		{"wrong csrf", func() url.Values { f := creds(); f.Set("csrf", strings.Repeat("A", 43)); return f }(), nil},
		{"empty csrf", func() url.Values { f := creds(); f.Set("csrf", ""); return f }(), nil},
		{"cross-site Origin", func() url.Values { f := creds(); f.Set("csrf", b.csrf); return f }(), map[string]string{"Origin": "https://evil.example"}},
		{"Sec-Fetch-Site cross-site", func() url.Values { f := creds(); f.Set("csrf", b.csrf); return f }(), map[string]string{"Sec-Fetch-Site": "cross-site"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := b.send("POST", "/login", tt.form, tt.hdr)
			if r.Status != http.StatusForbidden {
				t.Fatalf("status %d, want 403; Location %q", r.Status, r.Header.Get("Location"))
			}
			if b.cookie("latchkey_session") != "" {
				t.Fatal("a refused POST set a session cookie")
			}
		})
	}
	if n := len(sessionsOf(t, s, "alice")); n != 0 {
		t.Fatalf("%d sessions after refused POSTs, want 0", n)
	}
	// The same form with the token, same-origin, works.
	r = b.send("POST", "/login", func() url.Values { f := creds(); f.Set("csrf", b.csrf); return f }(), nil)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("same-origin POST with the token: %d", r.Status)
	}
}

// normalize removes what a sign-in answer may legitimately echo: the CSRF
// token and the typed username.
func normalize(body []byte, csrf, username string) string {
	s := string(body)
	if csrf != "" {
		s = strings.ReplaceAll(s, csrf, "<csrf>")
	}
	return strings.ReplaceAll(s, `value="`+username+`"`, `value="<user>"`)
}

// TestADM04_SameAnswerUnknownWrongDisabled_HTTP: an unknown user, a wrong
// password and a disabled user's right password get the same status and
// page (but for the CSRF token and the echoed username), and the same
// timing: 15 attempts of each kind, interleaved in triples (one of each
// kind, in rotating order), and the median over the triples of each
// kind's time relative to the unknown user's in the same triple must lie
// within [0.5, 2]. argon2id dominates every answer; a path that skipped it
// would be at a ratio near 0.1. Comparing within a triple cancels the load
// bursts of a shared machine; the measurement is retried on a fresh server
// up to three times, which noise passes and a real difference never does.
func TestADM04_SameAnswerUnknownWrongDisabled_HTTP(t *testing.T) {
	var last []float64
	for attempt := 1; attempt <= 3; attempt++ {
		ratios := measureSignInTimes(t)
		if ratios[1] >= 0.5 && ratios[1] <= 2 && ratios[2] >= 0.5 && ratios[2] <= 2 {
			t.Logf("attempt %d: median ratios to the unknown user: wrong password %.2f, disabled user %.2f", attempt, ratios[1], ratios[2])
			return
		}
		t.Logf("attempt %d: median ratios to the unknown user: wrong password %.2f, disabled user %.2f (outside [0.5, 2])", attempt, ratios[1], ratios[2])
		last = ratios
	}
	t.Errorf("sign-in failures take different times by kind in 3 of 3 measurements: ratios %.2f (wrong password) and %.2f (disabled user) to an unknown user, want within [0.5, 2]", last[1], last[2])
}

// measureSignInTimes runs the ADM-04 attempts on a fresh server, checks
// their answers and returns, per kind, the median over triples of its time
// over the unknown user's.
func measureSignInTimes(t *testing.T) []float64 {
	t.Helper()
	s := startServer(t, server.Config{})
	// Failures are throttled per user after 5 (ADM-03) and per address
	// after 50: five users of each kind take three attempts each.
	const users, rounds = 5, 3
	for i := range users {
		newUser(t, s, "wrong"+string(rune('a'+i)), alicePassword)
		d := "dis" + string(rune('a'+i))
		newUser(t, s, d, alicePassword)
		if r := s.doJSON(t, "PATCH", "/v1/users/"+d, s.Root, `{"disabled":true}`); r.Status != 200 {
			t.Fatalf("disable %s: %d %.200s", d, r.Status, r.Body)
		}
	}
	kinds := []struct {
		name     string
		user     func(i int) string
		password string
	}{
		{"unknown user", func(i int) string { return "ghost" + string(rune('a'+i)) }, alicePassword},
		{"wrong password", func(i int) string { return "wrong" + string(rune('a'+i)) }, alicePassword + "x"},
		{"disabled user", func(i int) string { return "dis" + string(rune('a'+i)) }, alicePassword},
	}
	b := newBrowser(t, s.URL, nil)
	b.get("/login")
	var want string
	ratios := make([][]float64, len(kinds))
	n := 0
	for round := range rounds {
		for i := range users {
			d := make([]time.Duration, len(kinds))
			for j := range kinds {
				k := (j + n) % len(kinds) // rotate which kind goes first
				u := kinds[k].user(i)
				form := url.Values{"username": {u}, "password": {kinds[k].password}}
				start := time.Now()
				r := b.post("/login", form)
				d[k] = time.Since(start)
				if r.Status != http.StatusUnauthorized {
					t.Fatalf("%s (%s, round %d): %d, want 401", kinds[k].name, u, round, r.Status)
				}
				body := normalize(r.Body, b.csrf, u)
				if want == "" {
					want = body
				}
				if body != want {
					t.Fatalf("%s answers a different page than the first failure:\n%s\n---\n%s", kinds[k].name, body, want)
				}
			}
			n++
			for k := range kinds {
				ratios[k] = append(ratios[k], float64(d[k])/float64(d[0]))
			}
		}
	}
	out := make([]float64, len(kinds))
	for k := range kinds {
		r := slices.Clone(ratios[k])
		slices.Sort(r)
		out[k] = r[len(r)/2]
	}
	return out
}

// TestADM03_SharedLockoutVariants_HTTP: six failures spread over "Admin",
// " admin", "admin\u200b" and "admin" lock "admin" itself: the right
// password then gets 429 with Retry-After, and no session.
func TestADM03_SharedLockoutVariants_HTTP(t *testing.T) {
	s := startServer(t, server.Config{})
	newUser(t, s, "admin", alicePassword)
	b := newBrowser(t, s.URL, nil)
	b.get("/login")
	for i, u := range []string{"Admin", " admin", "admin\u200b", "ADMIN", "admin ", "Admin\u200b"} {
		if r := b.post("/login", url.Values{"username": {u}, "password": {"wrong password " + string(rune('a'+i))}}); r.Status != http.StatusUnauthorized {
			t.Fatalf("failure %d (%q): %d, want 401", i+1, u, r.Status)
		}
	}
	r := b.post("/login", url.Values{"username": {"admin"}, "password": {alicePassword}})
	if r.Status != http.StatusTooManyRequests {
		t.Fatalf("right password after 6 failures of variants: %d, want 429", r.Status)
	}
	if ra := r.Header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Errorf("Retry-After %q", ra)
	}
	if b.cookie("latchkey_session") != "" || len(sessionsOf(t, s, "admin")) != 0 {
		t.Error("a throttled sign-in started a session")
	}
}

// TestLoginReturnToAndCookies: after sign-in an off-site return_to lands
// on /ui/me and an on-site one is kept; the session cookie is HttpOnly,
// SameSite=Lax and (over plain HTTP) not Secure; a session cookie planted
// before sign-in is dead after it (no fixation); POST /logout ends the
// session.
func TestLoginReturnToAndCookies(t *testing.T) {
	s := startServer(t, server.Config{})
	newUser(t, s, "alice", alicePassword)
	b := newBrowser(t, s.URL, nil)
	for _, tt := range []struct{ returnTo, want string }{
		{"//evil.example", "/ui/me"},
		{"https://evil.example/x", "/ui/me"},
		{"/\\evil.example", "/ui/me"},
		{"/ui/me?tab=sessions", "/ui/me?tab=sessions"},
	} {
		b.get("/login")
		r := b.post("/login", url.Values{"username": {"alice"}, "password": {alicePassword}, "return_to": {tt.returnTo}})
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != tt.want {
			t.Errorf("return_to %q: %d Location %q, want %s", tt.returnTo, r.Status, r.Header.Get("Location"), tt.want)
		}
	}

	// Cookie flags, from the Set-Cookie of a fresh sign-in.
	fresh := newBrowser(t, s.URL, nil)
	fresh.get("/login")
	req, _ := http.NewRequest("POST", s.URL+"/login", strings.NewReader(url.Values{"username": {"alice"}, "password": {alicePassword}, "csrf": {fresh.csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", s.URL)
	u, _ := url.Parse(s.URL)
	for _, c := range fresh.c.Jar.Cookies(u) {
		req.AddCookie(c)
	}
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	checkSessionCookie(t, resp, "latchkey_session", false)

	// Fixation: a cookie the browser had before signing in is dead after.
	b2 := newBrowser(t, s.URL, nil)
	b2.mustLogin("alice", alicePassword)
	before := b2.cookie("latchkey_session")
	b2.mustLogin("alice", alicePassword)
	after := b2.cookie("latchkey_session")
	if before == "" || after == "" || before == after {
		t.Fatalf("sign-in did not issue a new session cookie")
	}
	old := newBrowser(t, s.URL, nil)
	old.setCookie("latchkey_session", before)
	if old.signedIn() {
		t.Error("the session cookie from before the sign-in still works after it (session fixation)")
	}
	if !b2.signedIn() {
		t.Fatal("the new session does not work")
	}
	// A planted unknown cookie is replaced, not adopted.
	b3 := newBrowser(t, s.URL, nil)
	b3.setCookie("latchkey_session", "planted-by-attacker-0123456789abcdefghijklmnop")
	b3.mustLogin("alice", alicePassword)
	if b3.cookie("latchkey_session") == "planted-by-attacker-0123456789abcdefghijklmnop" {
		t.Error("sign-in kept the planted session cookie")
	}

	// Logout.
	b2.get("/ui/me")
	cookie := b2.cookie("latchkey_session")
	if r := b2.post("/logout", nil); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
		t.Fatalf("POST /logout: %d Location %q", r.Status, r.Header.Get("Location"))
	}
	if b2.signedIn() {
		t.Error("still signed in after POST /logout")
	}
	replay := newBrowser(t, s.URL, nil)
	replay.setCookie("latchkey_session", cookie)
	if replay.signedIn() {
		t.Error("the logged-out session cookie still works when replayed")
	}
}

// checkSessionCookie checks the Set-Cookie of the session in resp.
func checkSessionCookie(t *testing.T, resp *http.Response, name string, secure bool) {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name != name {
			continue
		}
		if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure != secure || c.Path != "/" || c.Domain != "" {
			t.Errorf("session cookie %s: HttpOnly %v SameSite %v Secure %v Path %q Domain %q; want HttpOnly, Lax, Secure %v, Path /, no Domain",
				name, c.HttpOnly, c.SameSite, c.Secure, c.Path, c.Domain, secure)
		}
		return
	}
	t.Fatalf("no %s cookie in the sign-in answer (status %d)", name, resp.StatusCode)
}

// TestLoginTLSHostCookie: served over TLS, the session cookie is
// __Host-latchkey_session with Secure (and no plain-named cookie is set).
func TestLoginTLSHostCookie(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	s := startServer(t, server.Config{DataDir: dir, TLSCert: certFile, TLSKey: keyFile})
	base := strings.Replace(s.URL, "http://", "https://", 1)
	b := newBrowser(t, base, pool)
	tr := b.c.Transport
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	body, _ := json.Marshal(api.CreatePrincipalRequest{ID: "alice"})
	req, _ := http.NewRequest("POST", base+"/v1/users", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.Root)
	req.Header.Set("Content-Type", "application/json")
	if resp, err := hc.Do(req); err != nil || resp.StatusCode != 201 {
		t.Fatalf("create user over TLS: %v %v", resp, err)
	}
	req, _ = http.NewRequest("PUT", base+"/v1/users/alice/password", strings.NewReader(`{"password":"`+alicePassword+`"}`))
	req.Header.Set("Authorization", "Bearer "+s.Root)
	req.Header.Set("Content-Type", "application/json")
	if resp, err := hc.Do(req); err != nil || resp.StatusCode != 204 {
		t.Fatalf("set password over TLS: %v %v", resp, err)
	}
	b.get("/login")
	if b.cookie("__Host-latchkey_csrf") == "" {
		t.Error("no __Host-latchkey_csrf cookie over TLS")
	}
	req, _ = http.NewRequest("POST", base+"/login", strings.NewReader(url.Values{"username": {"alice"}, "password": {alicePassword}, "csrf": {b.csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	u, _ := url.Parse(base)
	for _, c := range b.c.Jar.Cookies(u) {
		req.AddCookie(c)
	}
	resp, err := (&http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in over TLS: %d", resp.StatusCode)
	}
	checkSessionCookie(t, resp, "__Host-latchkey_session", true)
	for _, c := range resp.Cookies() {
		if c.Name == "latchkey_session" {
			t.Error("a plain latchkey_session cookie was set over TLS")
		}
	}
}

// TestLoginDisabledUserSignedOutAtOnce: disabling a user through the API
// sends their browser to /login on its next request and leaves no live
// sessions.
func TestLoginDisabledUserSignedOutAtOnce(t *testing.T) {
	s := startServer(t, server.Config{})
	newUser(t, s, "alice", alicePassword)
	b := newBrowser(t, s.URL, nil)
	b.mustLogin("alice", alicePassword)
	if !b.signedIn() {
		t.Fatal("not signed in")
	}
	if r := s.doJSON(t, "PATCH", "/v1/users/alice", s.Root, `{"disabled":true}`); r.Status != 200 {
		t.Fatalf("disable: %d %.200s", r.Status, r.Body)
	}
	if b.signedIn() {
		t.Error("the disabled user's browser is still signed in")
	}
	if n := len(sessionsOf(t, s, "alice")); n != 0 {
		t.Errorf("%d live sessions of the disabled user, want 0", n)
	}
	if r := b.login("alice", alicePassword); r.Status != http.StatusUnauthorized {
		t.Errorf("sign-in of the disabled user: %d, want 401", r.Status)
	}
}
