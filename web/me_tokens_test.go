package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/latchkey/latchkey/api"
)

// portalUser creates user id with perms, a password and TOTP through the
// API, signs them in with both in a new browser and returns the browser
// and a function giving the TOTP code at a time.
func portalUser(t *testing.T, s *stack, clock *testClock, id string, perms ...string) (*tbrowser, func(time.Time) string) {
	t.Helper()
	body, _ := json.Marshal(api.CreatePrincipalRequest{ID: id, Permissions: perms})
	s.must(201, "POST", "/v1/users", string(body))
	s.must(204, "PUT", "/v1/users/"+id+"/password", `{"password":"`+testPassword+`"}`)
	var e struct {
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal(s.must(201, "POST", "/v1/users/"+id+"/totp", ""), &e); err != nil || e.Secret == "" {
		t.Fatalf("enrol: %v", err)
	}
	code := func(at time.Time) string {
		c, err := totp.GenerateCode(e.Secret, at)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	s.must(200, "POST", "/v1/users/"+id+"/totp/confirm", `{"code":"`+code(clock.Now())+`"}`)
	clock.Add(time.Minute)
	b := s.browser()
	b.get("/login")
	if p := b.post("/login", url.Values{"username": {id}, "password": {testPassword}}); p.status != http.StatusSeeOther {
		t.Fatalf("sign-in of %s: %d", id, p.status)
	}
	b.get("/login/verify")
	if p := b.post("/login/verify", url.Values{"otp": {code(clock.Now())}}); p.status != http.StatusSeeOther {
		t.Fatalf("second factor of %s: %d %.300s", id, p.status, p.body)
	}
	return b, code
}

// keysOf lists owner user id's keys through the API.
func keysOf(t *testing.T, s *stack, id string) []api.Key {
	t.Helper()
	var l api.KeyList
	if err := json.Unmarshal(s.must(200, "GET", "/v1/keys?owner_type=user&owner_id="+id, ""), &l); err != nil {
		t.Fatal(err)
	}
	return l.Items
}

func apiKeyState(t *testing.T, s *stack, id string) string {
	t.Helper()
	var k api.Key
	if err := json.Unmarshal(s.must(200, "GET", "/v1/keys/"+id, ""), &k); err != nil {
		t.Fatal(err)
	}
	return k.State
}

func verifyKeyResult(t *testing.T, s *stack, secret string) api.VerifyResponse {
	t.Helper()
	body, _ := json.Marshal(api.VerifyRequest{Key: secret})
	var res api.VerifyResponse
	if err := json.Unmarshal(s.must(200, "POST", "/v1/keys/verify", string(body)), &res); err != nil {
		t.Fatal(err)
	}
	return res
}

// wantNoStoreSecret checks a show-once answer: the status, no-store, and
// the secret once in the page; it returns the secret.
func wantNoStoreSecret(t *testing.T, p page, status int) string {
	t.Helper()
	if p.status != status {
		t.Fatalf("show-once page: %d, want %d: %.400s", p.status, status, p.body)
	}
	if cc := p.hdr.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("show-once page Cache-Control %q, want no-store", cc)
	}
	_, after, ok := strings.Cut(p.body, `id="secret">`)
	sec, _, ok2 := strings.Cut(after, "<")
	if !ok || !ok2 || sec == "" {
		t.Fatalf("no secret on the show-once page: %.400s", p.body)
	}
	if n := strings.Count(p.body, sec); n != 1 {
		t.Fatalf("the secret appears %d times on the page, want once", n)
	}
	return sec
}

// TestPortalTokens: a user creates a personal access token on /ui/me —
// only after a step-up, only in keyspaces and with scopes the API allows
// them — sees it once (no-store), rotates it, sees a scope they lost
// listed as inert, and revokes it without a step-up; the audit names the
// session.
func TestPortalTokens(t *testing.T) {
	clock := &testClock{t: time.Now()}
	s := newConsoleStack(t, clock)
	b, code := portalUser(t, s, clock, "alice", "orders:read", "orders:write")

	p := b.get("/ui/me")
	if p.status != http.StatusOK || !strings.Contains(p.body, `id="tokens-empty"`) || !strings.Contains(p.body, `action="/ui/me/tokens"`) {
		t.Fatalf("/ui/me: %d, want the empty list and the create form: %.500s", p.status, p.body)
	}
	if strings.Contains(p.body, `id="token-stepup"`) {
		t.Fatal("a session fresh from its second factor is asked to step up")
	}

	// Stale: creating asks for a step-up and creates nothing.
	clock.Add(6 * time.Minute)
	p = b.get("/ui/me")
	if !strings.Contains(p.body, `id="token-stepup"`) || !strings.Contains(p.body, `name="return_to" value="/ui/me"`) {
		t.Fatalf("/ui/me of a stale session does not offer the step-up: %.500s", p.body)
	}
	form := func(scopes ...string) url.Values {
		return url.Values{"name": {"laptop"}, "keyspace": {"default"}, "scope": scopes}
	}
	p = b.post("/ui/me/tokens", form("orders:read"))
	if p.status != http.StatusForbidden || !strings.Contains(p.body, "Confirm it is you") || strings.Contains(p.body, `id="secret"`) {
		t.Fatalf("create without step-up: %d %.400s", p.status, p.body)
	}
	if l := keysOf(t, s, "alice"); len(l) != 0 {
		t.Fatalf("a token was created without step-up: %+v", l)
	}
	if p := b.post("/ui/me/step-up", url.Values{"otp": {code(clock.Now())}, "return_to": {"/ui/me"}}); p.status != http.StatusOK || !strings.Contains(p.body, "Confirmed.") {
		t.Fatalf("step-up: %d %.300s", p.status, p.body)
	}

	// Refused like the API refuses them: a scope alice does not hold, the
	// management keyspace, a key for someone else.
	for _, c := range []struct {
		name string
		form url.Values
		want int
	}{
		{"scope not held", form("billing:read"), http.StatusForbidden},
		{"management keyspace", url.Values{"name": {"x"}, "keyspace": {"latchkey"}, "scope": {"keys:read"}}, http.StatusForbidden},
		{"no name", url.Values{"keyspace": {"default"}, "scope": {"orders:read"}}, http.StatusBadRequest},
		{"bad expiry", url.Values{"name": {"x"}, "keyspace": {"default"}, "expires_in": {"soon"}}, http.StatusBadRequest},
	} {
		p := b.post("/ui/me/tokens", c.form)
		if p.status != c.want || !strings.Contains(p.body, `class="error"`) || strings.Contains(p.body, `id="secret"`) {
			t.Errorf("%s: %d, want %d with an error: %.300s", c.name, p.status, c.want, p.body)
		}
	}
	if l := keysOf(t, s, "alice"); len(l) != 0 {
		t.Fatalf("a refused create made keys: %+v", l)
	}
	p = b.post("/ui/me/tokens", url.Values{"name": {"laptop"}, "keyspace": {"default"}, "scope": {"orders:read", "orders:write"}, "expires_in": {"30d"}})
	secret := wantNoStoreSecret(t, p, http.StatusCreated)
	res := verifyKeyResult(t, s, secret)
	if !res.Valid || res.Code != "VALID" || res.Owner == nil || res.Owner.ID != "alice" || !slices.Equal(res.Scopes, []string{"orders:read", "orders:write"}) {
		t.Fatalf("the new token verifies as %+v, want VALID, alice's, orders:read and orders:write", res)
	}
	id := res.KeyID
	if p := b.get("/ui/me"); strings.Contains(p.body, secret) || !strings.Contains(p.body, `id="token-`+id+`"`) {
		t.Fatal("/ui/me shows the secret again, or does not list the token")
	}

	// Rotate (still stepped up): a new token, shown once; the old one stops.
	p = b.post("/ui/me/tokens/"+id+"/rotate", url.Values{})
	rotated := wantNoStoreSecret(t, p, http.StatusCreated)
	if rotated == secret || verifyKeyResult(t, s, secret).Valid {
		t.Fatal("rotation kept the old token working or showed it again")
	}
	res = verifyKeyResult(t, s, rotated)
	if !res.Valid {
		t.Fatalf("the rotated token: %+v", res)
	}
	id = res.KeyID

	// Alice loses orders:write: the token lists it as inert.
	s.must(200, "PATCH", "/v1/users/alice", `{"permissions":["orders:read"]}`)
	p = b.get("/ui/me")
	_, inert, ok := strings.Cut(p.body, `id="inert-`+id+`">`)
	inert, _, _ = strings.Cut(inert, "</dd>")
	_, eff, _ := strings.Cut(p.body, `id="effective-`+id+`">`)
	eff, _, _ = strings.Cut(eff, "</dd>")
	if !ok || !strings.Contains(inert, "orders:write") || strings.Contains(inert, "orders:read") || !strings.Contains(eff, "orders:read") || strings.Contains(eff, "orders:write") {
		t.Fatalf("after losing orders:write: may now %q, inert %q", eff, inert)
	}
	// A stale session rotates nothing, but revokes.
	clock.Add(6 * time.Minute)
	if p := b.post("/ui/me/tokens/"+id+"/rotate", url.Values{}); p.status != http.StatusForbidden || !strings.Contains(p.body, "Confirm it is you") {
		t.Fatalf("rotate without step-up: %d", p.status)
	}
	if p := b.post("/ui/me/tokens/"+id+"/revoke", url.Values{"reason": {"laptop lost"}}); p.status != http.StatusOK || !strings.Contains(p.body, "was revoked") {
		t.Fatalf("revoke: %d %.300s", p.status, p.body)
	}
	if st := apiKeyState(t, s, id); st != "revoked" {
		t.Fatalf("after revoking: %s", st)
	}
	if res := verifyKeyResult(t, s, rotated); res.Valid || res.Code != "REVOKED" {
		t.Fatalf("the revoked token verifies as %+v, want REVOKED", res)
	}

	// The audit log names alice's session as the actor, as for a
	// personal credential on the API.
	var sessions api.SessionList
	if err := json.Unmarshal(s.must(200, "GET", "/v1/users/alice/sessions", ""), &sessions); err != nil || len(sessions.Items) != 1 {
		t.Fatalf("alice's sessions: %+v %v", sessions, err)
	}
	var audit api.AuditList
	if err := json.Unmarshal(s.must(200, "GET", "/v1/audit?target_id="+id, ""), &audit); err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range audit.Items {
		if e.Actor != sessions.Items[0].ID {
			t.Errorf("audit %s by %q, want session %s", e.Action, e.Actor, sessions.Items[0].ID)
		}
		actions = append(actions, e.Action)
	}
	if !slices.Contains(actions, "key.revoke") {
		t.Errorf("audit of the token: %v, want key.revoke", actions)
	}
}

// TestKEY03_PortalOthersKeys: on /ui/me another user's key is not listed
// and rotating or revoking it is a 404 exactly like a key that does not
// exist, with no side effect — the token service's own owner check, as
// for a personal credential on the API.
func TestKEY03_PortalOthersKeys(t *testing.T) {
	clock := &testClock{t: time.Now()}
	s := newConsoleStack(t, clock)
	b, _ := portalUser(t, s, clock, "alice", "orders:read")
	s.must(201, "POST", "/v1/users", `{"id":"bob","permissions":["orders:read"]}`)
	var bobs api.CreatedKey
	if err := json.Unmarshal(s.must(201, "POST", "/v1/keys", `{"name":"bob's","owner":{"type":"user","id":"bob"},"scopes":["orders:read"]}`), &bobs); err != nil {
		t.Fatal(err)
	}
	if p := b.get("/ui/me"); p.status != http.StatusOK || strings.Contains(p.body, bobs.ID) || strings.Contains(p.body, "bob&#39;s") {
		t.Fatalf("alice's portal lists bob's key (%d)", p.status)
	}
	// Stepped up (fresh from the second factor), so only ownership decides.
	// A key ID that exists nowhere: bob's with its last character changed.
	nosuch := bobs.ID[:len(bobs.ID)-1] + "0"
	if nosuch == bobs.ID {
		nosuch = bobs.ID[:len(bobs.ID)-1] + "1"
	}
	missing := b.post("/ui/me/tokens/"+nosuch+"/revoke", url.Values{"reason": {"x"}})
	if missing.status != http.StatusNotFound {
		t.Fatalf("revoke a key that does not exist: %d, want 404", missing.status)
	}
	for _, action := range []string{"rotate", "revoke"} {
		p := b.post("/ui/me/tokens/"+bobs.ID+"/"+action, url.Values{"reason": {"mine now"}})
		if p.status != http.StatusNotFound || strings.Contains(p.body, `id="secret"`) {
			t.Errorf("%s bob's key: %d, want 404", action, p.status)
		}
		if got, want := strings.ReplaceAll(p.body, bobs.ID, "ID"), strings.ReplaceAll(missing.body, nosuch, "ID"); got != want {
			t.Errorf("%s bob's key: the page differs from a missing key's:\n%.300s\n%.300s", action, got, want)
		}
	}
	if st := apiKeyState(t, s, bobs.ID); st != "active" {
		t.Fatalf("bob's key is %s after alice's attempts", st)
	}
	if res := verifyKeyResult(t, s, bobs.Secret); !res.Valid {
		t.Fatalf("bob's key no longer verifies: %+v", res)
	}
}

// TestPortalTokensCSRF: the token forms without the page's CSRF token
// change nothing.
func TestPortalTokensCSRF(t *testing.T) {
	clock := &testClock{t: time.Now()}
	s := newConsoleStack(t, clock)
	b, _ := portalUser(t, s, clock, "alice", "orders:read")
	var k api.CreatedKey
	if err := json.Unmarshal(s.must(201, "POST", "/v1/keys", `{"name":"cli","owner":{"type":"user","id":"alice"},"scopes":["orders:read"]}`), &k); err != nil {
		t.Fatal(err)
	}
	b.get("/ui/me")
	for path, form := range map[string]url.Values{
		"/ui/me/tokens":                     {"name": {"laptop"}, "keyspace": {"default"}, "scope": {"orders:read"}},
		"/ui/me/tokens/" + k.ID + "/rotate": {},
		"/ui/me/tokens/" + k.ID + "/revoke": {"reason": {"csrf"}},
	} {
		form.Set("csrf", strings.Repeat("x", 43))
		if p := b.post(path, form); p.status != http.StatusForbidden || strings.Contains(p.body, `id="secret"`) {
			t.Errorf("POST %s with a wrong CSRF token: %d, want 403", path, p.status)
		}
	}
	if l := keysOf(t, s, "alice"); len(l) != 1 || l[0].State != "active" {
		t.Fatalf("after refused forms alice has %+v, want her one active key", l)
	}
}

// TestPortalTokensEmptyState: a user without permissions sees an empty
// list and is told to ask an administrator, with no create form.
func TestPortalTokensEmptyState(t *testing.T) {
	s := newStack(t)
	s.must(201, "POST", "/v1/users", `{"id":"carol"}`)
	s.must(204, "PUT", "/v1/users/carol/password", `{"password":"`+testPassword+`"}`)
	b := s.browser()
	b.get("/login")
	if p := b.post("/login", url.Values{"username": {"carol"}, "password": {testPassword}}); p.status != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", p.status)
	}
	p := b.get("/ui/me")
	if p.status != http.StatusOK || !strings.Contains(p.body, `id="tokens-empty"`) || !strings.Contains(p.body, `id="tokens-no-permissions"`) ||
		!strings.Contains(p.body, "Ask an administrator") || strings.Contains(p.body, `action="/ui/me/tokens"`) {
		t.Fatalf("/ui/me of a user without permissions: %d %.600s", p.status, p.body)
	}
}

