package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

// adminBrowser signs user id in (created with perms, a password and TOTP)
// with password and second factor.
func adminBrowser(t *testing.T, s *stack, id, perms string) *tbrowser {
	t.Helper()
	s.must(201, "POST", "/v1/users", `{"id":"`+id+`","permissions":`+perms+`}`)
	s.must(204, "PUT", "/v1/users/"+id+"/password", `{"password":"`+testPassword+`"}`)
	var e struct {
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal(s.must(201, "POST", "/v1/users/"+id+"/totp", ""), &e); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	c, _ := totp.GenerateCode(e.Secret, now)
	s.must(200, "POST", "/v1/users/"+id+"/totp/confirm", `{"code":"`+c+`"}`)
	b := s.browser()
	b.get("/login")
	if p := b.post("/login", url.Values{"username": {id}, "password": {testPassword}}); p.status != http.StatusSeeOther {
		t.Fatalf("sign-in of %s: %d", id, p.status)
	}
	b.get("/login/verify")
	c, _ = totp.GenerateCode(e.Secret, now.Add(30*time.Second))
	if p := b.post("/login/verify", url.Values{"otp": {c}}); p.status != http.StatusSeeOther {
		t.Fatalf("second factor of %s: %d", id, p.status)
	}
	return b
}

// newKey creates a key in keyspace ks through the API: its ID and secret.
func (s *stack) newKey(ks string) (string, string) {
	s.t.Helper()
	var k struct {
		ID  string `json:"id"`
		Key string `json:"key"`
	}
	if err := json.Unmarshal(s.must(201, "POST", "/v1/keys", `{"keyspace":"`+ks+`"}`), &k); err != nil || k.ID == "" || k.Key == "" {
		s.t.Fatalf("create key: %v", err)
	}
	return k.ID, k.Key
}

// verify verifies secret through the API and returns the result code.
func (s *stack) verify(secret string) string {
	s.t.Helper()
	var res struct {
		Code string `json:"code"`
	}
	if err := json.Unmarshal(s.must(200, "POST", "/v1/keys/verify", `{"key":"`+secret+`"}`), &res); err != nil {
		s.t.Fatal(err)
	}
	return res.Code
}

var ariaLabelRE = regexp.MustCompile(`<svg class="chart" role="img"[^>]* aria-label="([^"]*)"`)

// chartSummary is the accessible name of the page's chart ("" if none).
func chartSummary(body string) string {
	m := ariaLabelRE.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

// barCounts sums the data-count of the page's bars of code.
func barCounts(body, code string) int {
	re := regexp.MustCompile(`<rect class="bar [^"]*"[^>]* data-code="` + regexp.QuoteMeta(code) + `" data-count="(\d+)"`)
	n := 0
	for _, m := range re.FindAllStringSubmatch(body, -1) {
		k, _ := strconv.Atoi(m[1])
		n += k
	}
	return n
}

// TestConsoleUsageCharts: after verifications and a usage flush the
// dashboard shows them by outcome (chart, top keys, failure codes) and a
// key's page charts its own, in each range; before, both say how to get
// some.
func TestConsoleUsageCharts(t *testing.T) {
	s := newStack(t)
	b := adminBrowser(t, s, "ada", `["admin"]`)
	p := b.get("/ui")
	if p.status != http.StatusOK || !strings.Contains(p.body, `id="no-verifications"`) || !strings.Contains(p.body, "POST /v1/keys/verify") ||
		strings.Contains(p.body, `role="img"`) {
		t.Fatalf("empty dashboard: %d %.600s", p.status, p.body)
	}

	s.must(201, "POST", "/v1/keyspaces", `{"name":"shop","prefix":"shop"}`)
	s.must(201, "POST", "/v1/keyspaces", `{"name":"crm","prefix":"crm"}`)
	busy, busySecret := s.newKey("shop")
	gone, goneSecret := s.newKey("shop")
	other, otherSecret := s.newKey("crm")
	b.get("/ui/keys/" + busy)
	if p := b.get("/ui/keys/" + busy); !strings.Contains(p.body, `id="no-usage"`) {
		t.Fatalf("an unused key's page: %.600s", p.body)
	}
	for range 3 {
		if c := s.verify(busySecret); c != "VALID" {
			t.Fatalf("verify: %s", c)
		}
	}
	s.verify(goneSecret)
	s.must(200, "POST", "/v1/keys/"+gone+"/revoke", `{"reason":"test"}`)
	if c := s.verify(goneSecret); c != "REVOKED" {
		t.Fatalf("revoked key: %s", c)
	}
	s.verify(otherSecret)
	// Nothing shows before the usage flush; everything after it.
	if p := b.get("/ui"); !strings.Contains(p.body, `id="no-verifications"`) {
		t.Fatal("the dashboard shows verifications that were not flushed yet")
	}
	if err := s.svc.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}

	p = b.get("/ui")
	if p.status != http.StatusOK {
		t.Fatalf("dashboard: %d", p.status)
	}
	if got, want := chartSummary(p.body), "Verifications per hour, last 24 hours: 5 VALID, 1 REVOKED"; got != want {
		t.Errorf("dashboard chart %q, want %q", got, want)
	}
	if barCounts(p.body, "VALID") != 5 || barCounts(p.body, "REVOKED") != 1 {
		t.Errorf("dashboard bars: %d VALID, %d REVOKED", barCounts(p.body, "VALID"), barCounts(p.body, "REVOKED"))
	}
	top := section(t, p.body, `id="top-keys-table"`)
	for _, id := range []string{busy, gone, other} {
		if !strings.Contains(top, `href="/ui/keys/`+id+`"`) {
			t.Errorf("top keys lack %s", id)
		}
	}
	if strings.Index(top, busy) > strings.Index(top, gone) || strings.Index(top, gone) > strings.Index(top, other) {
		t.Errorf("top keys not by count (3, 2, 1): %s", top)
	}
	if f := section(t, p.body, `id="failures-table"`); !strings.Contains(f, "<code>REVOKED</code></td><td>1</td>") || strings.Contains(f, "VALID") {
		t.Errorf("failure codes: %s", f)
	}
	if !strings.Contains(p.body, `id="recent"`) {
		t.Error("the recent audit events are gone")
	}

	// One keyspace; the last hour by minute; the last 7 days.
	p = b.get("/ui?keyspace=crm&range=1h")
	if got, want := chartSummary(p.body), "Verifications per minute, last hour: 1 VALID"; p.status != 200 || got != want {
		t.Errorf("crm, last hour: %d %q, want %q", p.status, got, want)
	}
	if top := section(t, p.body, `id="top-keys-table"`); strings.Contains(top, busy) || !strings.Contains(top, other) {
		t.Errorf("crm's top keys: %s", top)
	}
	if p := b.get("/ui?range=7d"); !strings.HasPrefix(chartSummary(p.body), "Verifications per hour, last 7 days: 5 VALID") ||
		strings.Count(p.body, `<g class="column"`) < 1 {
		t.Errorf("7 days: %q", chartSummary(p.body))
	}

	// The key's page: its own verifications, in each range.
	for q, want := range map[string]string{
		"":           "Verifications per hour, last 24 hours: 3 VALID",
		"?range=1h":  "Verifications per minute, last hour: 3 VALID",
		"?range=24h": "Verifications per hour, last 24 hours: 3 VALID",
		"?range=7d":  "Verifications per hour, last 7 days: 3 VALID",
	} {
		p := b.get("/ui/keys/" + busy + q)
		if got := chartSummary(p.body); p.status != 200 || got != want || barCounts(p.body, "VALID") != 3 {
			t.Errorf("key page%s: %d %q (%d VALID in bars), want %q", q, p.status, got, barCounts(p.body, "VALID"), want)
		}
		if !strings.Contains(p.body, "<details") || !strings.Contains(p.body, `<th scope="row">`) {
			t.Errorf("key page%s has no table of the numbers", q)
		}
	}
	if p := b.get("/ui/keys/" + gone); chartSummary(p.body) != "Verifications per hour, last 24 hours: 1 VALID, 1 REVOKED" ||
		!strings.Contains(p.body, "2 verifications (1 <code>VALID</code>, 1 <code>REVOKED</code>)") {
		t.Errorf("revoked key's page: %q", chartSummary(p.body))
	}
}

// section returns the element of body that starts at the tag holding
// attr, up to its </table>.
func section(t *testing.T, body, attr string) string {
	t.Helper()
	i := strings.Index(body, attr)
	if i < 0 {
		t.Fatalf("no %s on the page", attr)
	}
	j := strings.Index(body[i:], "</table>")
	if j < 0 {
		t.Fatalf("%s does not end", attr)
	}
	return body[i : i+j]
}

// TestConsoleUsageBadRange: a range that is not 1h, 24h or 7d, or an
// unknown keyspace, is a 4xx page with the default chart, never a 500.
func TestConsoleUsageBadRange(t *testing.T) {
	s := newStack(t)
	b := adminBrowser(t, s, "ada", `["admin"]`)
	s.must(201, "POST", "/v1/keyspaces", `{"name":"shop","prefix":"shop"}`)
	id, secret := s.newKey("shop")
	s.verify(secret)
	if err := s.svc.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/ui?range=2h", "/ui?range=%3Cb%3E", "/ui?range=minute", "/ui/keys/" + id + "?range=1d",
		"/ui/keys/" + id + "?range=%3Cscript%3E", "/ui/keys/" + id + "?granularity=hour&range=60", "/ui?keyspace=nope", "/ui?keyspace=%3Cb%3E&range=x"} {
		p := b.get(path)
		if p.status/100 != 4 {
			t.Errorf("%s: %d, want 4xx", path, p.status)
		}
		if strings.Contains(p.body, "<b>") || strings.Contains(p.body, "<script>") {
			t.Errorf("%s: the value is echoed unescaped", path)
		}
		if !strings.Contains(chartSummary(p.body), "last 24 hours: 1 VALID") {
			t.Errorf("%s: chart %q, want the default one", path, chartSummary(p.body))
		}
	}
	for _, path := range []string{"/ui/keys/" + id + "?range=", "/ui/keys/" + id + "?range=7d&range=x", "/ui?keyspace="} {
		if p := b.get(path); p.status != 200 || chartSummary(p.body) == "" {
			t.Errorf("%s: %d, want the page (an empty value is the default; the first of repeated values counts)", path, p.status)
		}
	}
}

