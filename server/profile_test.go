package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/server"
)

// TestUserProfileOverHTTP: an admin sets a user's OpenID Connect profile
// at creation and changes it with PATCH, where an absent field stays; bad
// values are a 422 like any invalid attribute, a profile on an app a 400,
// never a 500.
func TestUserProfileOverHTTP(t *testing.T) {
	s := startServer(t, server.Config{})
	user := func(r response) api.Principal {
		t.Helper()
		var p api.Principal
		if err := json.Unmarshal(r.Body, &p); err != nil {
			t.Fatalf("%d %.200s: %v", r.Status, r.Body, err)
		}
		return p
	}
	r := s.doJSON(t, "POST", "/v1/users", s.Root, `{"id":"alice","name":"Alice","email":"alice@example.com","email_verified":true,"preferred_username":"alice"}`)
	if r.Status != http.StatusCreated {
		t.Fatalf("create: %d %.200s", r.Status, r.Body)
	}
	if p := user(r); p.Email != "alice@example.com" || !p.EmailVerified || p.PreferredUsername != "alice" {
		t.Errorf("created %+v", p)
	}
	r = s.doJSON(t, "PATCH", "/v1/users/alice", s.Root, `{"email":"alice@example.org","email_verified":false}`)
	if p := user(r); r.Status != 200 || p.Email != "alice@example.org" || p.EmailVerified || p.PreferredUsername != "alice" || p.Name != "Alice" {
		t.Errorf("patch email: %d %+v", r.Status, p)
	}
	r = s.doJSON(t, "PATCH", "/v1/users/alice", s.Root, `{"name":"Alice L."}`)
	if p := user(s.doJSON(t, "GET", "/v1/users/alice", s.Root, "")); r.Status != 200 || p.Email != "alice@example.org" || p.PreferredUsername != "alice" {
		t.Errorf("a patch without profile fields changed them: %d %+v", r.Status, p)
	}
	if r := s.doJSON(t, "POST", "/v1/apps", s.Root, `{"id":"svc"}`); r.Status != http.StatusCreated {
		t.Fatalf("create app: %d %.200s", r.Status, r.Body)
	}
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"bad email", "POST", "/v1/users", `{"id":"bob","email":"bob"}`, 422, "local@domain"},
		{"two @", "POST", "/v1/users", `{"id":"bob","email":"bob@a@example.com"}`, 422, "local@domain"},
		{"space in email", "PATCH", "/v1/users/alice", `{"email":"al ice@example.com"}`, 422, "space"},
		{"long email", "PATCH", "/v1/users/alice", `{"email":"` + strings.Repeat("a", 250) + `@x.io"}`, 422, "254"},
		{"long preferred_username", "PATCH", "/v1/users/alice", `{"preferred_username":"` + strings.Repeat("a", 65) + `"}`, 422, "64"},
		{"control character", "POST", "/v1/users", `{"id":"bob","preferred_username":"b\u0007ob"}`, 422, "printable"},
		{"app with an email", "POST", "/v1/apps", `{"id":"svc2","email":"svc@example.com"}`, 400, "profile_not_allowed"},
		{"app patched with email_verified", "PATCH", "/v1/apps/svc", `{"email_verified":false}`, 400, "profile_not_allowed"},
		{"app patched with preferred_username", "PATCH", "/v1/apps/svc", `{"preferred_username":""}`, 400, "profile_not_allowed"},
		{"email not a string", "PATCH", "/v1/users/alice", `{"email":5}`, 400, "email"},
	} {
		r := s.doJSON(t, tc.method, tc.path, s.Root, tc.body)
		if r.Status != tc.status || !strings.Contains(string(r.Body), tc.want) {
			t.Errorf("%s: %d %.300s; want %d mentioning %q", tc.name, r.Status, r.Body, tc.status, tc.want)
		}
	}
	if p := user(s.doJSON(t, "GET", "/v1/users/alice", s.Root, "")); p.Email != "alice@example.org" || p.PreferredUsername != "alice" {
		t.Errorf("a refused change changed alice: %+v", p)
	}
}
