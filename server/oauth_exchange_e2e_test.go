package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/server"
)

const (
	tokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	accessTokenT  = "urn:ietf:params:oauth:token-type:access_token"
)

// TestTX_TokenExchange: a service exchanges a user's API key for a
// downscoped JWT for one of its audiences (RFC 8693); the new token acts
// for the user, never for the service (TX-01), is bounded by the subject
// and the service (TX-02), and dies with the subject key (TX-05).
func TestTX_TokenExchange(t *testing.T) {
	s := startServer(t, server.Config{})
	c := s.client(t, s.Root)
	if _, err := c.CreateUser(t.Context(), api.CreatePrincipalRequest{ID: "alice", Permissions: []string{"orders:read", "orders:write", "billing:read"}}); err != nil {
		t.Fatal(err)
	}
	key, err := c.CreateKey(t.Context(), api.CreateKeyRequest{Owner: &api.Owner{Type: "user", ID: "alice"}, Scopes: []string{"orders:read", "orders:write", "billing:read"}})
	if err != nil {
		t.Fatal(err)
	}
	gw := createClient(t, s, `{"id":"edge","permissions":["orders:read","orders:write"],"oauth":{"grant_types":["urn:ietf:params:oauth:grant-type:token-exchange"],"audiences":["https://orders.internal"]}}`)
	rs := createClient(t, s, `{"id":"orders","oauth":{"grant_types":["client_credentials"],"audiences":["https://orders.internal"]}}`)
	ex := func(form url.Values) tokenAnswer {
		form.Set("grant_type", tokenExchange)
		return postToken(t, s.URL, form, "edge", gw.ClientSecret)
	}
	a := ex(url.Values{"subject_token": {key.Secret}, "subject_token_type": {accessTokenT}, "scope": {"orders:read"}})
	if a.Status != http.StatusOK || a.Token["issued_token_type"] != accessTokenT || a.Token["scope"] != "orders:read" {
		t.Fatalf("exchange: %d %v %+v", a.Status, a.Token, a.Problem)
	}
	jwt := a.Token["access_token"].(string)
	typ, claims := verifyAccessToken(t, s.URL, jwt)
	if typ != "at+jwt" || claims["sub"] != "user:alice" || claims["client_id"] != "edge" || claims["key_id"] != key.ID ||
		claims["aud"] != "https://orders.internal" {
		t.Errorf("exchanged claims %v", claims)
	}
	// Without scope: what the subject holds ∩ the service's permissions.
	if a := ex(url.Values{"subject_token": {key.Secret}, "subject_token_type": {accessTokenT}}); a.Token["scope"] != "orders:read orders:write" {
		t.Errorf("default scope %v", a.Token["scope"])
	}
	// TX-02: beyond the subject or the service, another audience.
	t.Run("TX02_ScopeBeyondServiceOrSubject", func(t *testing.T) {
		if a := ex(url.Values{"subject_token": {key.Secret}, "subject_token_type": {accessTokenT}, "scope": {"billing:read"}}); a.Problem.Error != "invalid_scope" {
			t.Errorf("a scope the service may not hold: %d %+v", a.Status, a.Problem)
		}
		narrow, err := c.CreateKey(t.Context(), api.CreateKeyRequest{Owner: &api.Owner{Type: "user", ID: "alice"}, Scopes: []string{"orders:read"}})
		if err != nil {
			t.Fatal(err)
		}
		if a := ex(url.Values{"subject_token": {narrow.Secret}, "subject_token_type": {accessTokenT}, "scope": {"orders:read orders:write"}}); a.Problem.Error != "invalid_scope" {
			t.Errorf("a scope the subject does not hold: %d %+v %v", a.Status, a.Problem, a.Token["scope"])
		}
		if a := ex(url.Values{"subject_token": {narrow.Secret}, "subject_token_type": {accessTokenT}}); a.Status != http.StatusOK || a.Token["scope"] != "orders:read" {
			t.Errorf("no scope asked, narrow subject: %d %+v %v", a.Status, a.Problem, a.Token["scope"])
		}
	})
	t.Run("TX02_AudienceNotAllowed", func(t *testing.T) {
		if a := ex(url.Values{"subject_token": {key.Secret}, "subject_token_type": {accessTokenT}, "audience": {"https://billing.internal"}}); a.Problem.Error != "invalid_target" {
			t.Errorf("another audience: %d %+v", a.Status, a.Problem)
		}
		if a := ex(url.Values{"subject_token": {key.Secret}, "subject_token_type": {accessTokenT}, "resource": {"https://billing.internal/x"}}); a.Status == http.StatusOK {
			t.Errorf("another resource: %d %v", a.Status, a.Token)
		}
	})
	// A JWT subject: the exchanged token, exchanged again, keeps the key.
	b := ex(url.Values{"subject_token": {jwt}, "subject_token_type": {accessTokenT}})
	if b.Status != http.StatusOK || b.Token["scope"] != "orders:read" {
		t.Fatalf("exchange of a JWT: %d %v %+v", b.Status, b.Token, b.Problem)
	}
	// TX-01: no, bad or foreign subject tokens; never a token for the client itself.
	t.Run("TX01_BadSubjectNeverTheClient", func(t *testing.T) {
		for name, form := range map[string]url.Values{
			"no subject":       {},
			"no type":          {"subject_token": {key.Secret}},
			"garbage":          {"subject_token": {"nonsense"}, "subject_token_type": {accessTokenT}},
			"tampered JWT":     {"subject_token": {jwt[:len(jwt)-3] + "abc"}, "subject_token_type": {accessTokenT}},
			"unknown key":      {"subject_token": {"acme_live_" + strings.Repeat("q", 49)}, "subject_token_type": {accessTokenT}},
			"unknown type":     {"subject_token": {key.Secret}, "subject_token_type": {"urn:example:magic"}},
			"actor not client": {"subject_token": {key.Secret}, "subject_token_type": {accessTokenT}, "actor_token": {jwt}, "actor_token_type": {accessTokenT}},
			"id_token request": {"subject_token": {key.Secret}, "subject_token_type": {accessTokenT}, "requested_token_type": {"urn:ietf:params:oauth:token-type:id_token"}},
		} {
			a := ex(form)
			if a.Status != http.StatusBadRequest || (a.Problem.Error != "invalid_request" && a.Problem.Error != "invalid_grant") {
				t.Errorf("TX-01 %s: %d %+v %v", name, a.Status, a.Problem, a.Token)
			}
		}
	})
	// The grant must be registered.
	if a := postToken(t, s.URL, url.Values{"grant_type": {tokenExchange}, "subject_token": {key.Secret}, "subject_token_type": {accessTokenT}}, "orders", rs.ClientSecret); a.Problem.Error != "unauthorized_client" {
		t.Errorf("exchange by a client without the grant: %d %+v", a.Status, a.Problem)
	}
	// TX-05: revoking the subject key ends the exchanged tokens.
	if _, m := introspect(t, s.URL, jwt, "orders", rs.ClientSecret); m["active"] != true {
		t.Fatalf("exchanged token before the revocation: %v", m)
	}
	if r := s.doJSON(t, http.MethodPost, "/v1/keys/"+key.ID+"/revoke", s.Root, `{"reason":"leaked"}`); r.Status != http.StatusOK {
		t.Fatal(r.Status)
	}
	t.Run("TX05_SubjectRevokedEndsExchanged", func(t *testing.T) {
		for name, tok := range map[string]string{"exchanged": jwt, "exchanged twice": b.Token["access_token"].(string)} {
			if _, m := introspect(t, s.URL, tok, "orders", rs.ClientSecret); m["active"] != false {
				t.Errorf("TX-05 %s token after its key was revoked: %v", name, m)
			}
		}
	})
	t.Run("TX01_ForeignIssuer", func(t *testing.T) {
		// A latchkey JWT of another server (another issuer, other keys)
		// for an audience this server's client may exchange for.
		s2 := startServer(t, server.Config{})
		k2, err := s2.client(t, s2.Root).CreateKey(t.Context(), api.CreateKeyRequest{Scopes: []string{"orders:read"}})
		if err != nil {
			t.Fatal(err)
		}
		foreign, err := s2.client(t, s2.Root).ExchangeToken(t.Context(), k2.Secret, api.TokenRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if a := ex(url.Values{"subject_token": {foreign.AccessToken}, "subject_token_type": {accessTokenT}}); a.Status != http.StatusBadRequest ||
			(a.Problem.Error != "invalid_request" && a.Problem.Error != "invalid_grant") {
			t.Errorf("a subject token of another issuer: %d %+v %v", a.Status, a.Problem, a.Token)
		}
	})
	t.Run("TX01_RevokedSubject", func(t *testing.T) {
		if a := ex(url.Values{"subject_token": {key.Secret}, "subject_token_type": {accessTokenT}}); a.Problem.Error != "invalid_grant" {
			t.Errorf("exchanging a revoked key: %d %+v", a.Status, a.Problem)
		}
		if a := ex(url.Values{"subject_token": {jwt}, "subject_token_type": {accessTokenT}}); a.Status == http.StatusOK {
			t.Errorf("exchanging a JWT of a revoked key: %d %v", a.Status, a.Token)
		}
	})
}

// TestTX_KeysWithBoundsAreNotExchanged: a key with an IP allowlist,
// credits or rate limits would escape them as a bearer JWT (KEY-06).
func TestTX_KeysWithBoundsAreNotExchanged(t *testing.T) {
	s := startServer(t, server.Config{})
	c := s.client(t, s.Root)
	gw := createClient(t, s, `{"id":"edge","permissions":["orders:read"],"oauth":{"grant_types":["urn:ietf:params:oauth:grant-type:token-exchange"],"audiences":["https://orders.internal"]}}`)
	remaining := int64(5)
	for name, req := range map[string]api.CreateKeyRequest{
		"IP allowlist": {Scopes: []string{"orders:read"}, IPAllow: []string{"10.0.0.0/8"}},
		"credits":      {Scopes: []string{"orders:read"}, Remaining: &remaining},
		"rate limit":   {Scopes: []string{"orders:read"}, RateLimits: []api.RateLimit{{Name: "r", Limit: 10, Window: "1m"}}},
	} {
		k, err := c.CreateKey(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		a := postToken(t, s.URL, url.Values{"grant_type": {tokenExchange}, "subject_token": {k.Secret}, "subject_token_type": {accessTokenT}}, "edge", gw.ClientSecret)
		if a.Status != http.StatusBadRequest || a.Problem.Error != "invalid_grant" {
			t.Errorf("%s: %d %+v", name, a.Status, a.Problem)
		}
	}
}

// TestTX03_Delegation: with actor_token — the client's own token — the
// exchanged token names the client in act, chains stack in order, a chain
// longer than four is refused, and an actor token of another client is
// refused.
func TestTX03_Delegation(t *testing.T) {
	s := startServer(t, server.Config{})
	c := s.client(t, s.Root)
	if _, err := c.CreateUser(t.Context(), api.CreatePrincipalRequest{ID: "alice", Permissions: []string{"orders:read"}}); err != nil {
		t.Fatal(err)
	}
	key, err := c.CreateKey(t.Context(), api.CreateKeyRequest{Owner: &api.Owner{Type: "user", ID: "alice"}, Scopes: []string{"orders:read"}})
	if err != nil {
		t.Fatal(err)
	}
	const reg = `{"id":%q,"permissions":["orders:read"],"oauth":{"grant_types":["client_credentials","urn:ietf:params:oauth:grant-type:token-exchange"],"audiences":["https://orders.internal"]}}`
	edge := createClient(t, s, strings.Replace(reg, "%q", `"edge"`, 1))
	other := createClient(t, s, strings.Replace(reg, "%q", `"other"`, 1))
	own := func(id, secret string) string {
		return postToken(t, s.URL, url.Values{"grant_type": {"client_credentials"}}, id, secret).Token["access_token"].(string)
	}
	edgeToken, otherToken := own("edge", edge.ClientSecret), own("other", other.ClientSecret)
	delegate := func(subject, actor string) tokenAnswer {
		return postToken(t, s.URL, url.Values{"grant_type": {tokenExchange}, "subject_token": {subject}, "subject_token_type": {accessTokenT},
			"actor_token": {actor}, "actor_token_type": {accessTokenT}}, "edge", edge.ClientSecret)
	}
	a := delegate(key.Secret, edgeToken)
	if a.Status != http.StatusOK {
		t.Fatalf("delegation: %d %+v", a.Status, a.Problem)
	}
	_, claims := verifyAccessToken(t, s.URL, a.Token["access_token"].(string))
	act, _ := claims["act"].(map[string]any)
	if claims["sub"] != "user:alice" || act["sub"] != "app:edge" || act["act"] != nil {
		t.Fatalf("claims %v", claims)
	}
	if d := delegate(key.Secret, otherToken); d.Status != http.StatusBadRequest || d.Problem.Error != "invalid_grant" {
		t.Errorf("another client's actor token: %d %+v", d.Status, d.Problem)
	}
	// Chains stack: the newest actor outermost; the fifth link is refused.
	tok := a.Token["access_token"].(string)
	for depth := 2; depth <= 5; depth++ {
		d := delegate(tok, edgeToken)
		if depth == 5 {
			if d.Status != http.StatusBadRequest {
				t.Errorf("a chain of %d actors: %d %+v", depth, d.Status, d.Problem)
			}
			break
		}
		if d.Status != http.StatusOK {
			t.Fatalf("depth %d: %d %+v", depth, d.Status, d.Problem)
		}
		tok = d.Token["access_token"].(string)
		_, claims := verifyAccessToken(t, s.URL, tok)
		n := 0
		for a, _ := claims["act"].(map[string]any); a != nil; a, _ = a["act"].(map[string]any) {
			n++
		}
		if n != depth {
			t.Errorf("depth %d: the chain has %d links", depth, n)
		}
	}
}

// TestTX01_ExpiredSubject: an expired API key as subject_token is
// invalid_grant, and the calling client gets no token of its own instead.
func TestTX01_ExpiredSubject(t *testing.T) {
	s := startServer(t, server.Config{})
	c := s.client(t, s.Root)
	gw := createClient(t, s, `{"id":"edge","permissions":["orders:read"],"oauth":{"grant_types":["urn:ietf:params:oauth:grant-type:token-exchange"],"audiences":["https://orders.internal"]}}`)
	at := time.Now().Add(3 * time.Second)
	k, err := c.CreateKey(t.Context(), api.CreateKeyRequest{Scopes: []string{"orders:read"}, ExpiresAt: &at})
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"grant_type": {tokenExchange}, "subject_token": {k.Secret}, "subject_token_type": {accessTokenT}, "audience": {"https://orders.internal"}}
	if a := postToken(t, s.URL, form, "edge", gw.ClientSecret); a.Status != http.StatusOK {
		t.Fatalf("before expiry: %d %+v", a.Status, a.Problem)
	}
	time.Sleep(time.Until(at) + 100*time.Millisecond)
	if a := postToken(t, s.URL, form, "edge", gw.ClientSecret); a.Status != http.StatusBadRequest || a.Problem.Error != "invalid_grant" || a.Token["access_token"] != nil {
		t.Errorf("an expired subject: %d %+v %v", a.Status, a.Problem, a.Token)
	}
}
