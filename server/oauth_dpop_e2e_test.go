package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/server"
)

// postTokenDPoP is postToken with a DPoP proof of d for the token endpoint.
func postTokenDPoP(t *testing.T, base string, form url.Values, user, pass, proof string) tokenAnswer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
	}
	if proof != "" {
		req.Header.Set("DPoP", proof)
	}
	return doToken(t, req)
}

// TestDP07_TokenTypeAndCnf: a proof at the token endpoint gives a DPoP
// token — token_type DPoP, cnf.jkt in the JWT and in introspection, JWT and
// opaque alike — and the gateway refuses it as a bearer token (DP-06) and
// admits it with a proof of its key.
func TestDP07_TokenTypeAndCnf(t *testing.T) {
	up := newUpstream(t)
	s, gw := startGatewayServer(t, up, server.Config{})
	d, jkt := dpopKey(t)
	rs := createClient(t, s, `{"id":"orders-api","oauth":{"grant_types":["client_credentials"],"audiences":["default"]}}`)
	for _, format := range []string{"jwt", "opaque"} {
		id := "svc-" + format
		app := createClient(t, s, `{"id":"`+id+`","permissions":["orders:read"],"oauth":{"grant_types":["client_credentials"],"audiences":["default"],"access_token_format":"`+format+`"}}`)
		a := postTokenDPoP(t, s.URL, url.Values{"grant_type": {"client_credentials"}}, id, app.ClientSecret,
			proofFor(t, d, "POST", s.URL+"/oauth2/token", "", ""))
		if a.Status != http.StatusOK || a.Token["token_type"] != "DPoP" {
			t.Fatalf("%s: %d %v %v", format, a.Status, a.Token["token_type"], a.Problem)
		}
		tok := a.Token["access_token"].(string)
		if format == "jwt" {
			if _, claims := verifyAccessToken(t, s.URL, tok); claims["cnf"] == nil || claims["cnf"].(map[string]any)["jkt"] != jkt {
				t.Errorf("cnf of the JWT: %v", claims["cnf"])
			}
		}
		_, m := introspect(t, s.URL, tok, "orders-api", rs.ClientSecret)
		if m["active"] != true || m["token_type"] != "DPoP" || m["cnf"] == nil || m["cnf"].(map[string]any)["jkt"] != jkt {
			t.Errorf("%s introspection: %v", format, m)
		}
		if resp := gatewayDPoP(t, gw+"/orders/1", "Bearer", tok); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: DP-06 bound token as Bearer: %d", format, resp.StatusCode)
		}
		if resp := gatewayDPoP(t, gw+"/orders/1", "DPoP", tok, proofFor(t, d, "GET", gw+"/orders/1", tok, "")); resp.StatusCode != http.StatusOK {
			t.Errorf("%s: with its proof: %d %s", format, resp.StatusCode, resp.Header)
		}
	}
	// A client registered with dpop_bound_access_tokens must send a proof.
	bound := createClient(t, s, `{"id":"bound","permissions":["orders:read"],"oauth":{"grant_types":["client_credentials"],"dpop_bound_access_tokens":true}}`)
	if a := postToken(t, s.URL, url.Values{"grant_type": {"client_credentials"}}, "bound", bound.ClientSecret); a.Problem.Error != "invalid_dpop_proof" {
		t.Errorf("bound client without proof: %d %v", a.Status, a.Problem)
	}
}

// TestDP08_AuthorizeDPoPJKT: a code bound at authorization to a key
// (dpop_jkt) is redeemed only with a proof of that key; a public client's
// refresh tokens are bound to the key of the redemption (RT-05).
func TestDP08_AuthorizeDPoPJKT(t *testing.T) {
	c := newCodeClient(t, server.Config{}, `{"redirect_uris":["https://web.example/cb"],"token_endpoint_auth_method":"none","audiences":["https://orders.example"]}`)
	d, jkt := dpopKey(t)
	other, _ := dpopKey(t)
	redeem := func(code, verifier, proof string) tokenAnswer {
		return postTokenDPoP(t, c.s.URL, url.Values{"grant_type": {"authorization_code"}, "client_id": {"web"}, "code": {code},
			"redirect_uri": {c.redirect}, "code_verifier": {verifier}}, "", "", proof)
	}
	code, verifier := c.code(t, url.Values{"dpop_jkt": {jkt}})
	if a := redeem(code, verifier, proofFor(t, other, "POST", c.s.URL+"/oauth2/token", "", "")); a.Status != http.StatusBadRequest {
		t.Errorf("DP-08 proof of another key: %d %v", a.Status, a.Problem)
	}
	code, verifier = c.code(t, url.Values{"dpop_jkt": {jkt}})
	if a := redeem(code, verifier, ""); a.Status != http.StatusBadRequest {
		t.Errorf("DP-08 no proof: %d %v", a.Status, a.Problem)
	}
	code, verifier = c.code(t, url.Values{"dpop_jkt": {jkt}})
	a := redeem(code, verifier, proofFor(t, d, "POST", c.s.URL+"/oauth2/token", "", ""))
	if a.Status != http.StatusOK || a.Token["token_type"] != "DPoP" {
		t.Fatalf("redemption with the bound key: %d %v", a.Status, a.Problem)
	}
	rt := a.Token["refresh_token"].(string)
	refresh := func(proof string) tokenAnswer {
		return postTokenDPoP(t, c.s.URL, url.Values{"grant_type": {"refresh_token"}, "client_id": {"web"}, "refresh_token": {rt}}, "", "", proof)
	}
	if r := refresh(""); r.Problem.Error != "invalid_grant" {
		t.Errorf("RT-05 bound refresh token without proof: %d %v", r.Status, r.Problem)
	}
	if r := refresh(proofFor(t, other, "POST", c.s.URL+"/oauth2/token", "", "")); r.Problem.Error != "invalid_grant" {
		t.Errorf("RT-05 bound refresh token with another key: %d %v", r.Status, r.Problem)
	}
	if r := refresh(proofFor(t, d, "POST", c.s.URL+"/oauth2/token", "", "")); r.Status != http.StatusOK || r.Token["token_type"] != "DPoP" {
		t.Errorf("refresh with the bound key: %d %v", r.Status, r.Problem)
	}
}
