package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/oauth"
	"github.com/latchkey/latchkey/token"
)

// TestPortalOAuthTokensRevokeOnly: the portal lists a user's OAuth access
// token and grant as "revoke only": no rotate form, no OAuth keyspace in
// the create form, and a forged rotate or create POST (stepped up) is
// refused with nothing created; revoking the token still works.
func TestPortalOAuthTokensRevokeOnly(t *testing.T) {
	clock := &testClock{t: time.Now()}
	s := newConsoleStack(t, clock)
	b, _ := portalUser(t, s, clock, "alice", "orders:read")
	ctx := context.Background()
	issuer := token.OAuthIssuer("token endpoint")
	ttl, permanent := time.Hour, false
	for _, ks := range []struct{ name, prefix string }{{oauth.AccessKeyspace, oauth.AccessPrefix}, {oauth.GrantKeyspace, oauth.GrantPrefix}} {
		prefix := ks.prefix
		if _, err := s.svc.CreateKeyspace(ctx, issuer, token.KeyspaceParams{Name: ks.name, Prefix: &prefix, AllowPermanent: &permanent, DefaultTTL: &ttl, MaxTTL: &ttl}); err != nil {
			t.Fatal(err)
		}
	}
	owner := &token.Owner{Type: token.User, ID: "alice"}
	issue := func(ks, name string, md string) *token.Key {
		t.Helper()
		ck, err := s.svc.CreateKey(ctx, issuer, token.CreateKeyParams{Keyspace: ks, Name: name, Owner: owner, Scopes: []string{"orders:read"}, Metadata: json.RawMessage(md)})
		if err != nil {
			t.Fatal(err)
		}
		return ck.Key
	}
	grant := issue(oauth.GrantKeyspace, "OAuth grant", `{"client_id":"shop"}`)
	access := issue(oauth.AccessKeyspace, "OAuth access token", `{"client_id":"shop","aud":["api"],"grant_id":"`+grant.ID+`"}`)

	p := b.get("/ui/me")
	if p.status != http.StatusOK {
		t.Fatalf("/ui/me: %d", p.status)
	}
	for _, k := range []*token.Key{access, grant} {
		if !strings.Contains(p.body, `id="token-`+k.ID+`"`) || !strings.Contains(p.body, `id="oauth-`+k.ID+`"`) {
			t.Errorf("/ui/me does not list %s as an OAuth key, revoke only", k.ID)
		}
		if strings.Contains(p.body, `action="/ui/me/tokens/`+k.ID+`/rotate"`) {
			t.Errorf("/ui/me offers to rotate OAuth key %s", k.ID)
		}
	}
	if !strings.Contains(p.body, `action="/ui/me/tokens/`+access.ID+`/revoke"`) || !strings.Contains(p.body, `id="grant-revoke-`+grant.ID+`"`) {
		t.Error("/ui/me offers no revoke for the OAuth token or the grant")
	}
	_, form, _ := strings.Cut(p.body, `action="/ui/me/tokens"`)
	if strings.Contains(form, `value="`+oauth.AccessKeyspace+`"`) || strings.Contains(form, `value="`+oauth.GrantKeyspace+`"`) {
		t.Error("the create form offers an OAuth keyspace")
	}

	count := func() int {
		t.Helper()
		n := 0
		for _, ks := range []string{oauth.AccessKeyspace, oauth.GrantKeyspace} {
			keys, _, err := s.svc.Keys(ctx, token.SystemActor, token.KeyFilter{Keyspace: ks})
			if err != nil {
				t.Fatal(err)
			}
			n += len(keys)
		}
		return n
	}
	// The session is fresh from its second factor: stepped up.
	for _, k := range []*token.Key{access, grant} {
		p := b.post("/ui/me/tokens/"+k.ID+"/rotate", url.Values{})
		if p.status < 400 || p.status >= 500 || strings.Contains(p.body, `id="secret"`) {
			t.Errorf("forged rotate of OAuth key %s: %d, want a refusal: %.300s", k.ID, p.status, p.body)
		}
	}
	for _, ks := range []string{oauth.AccessKeyspace, oauth.GrantKeyspace} {
		p := b.post("/ui/me/tokens", url.Values{"name": {"mine"}, "keyspace": {ks}, "scope": {"orders:read"}})
		if p.status != http.StatusForbidden || strings.Contains(p.body, `id="secret"`) || !strings.Contains(p.body, "OAuth tokens are not created here") {
			t.Errorf("forged create in %s: %d, want 403: %.300s", ks, p.status, p.body)
		}
	}
	if n := count(); n != 2 {
		t.Fatalf("forged POSTs left %d OAuth keys, want the 2 issued", n)
	}
	if p := b.post("/ui/me/tokens/"+access.ID+"/revoke", url.Values{"reason": {"not mine"}}); p.status != http.StatusOK {
		t.Fatalf("revoke own OAuth token: %d %.300s", p.status, p.body)
	}
	if st := apiKeyState(t, s, access.ID); st != "revoked" {
		t.Fatalf("OAuth token after revoke: %s", st)
	}
}
