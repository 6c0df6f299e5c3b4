package web

import (
	"context"
	"database/sql"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/latchkey/latchkey/apitoken"
	"github.com/latchkey/latchkey/auditlog"
	"github.com/latchkey/latchkey/leak"
	"github.com/latchkey/latchkey/seal"
	"github.com/latchkey/latchkey/store/sqlstore"
	"github.com/latchkey/latchkey/token"
	"github.com/latchkey/latchkey/verify"
	"github.com/latchkey/latchkey/webhook"
)

// opsStack is a console stack with the operations pages: webhooks (with
// a dispatcher the test runs by hand), leak reports and the audit chain.
type opsStack struct {
	*stack
	clock      *testClock
	path       string // the SQLite file
	dispatcher *webhook.Dispatcher
	leaks      *leak.Service
	redelivers atomic.Int32
	// gate, if set, holds each verification until it is closed, after
	// telling entered.
	gate    atomic.Pointer[verifyGate]
	entered chan struct{}
	// stuck makes each verification wait for its deadline.
	stuck atomic.Bool
}

type verifyGate struct{ release chan struct{} }

// verifyTimeout bounds the verifications of the tests: ample for their
// small logs on a busy machine, short for the one that runs into it.
const verifyTimeout = 3 * time.Second

func newOpsStack(t *testing.T, allowPrivate bool) *opsStack {
	t.Helper()
	o := &opsStack{clock: &testClock{t: time.Now()}, entered: make(chan struct{}, 1)}
	o.stack = newStackWith(t, o.clock.Now, func(db *sqlstore.DB, path string, box *seal.Box, svc *token.Service) OpsConfig {
		o.path = path
		l, err := auditlog.New(context.Background(), auditlog.Config{Store: db.AuditStore(), Box: box})
		if err != nil {
			t.Fatal(err)
		}
		o.leaks = leak.New(leak.Config{Store: db, Tokens: svc})
		t.Cleanup(o.leaks.Close)
		o.dispatcher = webhook.NewDispatcher(webhook.DispatcherConfig{Store: db, Box: box, AllowPrivate: allowPrivate})
		return OpsConfig{
			Webhooks:    webhook.NewService(webhook.Config{Store: db, Box: box, Tokens: svc, AllowPrivate: allowPrivate}),
			OnRedeliver: func() { o.redelivers.Add(1) },
			Leaks:       o.leaks,
			AuditLog:    l,
			AuditSnapshot: func(ctx context.Context, fn func(auditlog.Source) error) error {
				if g := o.gate.Load(); g != nil {
					o.entered <- struct{}{}
					<-g.release
				}
				if o.stuck.Load() {
					<-ctx.Done()
					return ctx.Err()
				}
				return db.ReadAudit(ctx, func(r *sqlstore.AuditReader) error { return fn(r) })
			},
			AuditSeqs:     db.AuditSource().Seqs,
			VerifyTimeout: verifyTimeout,
		}
	})
	return o
}