// TestConsoleReveal: "Show the key again" on a recoverable key's page is
// refused (and audited) without a step-up; with one it shows the key once,
// no-store, and the audit log records the reveal. Keys of other keyspaces
// offer no button.
func TestConsoleReveal(t *testing.T) {
	clock := &testClock{t: time.Now()}
	s := newConsoleStack(t, clock)
	b, code := portalUser(t, s, clock, "ada", "admin")
	s.must(201, "POST", "/v1/keyspaces", `{"name":"vault","prefix":"vlt","recoverable":true}`)
	var kept, plain api.CreatedKey
	if err := json.Unmarshal(s.must(201, "POST", "/v1/keys", `{"keyspace":"vault","name":"partner"}`), &kept); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(s.must(201, "POST", "/v1/keys", `{"name":"plain"}`), &plain); err != nil {
		t.Fatal(err)
	}
	if p := b.get("/ui/keys/" + plain.ID); p.status != http.StatusOK || strings.Contains(p.body, "/reveal") {
		t.Fatalf("a key of a keyspace that keeps nothing offers a reveal: %d", p.status)
	}
	reveals := func(outcome string) int {
		var l api.AuditList
		if err := json.Unmarshal(s.must(200, "GET", "/v1/audit?action=key.reveal&target_id="+kept.ID, ""), &l); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range l.Items {
			if e.Outcome == outcome && strings.HasPrefix(e.Actor, "ses_") {
				n++
			}
		}
		return n
	}

	clock.Add(6 * time.Minute)
	p := b.get("/ui/keys/" + kept.ID)
	if p.status != http.StatusOK || !strings.Contains(p.body, `action="/ui/keys/`+kept.ID+`/reveal"`) {
		t.Fatalf("the recoverable key's page: %d, no reveal form", p.status)
	}
	p = b.post("/ui/keys/"+kept.ID+"/reveal", url.Values{})
	if p.status != http.StatusForbidden || !strings.Contains(p.body, "Confirm it is you") || strings.Contains(p.body, kept.Secret) ||
		!strings.Contains(p.body, `name="return_to" value="/ui/keys/`+kept.ID+`"`) {
		t.Fatalf("reveal without step-up: %d %.400s", p.status, p.body)
	}
	if n := reveals("denied"); n != 1 {
		t.Fatalf("%d denied reveals audited, want 1", n)
	}
	if p := b.post("/ui/me/step-up", url.Values{"otp": {code(clock.Now())}, "return_to": {"/ui/keys/" + kept.ID}}); p.status != http.StatusSeeOther || p.loc != "/ui/keys/"+kept.ID {
		t.Fatalf("step-up: %d %q", p.status, p.loc)
	}
	p = b.post("/ui/keys/"+kept.ID+"/reveal", url.Values{})
	if got := wantNoStoreSecret(t, p, http.StatusOK); got != kept.Secret {
		t.Fatal("the reveal shows another secret than the key's")
	}
	if n := reveals("success"); n != 1 {
		t.Fatalf("%d reveals audited, want 1", n)
	}
	// CSRF: a reveal without the page's token shows nothing.
	if p := b.post("/ui/keys/"+kept.ID+"/reveal", url.Values{"csrf": {strings.Repeat("x", 43)}}); p.status != http.StatusForbidden || strings.Contains(p.body, kept.Secret) {
		t.Fatalf("reveal with a wrong CSRF token: %d", p.status)
	}
	if n := reveals("success"); n != 1 {
		t.Fatalf("%d reveals audited after a refused one, want 1", n)
	}
}
