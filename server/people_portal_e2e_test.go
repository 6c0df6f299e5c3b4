package server_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/server"
)

// TestPortalChangePassword: changing the password in /ui/me needs the
// current one (a session left open is not enough), refuses a weak or
// mistyped new one, and signs out the user's other sessions.
func TestPortalChangePassword(t *testing.T) {
	s := startServer(t, server.Config{})
	newUser(t, s, "alice", alicePassword)
	other := newBrowser(t, s.URL, nil)
	other.mustLogin("alice", alicePassword)
	b := newBrowser(t, s.URL, nil)
	b.mustLogin("alice", alicePassword)
	const next = "a brand new passphrase 2026"
	cases := []struct {
		name, current, nw, confirm, want string
	}{
		{"wrong current password", "not my password at all", next, next, "Current password"},
		{"mistyped confirmation", alicePassword, next, next + "x", "differ"},
		{"weak new password", alicePassword, "password1234", "password1234", "commonly used"},
	}
	for _, c := range cases {
		r := b.post("/ui/me/password", url.Values{"current": {c.current}, "new": {c.nw}, "confirm": {c.confirm}})
		if r.Status < 400 || r.Status >= 500 || !strings.Contains(string(r.Body), c.want) {
			t.Errorf("%s: %d, page lacks %q", c.name, r.Status, c.want)
		}
	}
	if !other.signedIn() {
		t.Fatal("a refused change signed the other session out")
	}
	r := b.post("/ui/me/password", url.Values{"current": {alicePassword}, "new": {next}, "confirm": {next}})
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), "password was changed") {
		t.Fatalf("change: %d %.300s", r.Status, r.Body)
	}
	if !b.signedIn() {
		t.Error("the session that changed the password was signed out")
	}
	if other.signedIn() {
		t.Error("the other session survived the password change")
	}
	if r := newBrowser(t, s.URL, nil).login("alice", alicePassword); r.Status != http.StatusUnauthorized {
		t.Errorf("the old password still signs in: %d", r.Status)
	}
	newBrowser(t, s.URL, nil).mustLogin("alice", next)
}

// TestPortalEndSession: a user signs out another of their sessions from
// the list in /ui/me, but cannot end someone else's.
func TestPortalEndSession(t *testing.T) {
	s := startServer(t, server.Config{})
	newUser(t, s, "alice", alicePassword)
	newUser(t, s, "bob", alicePassword)
	laptop := newBrowser(t, s.URL, nil)
	laptop.mustLogin("alice", alicePassword)
	phone := newBrowser(t, s.URL, nil)
	phone.mustLogin("alice", alicePassword)
	bob := newBrowser(t, s.URL, nil)
	bob.mustLogin("bob", alicePassword)
	var list api.SessionList
	r := s.doJSON(t, http.MethodGet, "/v1/users/alice/sessions", s.Root, "")
	if err := json.Unmarshal(r.Body, &list); err != nil || len(list.Items) != 2 {
		t.Fatalf("alice's sessions: %d %s", r.Status, r.Body)
	}
	var bobs api.SessionList
	r = s.doJSON(t, http.MethodGet, "/v1/users/bob/sessions", s.Root, "")
	json.Unmarshal(r.Body, &bobs)
	// alice cannot end bob's session through her portal.
	laptop.get("/ui/me")
	if r := laptop.post("/ui/me/sessions/"+bobs.Items[0].ID+"/end", nil); r.Status != http.StatusNotFound {
		t.Errorf("ending another user's session: %d", r.Status)
	}
	if !bob.signedIn() {
		t.Fatal("bob was signed out by alice")
	}
	// End both of alice's sessions from the laptop: the phone's is
	// signed out, and ending the laptop's own sends it to /login.
	for _, it := range list.Items {
		if r := laptop.post("/ui/me/sessions/"+it.ID+"/end", nil); r.Status == http.StatusSeeOther {
			// That was the laptop's own session: it is signed out to /login.
			if r.Header.Get("Location") != "/login" {
				t.Errorf("ending the own session: Location %q", r.Header.Get("Location"))
			}
			laptop.mustLogin("alice", alicePassword)
		} else if r.Status != http.StatusOK {
			t.Errorf("end session %s: %d", it.ID, r.Status)
		}
	}
	if phone.signedIn() {
		t.Error("the phone's session survived being ended from the laptop")
	}
}