// signIn signs user id in (creating it with perms; with TOTP when totpOn)
// and returns the browser and a source of fresh TOTP codes.
func (o *opsStack) signIn(t *testing.T, id, perms string, totpOn bool) (*tbrowser, func() string) {
	t.Helper()
	o.must(201, "POST", "/v1/users", `{"id":"`+id+`","permissions":[`+perms+`]}`)
	o.must(204, "PUT", "/v1/users/"+id+"/password", `{"password":"`+testPassword+`"}`)
	var code func() string
	if totpOn {
		var e struct {
			Secret string `json:"secret"`
		}
		if err := json.Unmarshal(o.must(201, "POST", "/v1/users/"+id+"/totp", ""), &e); err != nil || e.Secret == "" {
			t.Fatalf("enrol: %v", err)
		}
		code = func() string {
			o.clock.Add(31 * time.Second) // a code is used once: each one of a new step
			c, err := totp.GenerateCode(e.Secret, o.clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		o.must(200, "POST", "/v1/users/"+id+"/totp/confirm", `{"code":"`+code()+`"}`)
	}
	b := o.browser()
	b.get("/login")
	if p := b.post("/login", url.Values{"username": {id}, "password": {testPassword}}); p.status != http.StatusSeeOther {
		t.Fatalf("sign-in of %s: %d", id, p.status)
	}
	if totpOn {
		b.get("/login/verify")
		if p := b.post("/login/verify", url.Values{"otp": {code()}}); p.status != http.StatusSeeOther {
			t.Fatalf("second factor of %s: %d %.300s", id, p.status, p.body)
		}
	}
	return b, code
}

// receiver is a webhook endpoint that keeps what it gets.
type receiver struct {
	*httptest.Server
	mu  sync.Mutex
	got []delivered
}

type delivered struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, delivered{r.Header.Clone(), b})
		rc.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) deliveries() []delivered {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]delivered(nil), rc.got...)
}

// once runs the dispatcher over the due deliveries.
func (o *opsStack) once(t *testing.T) {
	t.Helper()
	if _, err := o.dispatcher.Once(context.Background()); err != nil {
		t.Fatal(err)
	}
}

var webhookIDRE = regexp.MustCompile(`href="/ui/webhooks/(wh_[A-Za-z0-9_-]+)"`)

// TestConsoleOpsAuthorization: the operations pages are 403 for a user
// without a management permission and for an admin without the scope each
// needs (webhooks:read, audit:read); the navigation offers only what the
// admin may see; webhooks:read alone may look but not change.
func TestConsoleOpsAuthorization(t *testing.T) {
	o := newOpsStack(t, false)
	pub, _ := o.signIn(t, "pat", `"orders:read"`, false)
	for _, path := range []string{"/ui/webhooks", "/ui/leaks", "/ui/webhooks/wh_x"} {
		if p := pub.get(path); p.status != http.StatusForbidden || !strings.Contains(p.body, "Administrators only") {
			t.Errorf("GET %s as a non-admin: %d", path, p.status)
		}
	}
	pub.get("/ui/me")
	if p := pub.post("/ui/audit/verify", url.Values{}); p.status != http.StatusForbidden {
		t.Errorf("verify as a non-admin: %d", p.status)
	}

	kim, _ := o.signIn(t, "kim", `"keys:read"`, true)
	if p := kim.get("/ui/keys"); p.status != http.StatusOK || strings.Contains(p.body, `href="/ui/webhooks"`) || strings.Contains(p.body, `href="/ui/leaks"`) {
		t.Errorf("keys:read admin: %d, nav offers webhooks or leaks: %v", p.status, strings.Contains(p.body, "/ui/webhooks"))
	}
	for _, path := range []string{"/ui/webhooks", "/ui/leaks", "/ui/webhooks/wh_x"} {
		if p := kim.get(path); p.status != http.StatusForbidden {
			t.Errorf("GET %s without its scope: %d %.200s", path, p.status, p.body)
		}
	}
	for _, path := range []string{"/ui/webhooks", "/ui/audit/verify"} {
		if p := kim.post(path, url.Values{"url": {"https://hooks.example/x"}, "events": {"key.revoked"}}); p.status != http.StatusForbidden {
			t.Errorf("POST %s without its scope: %d", path, p.status)
		}
	}

	rita, _ := o.signIn(t, "rita", `"webhooks:read","audit:read"`, true)
	p := rita.get("/ui/webhooks")
	if p.status != http.StatusOK || !strings.Contains(p.body, `href="/ui/webhooks"`) || !strings.Contains(p.body, `href="/ui/leaks"`) {
		t.Fatalf("webhooks:read admin: %d %.300s", p.status, p.body)
	}
	if strings.Contains(p.body, `action="/ui/webhooks"`) {
		t.Error("a webhooks:read admin is offered the create form")
	}
	if p := rita.post("/ui/webhooks", url.Values{"url": {"https://hooks.example/x"}, "events": {"key.revoked"}}); p.status != http.StatusForbidden {
		t.Errorf("create with webhooks:read: %d %.300s", p.status, p.body)
	}
	if p := rita.get("/ui/leaks"); p.status != http.StatusOK || !strings.Contains(p.body, `id="no-leaks"`) || !strings.Contains(p.body, leakReadme) {
		t.Errorf("empty leak reports: %d %.300s", p.status, p.body)
	}
}

