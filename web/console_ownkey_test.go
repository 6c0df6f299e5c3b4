package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/apitoken"
	"github.com/latchkey/latchkey/token"
)

// TestConsoleOwnKeyNeedsStepUp: an admin creating or rotating a key of
// their own in the console (/ui/keys) needs the step-up the portal asks
// for a personal access token; a key for someone else does not.
func TestConsoleOwnKeyNeedsStepUp(t *testing.T) {
	clock := &testClock{t: time.Now()}
	s := newConsoleStack(t, clock)
	s.must(201, "POST", "/v1/users", `{"id":"bob","permissions":[]}`)
	b, code := portalUser(t, s, clock, "ada", "admin")
	clock.Add(6 * time.Minute) // stale: no step-up in the last 5 minutes
	own := func() int { return len(keysOf(t, s, "ada")) }
	before := own()
	p := b.post("/ui/keys", url.Values{"keyspace": {"default"}, "name": {"mine"}, "owner": {"user:ada"}})
	if p.status != http.StatusForbidden || !strings.Contains(p.body, "Confirm it is you") || strings.Contains(p.body, `id="secret"`) {
		t.Fatalf("own key without step-up: %d %.300s", p.status, p.body)
	}
	if n := own(); n != before {
		t.Fatalf("a key of ada's was created without step-up")
	}
	if p := b.post("/ui/keys", url.Values{"keyspace": {"default"}, "name": {"bob's"}, "owner": {"user:bob"}}); p.status != http.StatusCreated {
		t.Fatalf("a key for bob: %d %.300s", p.status, p.body)
	}
	id, _ := s.newKey("default") // ownerless
	var mine struct{ ID string }
	if err := json.Unmarshal(s.must(201, "POST", "/v1/keys", `{"name":"mine","owner":{"type":"user","id":"ada"}}`), &mine); err != nil {
		t.Fatal(err)
	}
	if p := b.post("/ui/keys/"+mine.ID+"/rotate", url.Values{}); p.status != http.StatusForbidden || !strings.Contains(p.body, "Confirm it is you") {
		t.Fatalf("rotate own key without step-up: %d %.300s", p.status, p.body)
	}
	if st := apiKeyState(t, s, mine.ID); st != "active" {
		t.Fatalf("own key after a refused rotate: %s", st)
	}
	if p := b.post("/ui/keys/"+id+"/rotate", url.Values{}); p.status != http.StatusCreated {
		t.Fatalf("rotate an ownerless key: %d", p.status)
	}
	if p := b.post("/ui/me/step-up", url.Values{"otp": {code(clock.Now())}, "return_to": {"/ui/keys"}}); p.status >= 400 {
		t.Fatalf("step-up: %d", p.status)
	}
	if p := b.post("/ui/keys", url.Values{"keyspace": {"default"}, "name": {"mine"}, "owner": {"user:ada"}}); p.status != http.StatusCreated {
		t.Fatalf("own key after step-up: %d %.300s", p.status, p.body)
	}
	if p := b.post("/ui/keys/"+mine.ID+"/rotate", url.Values{}); p.status != http.StatusCreated {
		t.Fatalf("rotate own key after step-up: %d", p.status)
	}
}

// TestPortalTokenCap: the portal creates no personal access token for a
// user who already holds portalTokenCap unrevoked keys; revoking one
// makes room.
func TestPortalTokenCap(t *testing.T) {
	clock := &testClock{t: time.Now()}
	s := newConsoleStack(t, clock)
	b, _ := portalUser(t, s, clock, "alice", "orders:read")
	owner := &token.Owner{Type: token.User, ID: "alice"}
	var in []token.ImportKey
	for i := range portalTokenCap {
		in = append(in, token.ImportKey{Digest: apitoken.FromString(fmt.Sprintf("alice-%d", i)).Digest(), Name: "old", Owner: owner})
	}
	keys, err := s.svc.ImportKeys(context.Background(), token.SystemActor, token.DefaultKeyspace, in)
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"name": {"one more"}, "keyspace": {"default"}, "scope": {"orders:read"}}
	p := b.post("/ui/me/tokens", form)
	if p.status != http.StatusConflict || !strings.Contains(p.body, "Revoke the ones you no longer use") || strings.Contains(p.body, `id="secret"`) {
		t.Fatalf("create beyond the cap: %d %.300s", p.status, p.body)
	}
	all, _, err := s.svc.Keys(context.Background(), token.SystemActor, token.KeyFilter{OwnerType: token.User, OwnerID: "alice", Limit: token.MaxPageSize})
	if n := len(all); err != nil || n != portalTokenCap {
		t.Fatalf("alice has %d keys, want %d", n, portalTokenCap)
	}
	s.must(200, "POST", "/v1/keys/"+keys[0].ID+"/revoke", `{"reason":"old"}`)
	wantNoStoreSecret(t, b.post("/ui/me/tokens", form), http.StatusCreated)
}
