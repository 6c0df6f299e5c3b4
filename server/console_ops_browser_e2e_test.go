package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/internal/browsertest"
	"github.com/latchkey/latchkey/server"
	"github.com/latchkey/latchkey/verify"
)

// opsWait bounds what the operations test waits for off the page: a
// webhook delivery (the dispatcher polls every 50 ms here) and the
// handling of a queued leak report.
const opsWait = 20 * time.Second

// TestBrowserConsoleOps: an admin adds a webhook to a loopback receiver
// and copies its secret from the show-once page; revoking a key on its
// page is delivered, signed so that the SDK's verifier accepts it; the
// delivery shows on the webhook's page, Redeliver sends it again with the
// same webhook-id, and the delivery's page lists both attempts; the audit page's "Verify the chain now" answers OK; a
// live key reported to POST /v1/leaks shows on the leak reports page,
// revoked. axe finds no serious violation on the new pages.
func TestBrowserConsoleOps(t *testing.T) {
	srv := startServer(t, server.Config{OAuth: server.OAuthConfig{OutboundAllowPrivate: true},
		Webhooks: server.WebhooksConfig{Poll: 50 * time.Millisecond}})
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	s := &browserServer{testServer: srv, Origin: "http://localhost:" + u.Port()}
	shots := os.Getenv("LATCHKEY_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	type delivery struct {
		header http.Header
		body   []byte
	}
	got := make(chan delivery, 10)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- delivery{r.Header.Clone(), b}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rcv.Close()
	next := func(what string) delivery {
		t.Helper()
		select {
		case d := <-got:
			return d
		case <-time.After(opsWait):
			t.Fatalf("%s: no delivery within %s", what, opsWait)
		}
		return delivery{}
	}

	newUser(t, s.testServer, "ada", bobPassword, "admin")
	secret := s.enrolTOTP(t, "ada")
	_, tab := openBrowser(t)
	for _, perm := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := chromedp.CallBrowser(tab.Context(), cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission: &cdpbrowser.PermissionDescriptor{Name: perm}, Setting: "granted", Origin: s.Origin}); err != nil {
			t.Fatalf("grant %s: %v", perm, err)
		}
	}
	if err := chromedp.Do(tab.Context(), chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatal(err)
	}
	tab.Navigate(s.Origin + "/ui/webhooks")
	passwordSignIn(t, tab, "ada")
	tab.WaitVisible(`input[name="otp"]`)
	tab.Fill("otp", nextCode(t, secret))
	tab.ClickAndWaitLoad(`form[action="/login/verify"] button[type="submit"]`)
	wantAt(t, tab, s.Origin, "/ui/webhooks")
	checkAxe(t, tab, "/ui/webhooks (empty)")

	// A webhook, its secret shown once and copied.
	tab.Fill("url", rcv.URL+"/latchkey")
	tab.Click(`input[name="events"][value="key.revoked"]`)
	tab.Fill("description", "ops pager")
	tab.ClickAndWaitLoad(`form[action="/ui/webhooks"] button[type="submit"]`)
	if got := tab.Text("h1"); got != "Copy the webhook's signing secret now" {
		t.Fatalf("after adding a webhook the page says %q: %q", got, browsertest.Eval[string](tab, `(document.querySelector(".error")||{}).textContent||""`))
	}
	if doc := tab.LastDocument(s.Origin + "/ui/webhooks"); doc.Status != http.StatusCreated {
		t.Fatalf("show-once answer: %d", doc.Status)
	}
	shown := tab.Text("#secret")
	tab.Click(`button[data-copy="secret"]`)
	if _, err := chromedp.Run(tab.Context(), chromedp.Poll[bool](`document.getElementById("copy-status").textContent === "Copied."`,
		chromedp.WithPollingTimeout(passkeyWait))); err != nil {
		t.Fatalf("copy button: %v (status %q)", err, tab.Text("#copy-status"))
	}
	whsec := browsertest.Eval[string](tab, `navigator.clipboard.readText()`)
	if whsec != shown || !strings.HasPrefix(whsec, "whsec_") {
		t.Fatalf("clipboard holds %d characters, the page shows %d; want the same whsec_ secret", len(whsec), len(shown))
	}
	checkAxe(t, tab, "webhook secret page")
	hookPath := browsertest.Eval[string](tab, `document.querySelector('main a[href^="/ui/webhooks/wh_"]').getAttribute("href")`)

	// Revoking a key on its page is an event.
	r := s.doJSON(t, "POST", "/v1/keys", s.Root, `{"name":"pager test"}`)
	var k api.CreatedKey
	if r.Status != http.StatusCreated || json.Unmarshal(r.Body, &k) != nil {
		t.Fatalf("create key: %d %.300s", r.Status, r.Body)
	}
	tab.Navigate(s.Origin + "/ui/keys/" + k.ID)
	tab.Fill("reason", "ops browser test")
	tab.ClickAndWaitLoad(`form[action="/ui/keys/` + k.ID + `/revoke"] button[type="submit"]`)
	first := next("key revoked")
	if err := verify.VerifyWebhook(whsec, first.header, first.body, 0); err != nil || !strings.Contains(string(first.body), k.ID) {
		t.Fatalf("the delivery does not verify with the copied secret: %v %s", err, first.body)
	}
	did := first.header.Get("webhook-id")

	// The delivery on the webhook's page (recorded just after the
	// receiver answered), then Redeliver.
	waitDelivery(t, s, strings.TrimPrefix(hookPath, "/ui/webhooks/"), did, "delivered")
	tab.Navigate(s.Origin + hookPath)
	if st := tab.Text("#delivery-" + did + " .delivery-state"); !strings.HasPrefix(st, "delivered") {
		t.Fatalf("delivery %s shows %q", did, st)
	}
	checkAxe(t, tab, "webhook page")
	tab.ClickAndWaitLoad(`form[action="` + hookPath + `/deliveries/` + did + `/redeliver"] button[type="submit"]`)
	if n := tab.Text(".notice"); !strings.Contains(n, "will be sent again") {
		t.Fatalf("after Redeliver the page says %q", n)
	}
	again := next("redelivery")
	if again.header.Get("webhook-id") != did || string(again.body) != string(first.body) {
		t.Fatalf("redelivery: webhook-id %q, want %q", again.header.Get("webhook-id"), did)
	}
	if err := verify.VerifyWebhook(whsec, again.header, again.body, 0); err != nil {
		t.Fatalf("the redelivery does not verify: %v", err)
	}
	waitDelivery(t, s, strings.TrimPrefix(hookPath, "/ui/webhooks/"), did, "delivered")

	// The delivery's page, from its link: both attempts, the redelivery
	// first and marked as one.
	tab.Navigate(s.Origin + hookPath)
	tab.ClickAndWaitLoad(`a[href="` + hookPath + `/deliveries/` + did + `"]`)
	wantAt(t, tab, s.Origin, hookPath+"/deliveries/"+did)
	if n := browsertest.Eval[int](tab, `document.querySelectorAll("#attempt-list tbody tr").length`); n != 2 {
		t.Fatalf("the delivery page lists %d attempts, want 2", n)
	}
	if newest := tab.Text("#attempt-list tbody tr"); !strings.Contains(newest, "redelivery") || !strings.Contains(newest, "HTTP 204") {
		t.Fatalf("the newest attempt reads %q, want a redelivery answered 204", newest)
	}
	checkAxe(t, tab, "webhook delivery page")
	screenshot(t, tab, shots, "console-webhook-delivery")
	tab.Navigate(s.Origin + "/ui/webhooks")
	if row := tab.Text("#webhooks tbody tr"); !strings.Contains(row, rcv.URL) || !strings.Contains(row, "enabled") || !strings.Contains(row, "delivered") {
		t.Fatalf("webhooks list row: %q", row)
	}
	checkAxe(t, tab, "/ui/webhooks")
	screenshot(t, tab, shots, "console-webhooks")

	// The audit chain verifies.
	tab.Navigate(s.Origin + "/ui/audit")
	if note := tab.Text("#checkpoint-note"); !strings.HasPrefix(note, "latchkey audit log v1") {
		t.Fatalf("checkpoint note: %q", note)
	}
	tab.ClickAndWaitLoad(`form[action="/ui/audit/verify"] button[type="submit"]`)
	if res := tab.Text("#verify-result"); !strings.Contains(res, "OK,") {
		t.Fatalf("verify: %q", res)
	}
	checkAxe(t, tab, "/ui/audit with the chain's status")
	screenshot(t, tab, shots, "console-audit-chain")

	// A live key reported as leaked.
	r = s.doJSON(t, "POST", "/v1/keys", s.Root, `{"name":"pasted"}`)
	var leaked api.CreatedKey
	if r.Status != http.StatusCreated || json.Unmarshal(r.Body, &leaked) != nil {
		t.Fatalf("create key: %d %.300s", r.Status, r.Body)
	}
	if r := s.doJSON(t, "POST", "/v1/leaks", "", `{"token":"`+leaked.Secret+`","url":"https://paste.example/p/1"}`); r.Status != http.StatusAccepted {
		t.Fatalf("report: %d %.300s", r.Status, r.Body)
	}
	waitLeakReport(t, s)
	tab.Navigate(s.Origin + "/ui/leaks")
	row := tab.Text("#leaks tbody tr")
	for _, want := range []string{"https://paste.example/p/1", leaked.ID, "revoked now", "public report"} {
		if !strings.Contains(row, want) {
			t.Errorf("leak report row %q lacks %q", row, want)
		}
	}
	checkAxe(t, tab, "/ui/leaks")
	wantClean(t, tab)
	// AUD-02: the secrets of this test are in no log.
	for _, sec := range []string{whsec, leaked.Secret} {
		if strings.Contains(s.Logs.String(), sec) {
			t.Error("a secret of this test is in the server's log")
		}
	}
}