// TestConsoleOpsCSRF: the operations pages' POSTs without the form's CSRF
// token are refused and change nothing.
func TestConsoleOpsCSRF(t *testing.T) {
	o := newOpsStack(t, true)
	rc := newReceiver(t)
	b, _ := o.signIn(t, "ada", `"admin"`, true)
	b.get("/ui/webhooks")
	p := b.post("/ui/webhooks", url.Values{"url": {rc.URL}, "events": {"key.revoked"}})
	m := webhookIDRE.FindStringSubmatch(p.body)
	if p.status != http.StatusCreated || m == nil {
		t.Fatalf("create: %d %.300s", p.status, p.body)
	}
	id := m[1]
	for _, path := range []string{"/ui/webhooks", "/ui/webhooks/" + id, "/ui/webhooks/" + id + "/enabled", "/ui/webhooks/" + id + "/rotate",
		"/ui/webhooks/" + id + "/delete", "/ui/webhooks/" + id + "/deliveries/msg_x/redeliver", "/ui/audit/verify"} {
		for _, csrf := range []string{"", strings.Repeat("x", 43)} {
			form := url.Values{"csrf": {csrf}, "url": {rc.URL + "/other"}, "events": {"key.created"}, "enabled": {"false"}}
			if p := b.do("POST", path, form, nil); p.status != http.StatusForbidden || strings.Contains(p.body, "whsec_") {
				t.Errorf("POST %s with csrf %q: %d", path, csrf, p.status)
			}
		}
	}
	p = b.get("/ui/webhooks/" + id)
	if p.status != http.StatusOK || !strings.Contains(p.body, `id="hook-state">enabled`) || strings.Contains(p.body, rc.URL+"/other") {
		t.Fatalf("the webhook changed through refused forms: %d %.500s", p.status, p.body)
	}
}

// TestConsoleWebhookPrivateURL: a URL the service refuses (plain http to a
// private address, with private receivers not allowed) is a form error
// with the service's reason, not a 500; nothing is created.
func TestConsoleWebhookPrivateURL(t *testing.T) {
	o := newOpsStack(t, false)
	b, _ := o.signIn(t, "ada", `"admin"`, true)
	b.get("/ui/webhooks")
	p := b.post("/ui/webhooks", url.Values{"url": {"http://127.0.0.1:9/hook"}, "events": {"key.revoked"}, "description": {"local"}})
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, `role="alert"`) || !strings.Contains(p.body, "LATCHKEY_OUTBOUND_ALLOW_PRIVATE") ||
		!strings.Contains(p.body, `value="http://127.0.0.1:9/hook"`) || !strings.Contains(p.body, `value="key.revoked" checked`) {
		t.Fatalf("private URL: %d %.800s", p.status, p.body)
	}
	if strings.Contains(p.body, "whsec_") || webhookIDRE.MatchString(p.body) {
		t.Fatal("a webhook was created for a refused URL")
	}
}

