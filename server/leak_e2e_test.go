package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/apitoken"
	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/ratelimit"
	"github.com/latchkey/latchkey/server"
)

// reportLeak sends a public leak report (no credential).
func reportLeak(t *testing.T, s *testServer, tok, where string) response {
	t.Helper()
	b, _ := json.Marshal(api.LeakReportRequest{Token: tok, URL: where})
	return s.doJSON(t, http.MethodPost, "/v1/leaks", "", string(b))
}

// leakReports lists the kept reports, waiting until there are at least n
// (the worker handles them off the request path).
func leakReports(t *testing.T, s *testServer, n int) []api.LeakReport {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		r := s.doJSON(t, http.MethodGet, "/v1/leaks?limit=500", s.Root, "")
		if r.Status != http.StatusOK {
			t.Fatalf("GET /v1/leaks: %d %s", r.Status, r.Body)
		}
		var l api.LeakReportList
		if err := json.Unmarshal(r.Body, &l); err != nil {
			t.Fatal(err)
		}
		if len(l.Items) >= n || time.Now().After(deadline) {
			if len(l.Items) < n {
				t.Fatalf("%d leak reports kept after 15s, want %d", len(l.Items), n)
			}
			return l.Items
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// reportFor returns the kept report of the token starting with start.
func reportFor(t *testing.T, rs []api.LeakReport, tok string) api.LeakReport {
	t.Helper()
	start := apitoken.FromString(tok).Start()
	for _, r := range rs {
		if r.TokenStart == start {
			return r
		}
	}
	t.Fatalf("no kept report of %s…", start)
	return api.LeakReport{}
}

// leakAudit returns the audit events of action, newest first.
func leakAudit(t *testing.T, s *testServer, action string) []api.AuditEvent {
	t.Helper()
	r := s.doJSON(t, http.MethodGet, "/v1/audit?limit=500&action="+action, s.Root, "")
	if r.Status != http.StatusOK {
		t.Fatalf("GET /v1/audit: %d %s", r.Status, r.Body)
	}
	var l api.AuditList
	if err := json.Unmarshal(r.Body, &l); err != nil {
		t.Fatal(err)
	}
	return l.Items
}

// leakFixture is a server with one secret of every kind.
type leakFixture struct {
	c                           *codeApp
	apiKey, apiKeyID            string
	revokedKey                  string
	opaque, jobSecret           string
	refresh, refreshAccess      string
	clientSecret, clientSecret2 string
}

func newLeakFixture(t *testing.T, cfg server.Config) *leakFixture {
	t.Helper()
	c := newCodeClient(t, cfg, "")
	s := c.s
	cl := s.client(t, s.Root)
	ctx := context.Background()
	prefix := "acme_live"
	if _, err := cl.CreateKeyspace(ctx, api.KeyspaceRequest{Name: "acme-live", Prefix: &prefix}); err != nil {
		t.Fatal(err)
	}
	f := &leakFixture{c: c}
	k, err := cl.CreateKey(ctx, api.CreateKeyRequest{Keyspace: "acme-live", Name: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	f.apiKey, f.apiKeyID = k.Secret, k.ID
	rk, err := cl.CreateKey(ctx, api.CreateKeyRequest{Keyspace: "acme-live", Name: "old"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.RevokeKey(ctx, rk.ID, "rotated"); err != nil {
		t.Fatal(err)
	}
	f.revokedKey = rk.Secret
	job := createClient(t, s, `{"id":"job","permissions":["orders:read"],"oauth":{"grant_types":["client_credentials"],"audiences":["https://orders.example"],"access_token_format":"opaque"}}`)
	f.jobSecret = job.ClientSecret
	a := postToken(t, s.URL, url.Values{"grant_type": {"client_credentials"}}, "job", job.ClientSecret)
	if a.Status != http.StatusOK {
		t.Fatalf("token: %d %+v", a.Status, a.Problem)
	}
	f.opaque = a.Token["access_token"].(string)
	code, verifier := c.code(t, url.Values{"scope": {"orders:read"}})
	g := c.redeem(t, code, verifier)
	if g.Status != http.StatusOK {
		t.Fatalf("redeem: %d %+v", g.Status, g.Problem)
	}
	f.refresh, f.refreshAccess = g.Token["refresh_token"].(string), g.Token["access_token"].(string)
	f.clientSecret = c.secret
	sec := createClient(t, s, `{"id":"cron","permissions":["orders:read"],"oauth":{"grant_types":["client_credentials"]}}`)
	f.clientSecret2 = sec.ClientSecret
	return f
}

// TestLeak_RevokesEverySecretKind: a reported API key, opaque access
// token, refresh token and client secret stop working, each revoked with
// reason "leaked" (their grants too), and every report is kept and audited
// with its URL but never the token.
func TestLeak_RevokesEverySecretKind(t *testing.T) {
	f := newLeakFixture(t, server.Config{})
	s := f.c.s
	where := "https://github.com/acme/app/blob/main/.env#L3"
	for _, tok := range []string{f.apiKey, f.opaque, f.refresh, f.clientSecret2, f.revokedKey} {
		if r := reportLeak(t, s, tok, where); r.Status != http.StatusAccepted {
			t.Fatalf("report: %d %s", r.Status, r.Body)
		}
	}
	rs := leakReports(t, s, 5)
	cl := s.client(t, s.Root)
	t.Run("api key", func(t *testing.T) {
		k, err := cl.Key(context.Background(), f.apiKeyID)
		if err != nil {
			t.Fatal(err)
		}
		if k.State != "revoked" || k.RevokeReason != "leaked" {
			t.Errorf("reported key: state %s, reason %q", k.State, k.RevokeReason)
		}
		r := reportFor(t, rs, f.apiKey)
		if r.Kind != "api_key" || r.TargetID != f.apiKeyID || r.Outcome != "revoked" || r.URL != where || r.Source != "api" {
			t.Errorf("report %+v", r)
		}
	})
	t.Run("opaque access token", func(t *testing.T) {
		if f.c.active(t, f.opaque) {
			t.Error("the reported opaque access token is still active")
		}
		if r := reportFor(t, rs, f.opaque); r.Kind != "access_token" || r.Outcome != "revoked" {
			t.Errorf("report %+v", r)
		}
	})
	t.Run("refresh token and its grant", func(t *testing.T) {
		if a := f.c.refresh(t, f.refresh); a.Status != http.StatusBadRequest || a.Problem.Error != "invalid_grant" {
			t.Errorf("refresh with the reported token: %d %+v", a.Status, a.Problem)
		}
		if f.c.active(t, f.refreshAccess) {
			t.Error("the access token of the reported refresh token's grant is still active")
		}
		r := reportFor(t, rs, f.refresh)
		if r.Kind != "refresh_token" || r.Outcome != "revoked" || r.TargetID == "" {
			t.Errorf("report %+v", r)
		}
		k, err := cl.Key(context.Background(), r.TargetID)
		if err != nil || k.RevokeReason != "leaked" {
			t.Errorf("grant key %s: %+v, %v", r.TargetID, k, err)
		}
	})
	t.Run("client secret", func(t *testing.T) {
		a := postToken(t, s.URL, url.Values{"grant_type": {"client_credentials"}}, "cron", f.clientSecret2)
		if a.Status != http.StatusUnauthorized {
			t.Errorf("client credentials with the reported secret: %d", a.Status)
		}
		r := reportFor(t, rs, f.clientSecret2)
		if r.Kind != "client_secret" || r.TargetID != "cron" || r.Outcome != "revoked" {
			t.Errorf("report %+v", r)
		}
		// A new secret from an admin works again.
		rot := s.doJSON(t, http.MethodPost, "/v1/apps/cron/secret", s.Root, `{}`)
		if rot.Status != http.StatusCreated {
			t.Fatalf("rotate: %d %s", rot.Status, rot.Body)
		}
		fresh := decodeMap(t, rot.Body)["client_secret"].(string)
		if a := postToken(t, s.URL, url.Values{"grant_type": {"client_credentials"}}, "cron", fresh); a.Status != http.StatusOK {
			t.Errorf("client credentials with the new secret: %d %+v", a.Status, a.Problem)
		}
		if evs := leakAudit(t, s, "app.secret.revoke"); len(evs) != 1 || evs[0].Detail["reason"] != "leaked" || evs[0].TargetID != "cron" {
			t.Errorf("app.secret.revoke events: %+v", evs)
		}
	})
	t.Run("already revoked key", func(t *testing.T) {
		if r := reportFor(t, rs, f.revokedKey); r.Kind != "api_key" || r.Outcome != "already_revoked" {
			t.Errorf("report %+v", r)
		}
	})
	t.Run("audit", func(t *testing.T) {
		evs := leakAudit(t, s, "leak.report")
		if len(evs) != 5 {
			t.Fatalf("%d leak.report events, want 5", len(evs))
		}
		for _, ev := range evs {
			if ev.Detail["url"] != where || ev.Detail["outcome"] == "" || ev.TargetID == "" || ev.RequestID == "" {
				t.Errorf("leak.report event %+v", ev)
			}
		}
		revokes := 0
		for _, ev := range leakAudit(t, s, "key.revoke") {
			if ev.Detail["reason"] == "leaked" {
				revokes++
			}
		}
		// The API key, the opaque token, the grant of the refresh token and
		// its opaque access token? (The code app issues JWTs: the grant key
		// only.)
		if revokes < 3 {
			t.Errorf("%d key.revoke events with reason leaked, want at least 3", revokes)
		}
		raw := s.rawPages(t, "/v1/audit")
		idx := newSecretIndex(t, []string{f.apiKey, f.opaque, f.refresh, f.clientSecret2, f.revokedKey})
		if hits := idx.find(raw); len(hits) > 0 {
			t.Errorf("the audit log holds %d reported tokens", len(hits))
		}
		list := s.doJSON(t, http.MethodGet, "/v1/leaks", s.Root, "")
		if hits := idx.find(list.Body); len(hits) > 0 {
			t.Errorf("GET /v1/leaks holds %d reported tokens", len(hits))
		}
	})
}

// leakAnswer is what a report's answer shows: status, headers but Date
// and the request ID, and the body.
func leakAnswer(r response) string {
	h := r.Header.Clone()
	h.Del("Date")
	h.Del("X-Request-Id")
	keys := make([]string, 0, len(h))
	for k, v := range h {
		keys = append(keys, k+": "+strings.Join(v, ","))
	}
	slices.Sort(keys)
	return http.StatusText(r.Status) + "\n" + strings.Join(keys, "\n") + "\n\n" + string(r.Body)
}

// leakProbes returns one report of every class: a live key, an unknown
// token in latchkey's format, a bad checksum, a malformed string, a
// revoked key, a foreign string.
func leakProbes(t *testing.T, f *leakFixture) map[string]string {
	t.Helper()
	unknown, err := apitoken.New("acme_live")
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"live key":     f.apiKey,
		"unknown":      unknown.Reveal(),
		"bad checksum": changeLast(f.opaque),
		"malformed":    "not a token \x01",
		"revoked":      f.revokedKey,
		"foreign":      "ghp_" + strings.Repeat("x", 36),
	}
}

// TestLeak_NoOracle: the answer of POST /v1/leaks is byte for byte the
// same (status, headers, body) whatever the token.
func TestLeak_NoOracle(t *testing.T) {
	f := newLeakFixture(t, server.Config{})
	s := f.c.s
	want := ""
	for name, tok := range leakProbes(t, f) {
		got := leakAnswer(reportLeak(t, s, tok, "https://example.com/x"))
		if want == "" {
			want = got
			if !strings.HasPrefix(got, "Accepted\n") {
				t.Fatalf("answer:\n%s", got)
			}
			continue
		}
		if got != want {
			t.Errorf("%s: answer differs:\n%s\nwant\n%s", name, got, want)
		}
	}
}

// TestLeak_SameTiming: the answer takes as long for a live key (whose
// revocation is a durable write) as for an unknown or revoked token, and
// as long for a bad checksum as for a malformed string: medians of
// interleaved rounds, each live report naming a fresh key.
func TestLeak_SameTiming(t *testing.T) {
	f := newLeakFixture(t, server.Config{LeakReportLimit: ratelimit.Limit{Name: "leak_reports", Limit: 100000, Window: time.Minute}})
	s := f.c.s
	cl := s.client(t, s.Root)
	const rounds = 40
	live := make([]string, rounds)
	for i := range live {
		k, err := cl.CreateKey(context.Background(), api.CreateKeyRequest{Keyspace: "acme-live", Name: "t"})
		if err != nil {
			t.Fatal(err)
		}
		live[i] = k.Secret
	}
	probes := leakProbes(t, f)
	classes := []string{"live key", "unknown", "bad checksum", "malformed", "revoked"}
	times := map[string][]time.Duration{}
	for i := range rounds {
		for j := range classes {
			c := classes[(i+j)%len(classes)] // rotate the order every round
			tok := probes[c]
			if c == "live key" {
				tok = live[i]
			}
			start := time.Now()
			if r := reportLeak(t, s, tok, "https://example.com/t"); r.Status != http.StatusAccepted {
				t.Fatalf("%s: %d", c, r.Status)
			}
			times[c] = append(times[c], time.Since(start))
		}
	}
	med := map[string]time.Duration{}
	for c, ts := range times {
		slices.Sort(ts)
		med[c] = ts[len(ts)/2]
	}
	t.Logf("median answer times: %v", med)
	// Every string in latchkey's format is kept (one durable write) before
	// the answer, live or not; a string that is not is dropped at once.
	// Only the format, which anyone can compute, may change the time:
	// within each group the classes answer alike.
	for _, group := range [][]string{{"live key", "unknown", "revoked"}, {"bad checksum", "malformed"}} {
		fastest := time.Hour
		for _, c := range group {
			fastest = min(fastest, med[c])
		}
		// Generous: a synchronous revocation (a commit) costs
		// milliseconds; a loaded machine's noise moves medians by far less
		// than the bound.
		bound := 3*fastest + 1500*time.Microsecond
		for _, c := range group {
			if m := med[c]; m > bound {
				t.Errorf("median answer time of %s: %v, fastest of %v %v (bound %v); all: %v", c, m, group, fastest, bound, med)
			}
		}
	}
	// The live keys were revoked all the same.
	leakReports(t, s, rounds*len(classes)-rounds*2) // malformed and bad-checksum reports are not kept
	k, err := cl.ListKeys(context.Background(), client.KeyListOptions{Keyspace: "acme-live", State: "active"})
	if err != nil {
		t.Fatal(err)
	}
	if len(k.Items) != 1 || k.Items[0].ID != f.apiKeyID { // the fixture's own key was not reported
		t.Errorf("%d keys still active after their reports, want only the fixture's", len(k.Items))
	}
}

// TestLeak_Throttled: one address gets LeakReportLimit reports a window,
// then 429 with Retry-After; the throttle is audited.
func TestLeak_Throttled(t *testing.T) {
	s := startServer(t, server.Config{LeakReportLimit: ratelimit.Limit{Name: "leak_reports", Limit: 3, Window: time.Minute}})
	for i := range 3 {
		if r := reportLeak(t, s, "x", ""); r.Status != http.StatusAccepted {
			t.Fatalf("report %d: %d", i, r.Status)
		}
	}
	r := reportLeak(t, s, "x", "")
	wantProblem(t, r, http.StatusTooManyRequests)
	if r.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	found := false
	for _, ev := range leakAudit(t, s, "auth.throttled") {
		found = found || ev.Detail["kind"] == "leak"
	}
	if !found {
		t.Error("no auth.throttled event of kind leak")
	}
}

// TestLeak_BadInput: bad bodies are 4xx, never 500.
func TestLeak_BadInput(t *testing.T) {
	s := startServer(t, server.Config{})
	for name, tt := range map[string]struct {
		body string
		want int
	}{
		"not json":      {`{"token":`, 400},
		"unknown field": {`{"token":"x","bogus":1}`, 400},
		"no token":      {`{"url":"https://x"}`, 400},
		"too large":     {`{"token":"` + strings.Repeat("a", 10000) + `"}`, 413},
	} {
		t.Run(name, func(t *testing.T) {
			wantProblem(t, s.doJSON(t, http.MethodPost, "/v1/leaks", "", tt.body), tt.want)
		})
	}
	t.Run("list needs audit:read", func(t *testing.T) {
		wantProblem(t, s.doJSON(t, http.MethodGet, "/v1/leaks", "", ""), http.StatusUnauthorized)
	})
}

// TestLeak_AUD02_TokenNeverStored: after reports of every kind, no
// reported token is in the database files or the application log.
func TestLeak_AUD02_TokenNeverStored(t *testing.T) {
	f := newLeakFixture(t, server.Config{})
	s := f.c.s
	toks := []string{f.apiKey, f.opaque, f.refresh, f.clientSecret2, f.revokedKey}
	for _, tok := range toks {
		reportLeak(t, s, tok, "https://example.com/leak")
	}
	leakReports(t, s, len(toks))
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	idx := newSecretIndex(t, toks)
	if hits := idx.find(s.Logs.Bytes()); len(hits) > 0 {
		t.Errorf("the application log holds %d reported tokens", len(hits))
	}
	files := dataFiles(t, s.DataDir)
	if len(files) == 0 {
		t.Fatal("no database files found")
	}
	for name, b := range files {
		if hits := idx.find(b); len(hits) > 0 {
			t.Errorf("%s holds %d reported tokens", name, len(hits))
		}
	}
}

// TestLeak_OpaqueAccessTokenEndsItsGrant: a reported opaque access token
// of a user's grant ends the grant: its refresh token stops working too.
func TestLeak_OpaqueAccessTokenEndsItsGrant(t *testing.T) {
	c := newCodeClient(t, server.Config{}, `{"redirect_uris":["https://web.example/cb"],"audiences":["https://orders.example"],"access_token_format":"opaque"}`)
	code, verifier := c.code(t, url.Values{"scope": {"orders:read"}})
	g := c.redeem(t, code, verifier)
	if g.Status != http.StatusOK {
		t.Fatalf("redeem: %d %+v", g.Status, g.Problem)
	}
	access, refresh := g.Token["access_token"].(string), g.Token["refresh_token"].(string)
	if !strings.HasPrefix(access, "lka_") {
		t.Fatalf("access token %.6s… is not opaque", access)
	}
	if r := reportLeak(t, c.s, access, "https://paste.example/1"); r.Status != http.StatusAccepted {
		t.Fatalf("report: %d", r.Status)
	}
	rs := leakReports(t, c.s, 1)
	if r := reportFor(t, rs, access); r.Kind != "access_token" || r.Outcome != "revoked" {
		t.Errorf("report %+v", r)
	}
	if c.active(t, access) {
		t.Error("the reported access token is still active")
	}
	if a := c.refresh(t, refresh); a.Status != http.StatusBadRequest || a.Problem.Error != "invalid_grant" {
		t.Errorf("refresh after its grant's access token was reported: %d %+v", a.Status, a.Problem)
	}
}