// waitDelivery waits until the API lists delivery did of webhook id in
// state.
func waitDelivery(t *testing.T, s *browserServer, id, did, state string) {
	t.Helper()
	var last string
	for end := time.Now().Add(opsWait); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		r := s.doJSON(t, "GET", "/v1/webhooks/"+id+"/deliveries", s.Root, "")
		var l api.WebhookDeliveryList
		if r.Status != http.StatusOK || json.Unmarshal(r.Body, &l) != nil {
			t.Fatalf("deliveries: %d %.300s", r.Status, r.Body)
		}
		for _, d := range l.Deliveries {
			if d.ID == did {
				if last = d.State; last == state && d.Attempts > 0 {
					return
				}
			}
		}
	}
	t.Fatalf("delivery %s is %q after %s, want %s", did, last, opsWait, state)
}

// waitLeakReport waits until a leak report is kept (the worker handles
// public reports after the 202).
func waitLeakReport(t *testing.T, s *browserServer) {
	t.Helper()
	for end := time.Now().Add(opsWait); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		r := s.doJSON(t, "GET", "/v1/leaks", s.Root, "")
		var l api.LeakReportList
		if r.Status != http.StatusOK || json.Unmarshal(r.Body, &l) != nil {
			t.Fatalf("leak reports: %d %.300s", r.Status, r.Body)
		}
		if len(l.Items) > 0 {
			return
		}
	}
	t.Fatalf("no leak report kept within %s", opsWait)
}
