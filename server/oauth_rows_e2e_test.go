package server_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/server"
)

// revokeHinted posts an RFC 7009 revocation with a token_type_hint.
func revokeHinted(t *testing.T, base, tok, hint, user, pass string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/oauth2/revoke", strings.NewReader(url.Values{"token": {tok}, "token_type_hint": {hint}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(user, pass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// TestAS14_AccessTokenInQueryRefused: a credential in ?access_token= is
// never read (RFC 6750 §2.3, RFC 9700 §2.6): not by the gateway, not by
// the management API; the same credential in the header works.
func TestAS14_AccessTokenInQueryRefused(t *testing.T) {
	up := newUpstream(t)
	s, gw := startGatewayServer(t, up, server.Config{})
	k, err := s.client(t, s.Root).CreateKey(t.Context(), api.CreateKeyRequest{Scopes: []string{"orders:read"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("AS14_Gateway", func(t *testing.T) {
		before := up.count()
		if resp := gatewayGet(t, gw+"/orders?access_token="+url.QueryEscape(k.Secret), ""); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("gateway with ?access_token=: %d, want 401", resp.StatusCode)
		}
		if up.count() != before {
			t.Error("a request with the key in the query reached the upstream")
		}
		if resp := gatewayGet(t, gw+"/orders", k.Secret); resp.StatusCode != http.StatusOK {
			t.Errorf("the same key in the header: %d", resp.StatusCode)
		}
	})
	t.Run("AS14_ManagementAPI", func(t *testing.T) {
		if r := s.doJSON(t, http.MethodGet, "/v1/keys?access_token="+url.QueryEscape(s.Root), "", ""); r.Status != http.StatusUnauthorized {
			t.Errorf("management API with ?access_token=: %d, want 401", r.Status)
		}
		if r := s.doJSON(t, http.MethodGet, "/v1/keys", s.Root, ""); r.Status != http.StatusOK {
			t.Errorf("the same key in the header: %d", r.Status)
		}
	})
}

// TestIR06_WrongTokenTypeHint: a wrong or unknown token_type_hint does
// not stop a revocation (RFC 7009 §2.1: the search extends to every
// type); a token of a type that cannot be revoked is 400
// unsupported_token_type.
func TestIR06_WrongTokenTypeHint(t *testing.T) {
	c := newCodeClient(t, server.Config{}, `{"redirect_uris":["https://web.example/cb"],"audiences":["https://orders.example"],"access_token_format":"opaque"}`)
	t.Run("IR06_RefreshTokenHintedAsAccessToken", func(t *testing.T) {
		code, verifier := c.code(t, nil)
		a := c.redeem(t, code, verifier)
		rt := a.Token["refresh_token"].(string)
		if status, m := revokeHinted(t, c.s.URL, rt, "access_token", c.id, c.secret); status != http.StatusOK {
			t.Fatalf("revoke: %d %v", status, m)
		}
		if r := c.refresh(t, rt); r.Status != http.StatusBadRequest || r.Problem.Error != "invalid_grant" {
			t.Errorf("refresh token after its revocation with a wrong hint: %d %+v", r.Status, r.Problem)
		}
		if c.active(t, a.Token["access_token"].(string)) {
			t.Error("the grant's access token outlived the revocation")
		}
	})
	t.Run("IR06_AccessTokenHintedAsRefreshToken", func(t *testing.T) {
		for _, hint := range []string{"refresh_token", "urn:example:unknown"} {
			code, verifier := c.code(t, nil)
			at := c.redeem(t, code, verifier).Token["access_token"].(string)
			if status, m := revokeHinted(t, c.s.URL, at, hint, c.id, c.secret); status != http.StatusOK {
				t.Fatalf("hint %s: %d %v", hint, status, m)
			}
			if c.active(t, at) {
				t.Errorf("hint %s: the access token outlived its revocation", hint)
			}
		}
	})
	t.Run("IR06_UnsupportedTokenType", func(t *testing.T) {
		jc := createClient(t, c.s, `{"id":"jwtjob","oauth":{"grant_types":["client_credentials"]}}`)
		jwt := postToken(t, c.s.URL, url.Values{"grant_type": {"client_credentials"}}, "jwtjob", jc.ClientSecret).Token["access_token"].(string)
		if status, m := revokeHinted(t, c.s.URL, jwt, "access_token", "jwtjob", jc.ClientSecret); status != http.StatusBadRequest || m["error"] != "unsupported_token_type" {
			t.Errorf("revoke a JWT access token: %d %v", status, m)
		}
	})
}

// TestIR09_RevokingRefreshTokenEndsAccessTokens: revoking a refresh token
// ends its grant: every access token of the grant, JWT or opaque, the
// first and the refreshed ones, introspects inactive; other grants live.
func TestIR09_RevokingRefreshTokenEndsAccessTokens(t *testing.T) {
	for _, format := range []string{"jwt", "opaque"} {
		t.Run("IR09_"+format, func(t *testing.T) {
			c := newCodeClient(t, server.Config{}, `{"redirect_uris":["https://web.example/cb"],"audiences":["https://orders.example"],"access_token_format":"`+format+`"}`)
			code, verifier := c.code(t, nil)
			first := c.redeem(t, code, verifier)
			second := c.refresh(t, first.Token["refresh_token"].(string))
			if second.Status != http.StatusOK {
				t.Fatalf("refresh: %d %+v", second.Status, second.Problem)
			}
			code, verifier = c.code(t, nil)
			other := c.redeem(t, code, verifier)
			if status, m := revokeToken(t, c.s.URL, second.Token["refresh_token"].(string), c.id, c.secret); status != http.StatusOK {
				t.Fatalf("revoke: %d %v", status, m)
			}
			for name, at := range map[string]string{"first": first.Token["access_token"].(string), "refreshed": second.Token["access_token"].(string)} {
				if c.active(t, at) {
					t.Errorf("the %s access token of the grant outlived the revocation of its refresh token", name)
				}
			}
			if !c.active(t, other.Token["access_token"].(string)) {
				t.Error("the access token of another grant died too")
			}
			if r := c.refresh(t, other.Token["refresh_token"].(string)); r.Status != http.StatusOK {
				t.Errorf("the refresh token of another grant: %d %+v", r.Status, r.Problem)
			}
		})
	}
}

// TestTX04_ExchangedTokenOfDisabledClient: once the client that exchanged
// a token is disabled, the exchanged token is refused by introspection
// and by the gateway, and it exchanges nothing more.
func TestTX04_ExchangedTokenOfDisabledClient(t *testing.T) {
	up := newUpstream(t)
	s, gw := startGatewayServer(t, up, server.Config{})
	c := s.client(t, s.Root)
	if _, err := c.CreateUser(t.Context(), api.CreatePrincipalRequest{ID: "alice", Permissions: []string{"orders:read"}}); err != nil {
		t.Fatal(err)
	}
	key, err := c.CreateKey(t.Context(), api.CreateKeyRequest{Owner: &api.Owner{Type: "user", ID: "alice"}, Scopes: []string{"orders:read"}})
	if err != nil {
		t.Fatal(err)
	}
	edge := createClient(t, s, `{"id":"edge","permissions":["orders:read"],"oauth":{"grant_types":["urn:ietf:params:oauth:grant-type:token-exchange"],"audiences":["default"]}}`)
	rs := createClient(t, s, `{"id":"orders","oauth":{"grant_types":["client_credentials"],"audiences":["default"]}}`)
	a := postToken(t, s.URL, url.Values{"grant_type": {tokenExchange}, "subject_token": {key.Secret}, "subject_token_type": {accessTokenT}}, "edge", edge.ClientSecret)
	if a.Status != http.StatusOK {
		t.Fatalf("exchange: %d %+v", a.Status, a.Problem)
	}
	jwt := a.Token["access_token"].(string)
	if _, m := introspect(t, s.URL, jwt, "orders", rs.ClientSecret); m["active"] != true {
		t.Fatalf("exchanged token: %v", m)
	}
	if resp := gatewayGet(t, gw+"/orders", jwt); resp.StatusCode != http.StatusOK {
		t.Fatalf("exchanged token at the gateway: %d", resp.StatusCode)
	}
	if r := s.doJSON(t, http.MethodPatch, "/v1/apps/edge", s.Root, `{"disabled":true}`); r.Status != http.StatusOK {
		t.Fatal(r.Status, string(r.Body))
	}
	t.Run("TX04_Introspection", func(t *testing.T) {
		if _, m := introspect(t, s.URL, jwt, "orders", rs.ClientSecret); len(m) != 1 || m["active"] != false {
			t.Errorf("exchanged token of a disabled client: %v", m)
		}
	})
	t.Run("TX04_Gateway", func(t *testing.T) {
		if resp := gatewayGet(t, gw+"/orders", jwt); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("exchanged token of a disabled client at the gateway: %d, want 401", resp.StatusCode)
		}
	})
	t.Run("TX04_NoFurtherExchange", func(t *testing.T) {
		if a := postToken(t, s.URL, url.Values{"grant_type": {tokenExchange}, "subject_token": {key.Secret}, "subject_token_type": {accessTokenT}}, "edge", edge.ClientSecret); a.Status == http.StatusOK {
			t.Error("a disabled client exchanged a token")
		}
	})
}

// TestGrantsOfDisabledUserOrApp: disabling the user or the app of a grant
// ends its access tokens and its refresh token at once.
func TestGrantsOfDisabledUserOrApp(t *testing.T) {
	for _, who := range []string{"/v1/users/alice", "/v1/apps/web"} {
		c := newCodeClient(t, server.Config{}, `{"redirect_uris":["https://web.example/cb"],"audiences":["https://orders.example"],"access_token_format":"opaque"}`)
		code, verifier := c.code(t, nil)
		a := c.redeem(t, code, verifier)
		jc, jv := c.code(t, nil)
		if r := c.s.doJSON(t, http.MethodPatch, who, c.s.Root, `{"disabled":true}`); r.Status != http.StatusOK {
			t.Fatal(r.Status, string(r.Body))
		}
		if c.active(t, a.Token["access_token"].(string)) {
			t.Errorf("%s disabled: the access token is active", who)
		}
		if r := c.refresh(t, a.Token["refresh_token"].(string)); r.Status == http.StatusOK {
			t.Errorf("%s disabled: the refresh token works", who)
		}
		if r := c.redeem(t, jc, jv); r.Status == http.StatusOK {
			t.Errorf("%s disabled: a code issued before was redeemed", who)
		}
	}
}

// TestIR10_RandomTokensFromOneClientThrottled: an authenticated client
// that introspects or revokes token after token that does not exist is
// throttled (429 slow_down, Retry-After) well before 10⁴ requests, while
// its questions about real tokens are still answered; another client is
// not affected. Both endpoints draw from one budget per client.
func TestIR10_RandomTokensFromOneClientThrottled(t *testing.T) {
	s := startServer(t, server.Config{})
	rs := createClient(t, s, `{"id":"orders-api","oauth":{"grant_types":["client_credentials"],"audiences":["default"]}}`)
	other := createClient(t, s, `{"id":"billing-api","oauth":{"grant_types":["client_credentials"],"audiences":["default"]}}`)
	key, err := s.client(t, s.Root).CreateKey(t.Context(), api.CreateKeyRequest{Scopes: []string{"orders:read"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, endpoint := range []string{"/oauth2/introspect", "/oauth2/revoke"} {
		throttledAt := 0
		for i := 1; i <= 10_000 && throttledAt == 0; i++ {
			form := url.Values{"token": {"default_" + strings.Repeat("x", 20) + strconv.Itoa(i)}}
			req, _ := http.NewRequest(http.MethodPost, s.URL+endpoint, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth("orders-api", rs.ClientSecret)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			json.NewDecoder(resp.Body).Decode(&m) //nolint:errcheck // checked below
			resp.Body.Close()
			switch resp.StatusCode {
			case http.StatusOK:
			case http.StatusTooManyRequests:
				if m["error"] != "slow_down" || resp.Header.Get("Retry-After") == "" {
					t.Fatalf("%s throttled: %v %v", endpoint, m, resp.Header)
				}
				throttledAt = i
			default:
				t.Fatalf("%s request %d: %d %v", endpoint, i, resp.StatusCode, m)
			}
		}
		if throttledAt == 0 || throttledAt > 2000 {
			t.Fatalf("%s: throttled at request %d of 10⁴", endpoint, throttledAt)
		}
		t.Logf("%s: throttled at request %d", endpoint, throttledAt)
	}
	if _, m := introspect(t, s.URL, key.Secret, "orders-api", rs.ClientSecret); m["active"] != true {
		t.Errorf("a real token while throttled: %v", m)
	}
	if status, m := introspect(t, s.URL, "default_unknownunknownunknown", "billing-api", other.ClientSecret); status != http.StatusOK || m["active"] != false {
		t.Errorf("another client: %d %v", status, m)
	}
}
