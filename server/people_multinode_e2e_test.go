package server_test

import (
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/internal/pgtest"
	"github.com/latchkey/latchkey/server"
	"github.com/latchkey/latchkey/signer"
)

// startPair starts two nodes on one fresh PostgreSQL schema with one root
// credential and master key.
func startPair(t *testing.T) (a, b *testServer) {
	t.Helper()
	u := pgtest.URL(t)
	mk := signer.NewMasterKey()
	cfg := server.Config{DatabaseURL: u, DatabaseSchema: pgtest.Schema(t, u, "lk_ppl_"),
		RootKey: strings.Repeat("r", 8) + rand.Text(), MasterKey: &mk}
	return startServer(t, cfg), startServer(t, cfg)
}

// withSession returns a browser of node s holding session cookie c.
func withSession(t *testing.T, s *testServer, c string) *browser {
	t.Helper()
	b := newBrowser(t, s.URL, nil)
	b.setCookie("latchkey_session", c)
	return b
}

// signedOutWithin polls b (on another node) until it is signed out and
// fails the test if a request sent more than bound after ended still saw
// the session.
func signedOutWithin(t *testing.T, b *browser, ended time.Time, bound time.Duration) {
	t.Helper()
	for {
		sent := time.Now()
		if !b.signedIn() {
			t.Logf("the other node refused the session %s after it ended", time.Since(ended).Round(time.Millisecond))
			return
		}
		if sent.Sub(ended) > bound {
			t.Fatalf("the other node accepted the session on a request sent %s after it ended", sent.Sub(ended))
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}
}

// TestMultiNodeSession_EndedOnOneNodeRefusedOnOther: a session started on
// node A works on node B; ended on B (by sign-out, or by an administrator
// through B's API) node A refuses it within 1 s.
func TestMultiNodeSession_EndedOnOneNodeRefusedOnOther(t *testing.T) {
	a, b := startPair(t)
	newUser(t, a, "alice", alicePassword)

	t.Run("logout on B", func(t *testing.T) {
		onA := newBrowser(t, a.URL, nil)
		onA.mustLogin("alice", alicePassword)
		cookie := onA.cookie("latchkey_session")
		onB := withSession(t, b, cookie)
		if !onB.signedIn() { // also fetches the page's csrf token
			t.Fatal("the session of node A does not work on node B")
		}
		if r := onB.post("/logout", nil); r.Status != http.StatusSeeOther {
			t.Fatalf("POST /logout on B: %d", r.Status)
		}
		signedOutWithin(t, withSession(t, a, cookie), time.Now(), time.Second)
	})
	t.Run("admin ends it through B", func(t *testing.T) {
		onA := newBrowser(t, a.URL, nil)
		onA.mustLogin("alice", alicePassword)
		cookie := onA.cookie("latchkey_session")
		if !withSession(t, b, cookie).signedIn() {
			t.Fatal("the session of node A does not work on node B")
		}
		ss := sessionsOf(t, b, "alice")
		if len(ss) != 1 {
			t.Fatalf("node B lists %d sessions, want 1", len(ss))
		}
		if r := b.doJSON(t, "DELETE", "/v1/users/alice/sessions/"+ss[0].ID, b.Root, ""); r.Status != 204 {
			t.Fatalf("DELETE session on B: %d %.200s", r.Status, r.Body)
		}
		signedOutWithin(t, onA, time.Now(), time.Second)
	})
}

// TestMultiNodeSession_ADM02_TOTPCodeOnceAcrossNodes (REL-05): a TOTP code
// accepted by node A at sign-in is refused by node B, and of two sign-ins
// sent at once to A and B with one fresh code exactly one succeeds.
func TestMultiNodeSession_ADM02_TOTPCodeOnceAcrossNodes(t *testing.T) {
	a, b := startPair(t)
	newUser(t, a, "alice", alicePassword)
	r := a.doJSON(t, "POST", "/v1/users/alice/totp", a.Root, "")
	var enr api.TOTPEnrollment
	if r.Status != 201 || json.Unmarshal(r.Body, &enr) != nil {
		t.Fatalf("enrol: %d %.200s", r.Status, r.Body)
	}
	// Confirm with the previous step's code (inside the ±1 window), so
	// that the current step is still unused.
	prev, _ := totp.GenerateCode(enr.Secret, time.Now().Add(-30*time.Second))
	if r := a.doJSON(t, "POST", "/v1/users/alice/totp/confirm", a.Root, `{"code":"`+prev+`"}`); r.Status != 200 {
		t.Fatalf("confirm: %d %.200s", r.Status, r.Body)
	}
	pending := func(s *testServer) *browser {
		t.Helper()
		br := newBrowser(t, s.URL, nil)
		if r := br.login("alice", alicePassword); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/login/verify" {
			t.Fatalf("password step on %s: %d Location %q", s.URL, r.Status, r.Header.Get("Location"))
		}
		if r := br.get("/login/verify"); r.Status != 200 {
			t.Fatalf("GET /login/verify: %d", r.Status)
		}
		return br
	}
	verify := func(br *browser, code string) response {
		return br.post("/login/verify", url.Values{"otp": {code}})
	}

	code, _ := totp.GenerateCode(enr.Secret, time.Now())
	onA, onB := pending(a), pending(b)
	if r := verify(onA, code); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/ui/me" {
		t.Fatalf("code on node A: %d Location %q", r.Status, r.Header.Get("Location"))
	}
	if r := verify(onB, code); r.Status == http.StatusSeeOther || onB.cookie("latchkey_session") != "" {
		t.Fatalf("the code node A accepted was accepted again by node B: %d Location %q", r.Status, r.Header.Get("Location"))
	}

	// A code of the next step, sent to both nodes at once.
	next, _ := totp.GenerateCode(enr.Secret, time.Now().Add(30*time.Second))
	brs := []*browser{pending(a), pending(b)}
	status := make([]int, len(brs))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, br := range brs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			status[i] = verify(br, next).Status
		}()
	}
	close(start)
	wg.Wait()
	won := 0
	for _, st := range status {
		if st == http.StatusSeeOther {
			won++
		}
	}
	if won != 1 {
		t.Fatalf("one code sent to both nodes at once: answers %v, want exactly one sign-in", status)
	}
}