// TestConsoleUsageAuthz: the charts are an admin's: a user without a
// management permission gets 403 on a key's page and the portal instead
// of the dashboard; an admin who may not read keys sees no verifications
// on the dashboard; another keyspace's name does not leak through
// ?keyspace=.
func TestConsoleUsageAuthz(t *testing.T) {
	s := newStack(t)
	s.must(201, "POST", "/v1/keyspaces", `{"name":"shop","prefix":"shop"}`)
	id, secret := s.newKey("shop")
	s.verify(secret)
	if err := s.svc.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.user("bob")
	bob := s.browser()
	bob.get("/login")
	if p := bob.post("/login", url.Values{"username": {"bob"}, "password": {testPassword}}); p.status != http.StatusSeeOther {
		t.Fatalf("bob signs in: %d", p.status)
	}
	for _, path := range []string{"/ui/keys/" + id, "/ui/keys/" + id + "?range=1h", "/ui/keys/" + id + "?range=bogus"} {
		if p := bob.get(path); p.status != http.StatusForbidden || chartSummary(p.body) != "" {
			t.Errorf("bob GET %s: %d (chart %q), want 403", path, p.status, chartSummary(p.body))
		}
	}
	if p := bob.get("/ui?range=1h"); p.status != http.StatusSeeOther || p.loc != "/ui/me" {
		t.Errorf("bob GET /ui: %d %q, want the portal", p.status, p.loc)
	}
	anon := s.browser()
	if p := anon.get("/ui/keys/" + id + "?range=1h"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.loc, "/login") {
		t.Errorf("signed out: %d %q", p.status, p.loc)
	}

	auditor := adminBrowser(t, s, "aud", `["audit:read"]`)
	p := auditor.get("/ui")
	if p.status != http.StatusOK || strings.Contains(p.body, `id="verifications"`) || chartSummary(p.body) != "" || !strings.Contains(p.body, `id="recent"`) {
		t.Errorf("an auditor's dashboard: %d, chart %q", p.status, chartSummary(p.body))
	}
	if p := auditor.get("/ui/keys/" + id); p.status != http.StatusForbidden || chartSummary(p.body) != "" {
		t.Errorf("an auditor's key page: %d, chart %q", p.status, chartSummary(p.body))
	}
}