// TestConsoleWebhooks: an admin creates a webhook and sees its secret once
// (a no-store POST answer, on no other page); a revoked key is delivered
// with a signature the SDK verifies; the delivery shows on the webhook's
// page and Redeliver sends it again with the same webhook-id. Changing
// the URL, rotating the secret and deleting need a fresh second factor;
// changing the events does not.
func TestConsoleWebhooks(t *testing.T) {
	o := newOpsStack(t, true)
	rc := newReceiver(t)
	b, code := o.signIn(t, "ada", `"admin"`, true)
	b.get("/ui/webhooks")
	p := b.post("/ui/webhooks", url.Values{"url": {rc.URL + "/hook"}, "events": {"key.revoked", "key.leaked"}, "description": {"ops feed"}})
	if p.status != http.StatusCreated || p.hdr.Get("Cache-Control") != "no-store" {
		t.Fatalf("create: %d %q %.300s", p.status, p.hdr.Get("Cache-Control"), p.body)
	}
	shown := secretOf(t, page{http.StatusOK, p.loc, p.hdr, p.body}) // as HTML: "+" is "&#43;"
	secret := html.UnescapeString(shown)
	if !strings.HasPrefix(secret, "whsec_") || strings.Count(p.body, shown) != 1 {
		t.Fatalf("show-once page: secret shown %d times", strings.Count(p.body, shown))
	}
	id := webhookIDRE.FindStringSubmatch(p.body)[1]
	for _, path := range []string{"/ui/webhooks", "/ui/webhooks/" + id} {
		if p := b.get(path); p.status != http.StatusOK || strings.Contains(p.body, shown) || strings.Contains(p.body, "whsec_") {
			t.Fatalf("GET %s shows the secret (%d)", path, p.status)
		}
	}

	// An event: a key revoked.
	var k struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(o.must(201, "POST", "/v1/keys", `{"name":"doomed"}`), &k); err != nil {
		t.Fatal(err)
	}
	o.must(200, "POST", "/v1/keys/"+k.ID+"/revoke", `{"reason":"test"}`)
	o.once(t)
	got := rc.deliveries()
	if len(got) != 1 {
		t.Fatalf("%d deliveries, want 1", len(got))
	}
	if err := verify.VerifyWebhook(secret, got[0].header, got[0].body, 0); err != nil || !strings.Contains(string(got[0].body), k.ID) {
		t.Fatalf("delivery: %v %s", err, got[0].body)
	}
	did := got[0].header.Get("webhook-id")
	p = b.get("/ui/webhooks/" + id)
	if !strings.Contains(p.body, `id="delivery-`+did+`"`) || !strings.Contains(p.body, "delivered") || !strings.Contains(p.body, "HTTP 204") {
		t.Fatalf("webhook page lacks the delivery %s: %.1500s", did, p.body)
	}
	if p := b.get("/ui/webhooks"); !strings.Contains(p.body, "key.revoked</code> delivered") {
		t.Errorf("the list lacks the last delivery: %.1000s", p.body)
	}
	p = b.post("/ui/webhooks/"+id+"/deliveries/"+did+"/redeliver", url.Values{})
	if p.status != http.StatusOK || !strings.Contains(p.body, "will be sent again") || o.redelivers.Load() != 1 {
		t.Fatalf("redeliver: %d %d %.300s", p.status, o.redelivers.Load(), p.body)
	}
	o.once(t)
	got = rc.deliveries()
	if len(got) != 2 || got[1].header.Get("webhook-id") != did || verify.VerifyWebhook(secret, got[1].header, got[1].body, 0) != nil {
		t.Fatalf("after redelivery: %d deliveries", len(got))
	}
	if p := b.get("/ui/webhooks/" + id + "?before=x"); p.status != http.StatusBadRequest || !strings.Contains(p.body, `id="delivery-`+did+`"`) {
		t.Errorf("a bad page of deliveries: %d, want 400 and the newest", p.status)
	}
	if p := b.post("/ui/webhooks/"+id+"/deliveries/msg_nope/redeliver", url.Values{}); p.status != http.StatusNotFound {
		t.Errorf("redeliver an unknown delivery: %d", p.status)
	}

	// Without a fresh second factor.
	o.clock.Add(6 * time.Minute)
	for _, c := range []struct {
		path string
		form url.Values
	}{
		{"/ui/webhooks/" + id, url.Values{"url": {rc.URL + "/elsewhere"}, "events": {"key.revoked"}}},
		{"/ui/webhooks/" + id + "/rotate", url.Values{}},
		{"/ui/webhooks/" + id + "/delete", url.Values{}},
		{"/ui/webhooks", url.Values{"url": {rc.URL + "/second"}, "events": {"key.revoked"}}},
	} {
		p := b.post(c.path, c.form)
		if p.status != http.StatusForbidden || !strings.Contains(p.body, "Confirm it is you") || strings.Contains(p.body, "whsec_") {
			t.Errorf("POST %s without a fresh factor: %d %.300s", c.path, p.status, p.body)
		}
		if c.path != "/ui/webhooks" && !strings.Contains(p.body, `name="return_to" value="/ui/webhooks/`+id+`"`) {
			t.Errorf("POST %s: the step-up does not lead back to the webhook", c.path)
		}
	}
	p = b.post("/ui/webhooks/"+id, url.Values{"url": {rc.URL + "/hook"}, "events": {"key.revoked", "key.created"}, "description": {"ops feed"}})
	if p.status != http.StatusOK || !strings.Contains(p.body, "was saved") || !strings.Contains(p.body, `value="key.created" checked`) {
		t.Fatalf("changing the events: %d %.300s", p.status, p.body)
	}
	if p := b.post("/ui/webhooks/"+id+"/enabled", url.Values{"enabled": {"false"}}); p.status != http.StatusOK || !strings.Contains(p.body, `id="hook-state">disabled`) {
		t.Fatalf("disable: %d", p.status)
	}
	b.get("/ui/webhooks/" + id)
	if p := b.post("/ui/me/step-up", url.Values{"otp": {code()}, "return_to": {"/ui/webhooks/" + id}}); p.status != http.StatusSeeOther || p.loc != "/ui/webhooks/"+id {
		t.Fatalf("step-up: %d %q", p.status, p.loc)
	}
	b.get("/ui/webhooks/" + id)
	p = b.post("/ui/webhooks/"+id+"/rotate", url.Values{"grace": {"1h"}})
	if p.status != http.StatusOK || p.hdr.Get("Cache-Control") != "no-store" || !strings.Contains(p.body, "too until") {
		t.Fatalf("rotate: %d %.300s", p.status, p.body)
	}
	if rotated := secretOf(t, p); rotated == shown || !strings.HasPrefix(rotated, "whsec_") {
		t.Fatal("rotation showed the old secret")
	}
	if p := b.post("/ui/webhooks/"+id+"/delete", url.Values{}); p.status != http.StatusOK || webhookIDRE.MatchString(p.body) {
		t.Fatalf("delete: %d %.300s", p.status, p.body)
	}
	if p := b.get("/ui/webhooks/" + id); p.status != http.StatusNotFound {
		t.Fatalf("a deleted webhook's page: %d", p.status)
	}
}

// TestConsoleAuditVerify: the audit page shows the latest signed
// checkpoint and each record's place in the chain; "Verify the chain now"
// reports OK, one verification at a time, and after a row was edited in
// the database it names the first record that does not match; the last
// result stays on the page; one that runs out of time says so.
func TestConsoleAuditVerify(t *testing.T) {
	o := newOpsStack(t, false)
	b, _ := o.signIn(t, "ada", `"admin"`, true)
	for range 3 {
		o.must(201, "POST", "/v1/keys", `{"name":"audited"}`)
	}
	p := b.get("/ui/audit")
	if p.status != http.StatusOK || !strings.Contains(p.body, "latchkey audit log v1\n") || !strings.Contains(p.body, `id="verifier">latchkey-audit&#43;`) ||
		!strings.Contains(p.body, "Not verified since this server started") || !strings.Contains(p.body, `<th scope="col">Seq</th>`) {
		t.Fatalf("audit page: %d %.2000s", p.status, p.body)
	}
	p = b.post("/ui/audit/verify", url.Values{})
	ok := regexp.MustCompile(`OK, (\d+) records`).FindStringSubmatch(p.body)
	if p.status != http.StatusOK || ok == nil || ok[1] == "0" {
		t.Fatalf("verify: %d %.2000s", p.status, p.body)
	}

	// One at a time.
	g := &verifyGate{release: make(chan struct{})}
	o.gate.Store(g)
	first, csrf := make(chan int), b.csrf
	go func() { first <- postStatus(b, "/ui/audit/verify", csrf) }()
	<-o.entered
	o.gate.Store(nil)
	p = b.post("/ui/audit/verify", url.Values{})
	close(g.release)
	if p.status != http.StatusConflict || !strings.Contains(p.body, "A verification is already running") {
		t.Fatalf("a second verification: %d %.300s", p.status, p.body)
	}
	if st := <-first; st != http.StatusOK {
		t.Fatalf("the first verification: %d", st)
	}

	// Someone edits record 2 with SQL.
	raw, err := sql.Open("sqlite", "file:"+o.path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var id2 string
	if err := raw.QueryRow(`SELECT id FROM audit WHERE seq = 2`).Scan(&id2); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`UPDATE audit SET target_id = 'z' WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	p = b.post("/ui/audit/verify", url.Values{})
	if p.status != http.StatusOK || !strings.Contains(p.body, "FAILED: record seq 2 (id "+id2+")") {
		t.Fatalf("verify after an edit: %d %.2000s", p.status, p.body)
	}
	if p := b.get("/ui/audit"); !strings.Contains(p.body, "FAILED: record seq 2") {
		t.Fatalf("the page forgot the last result: %.2000s", p.body)
	}

	// A verification that runs out of time says so, and the next may run.
	o.stuck.Store(true)
	if p := b.post("/ui/audit/verify", url.Values{}); p.status != http.StatusServiceUnavailable || !strings.Contains(p.body, "did not finish within "+verifyTimeout.String()) {
		t.Fatalf("a verification past its deadline: %d %.2000s", p.status, p.body)
	}
	o.stuck.Store(false)
	if p := b.post("/ui/audit/verify", url.Values{}); p.status != http.StatusOK || !strings.Contains(p.body, "FAILED: record seq 2") {
		t.Fatalf("the verification after a timeout: %d", p.status)
	}
}

// postStatus posts an empty form with the browser's cookies and CSRF token
// csrf, for a request made beside another of the same browser.
func postStatus(b *tbrowser, path, csrf string) int {
	req, _ := http.NewRequest("POST", b.base+path, strings.NewReader(url.Values{"csrf": {csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.base)
	resp, err := b.c.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestConsoleLeaks: a report of a live key shows with where it was found,
// the key and that it was revoked.
func TestConsoleLeaks(t *testing.T) {
	o := newOpsStack(t, false)
	b, _ := o.signIn(t, "ada", `"admin"`, true)
	var k struct {
		ID     string `json:"id"`
		Secret string `json:"key"`
	}
	if err := json.Unmarshal(o.must(201, "POST", "/v1/keys", `{"name":"leaky"}`), &k); err != nil || k.Secret == "" {
		t.Fatalf("create key: %v", err)
	}
	if _, err := o.leaks.Handle(context.Background(), apitoken.FromString(k.Secret), leak.Origin{Source: leak.SourceAPI,
		URL: "https://paste.example/abc", Address: "192.0.2.7"}); err != nil {
		t.Fatal(err)
	}
	p := b.get("/ui/leaks")
	if p.status != http.StatusOK || !strings.Contains(p.body, "https://paste.example/abc") || !strings.Contains(p.body, `href="/ui/keys/`+k.ID+`"`) ||
		!strings.Contains(p.body, "revoked now") || strings.Contains(p.body, k.Secret) {
		t.Fatalf("leak reports: %d %.1500s", p.status, p.body)
	}
}
