package interop_test

import (
	"testing"
)

// exchangeOutput is exchange.mjs's result.
type exchangeOutput struct {
	Token struct {
		AccessToken     string  `json:"access_token"`
		IssuedTokenType string  `json:"issued_token_type"`
		TokenType       string  `json:"token_type"`
		ExpiresIn       float64 `json:"expires_in"`
		Scope           string  `json:"scope"`
	} `json:"token"`
}

// TestInteropOAuth4WebAPITokenExchange: oauth4webapi's generic grant
// trades a service's own client_credentials token, as subject, for a
// downscoped token (RFC 8693), and with an actor token records the
// delegation in act; jose verifies the result against the JWKS.
func TestInteropOAuth4WebAPITokenExchange(t *testing.T) {
	t.Parallel()
	needNode(t)
	l := startLatchkey(t)
	reports := l.createClient(t, reportsApp)
	edge := l.createClient(t, `{"id":"edge","permissions":["orders:read"],
		"oauth":{"grant_types":["client_credentials","urn:ietf:params:oauth:grant-type:token-exchange"],"audiences":["https://api.example"]}}`)
	cc := func(id, secret string) string {
		r := runNode(t, "cc.mjs", map[string]string{"LATCHKEY_URL": l.URL, "CLIENT_ID": id, "CLIENT_SECRET": secret})
		if !r.OK {
			t.Fatalf("client_credentials for %s: %s", id, r.Out)
		}
		return decode[ccOutput](t, r, "cc.mjs").Token.AccessToken
	}
	subject, actor := cc(reports.ClientID, reports.ClientSecret), cc(edge.ClientID, edge.ClientSecret)
	r := runNode(t, "exchange.mjs", map[string]string{"LATCHKEY_URL": l.URL, "CLIENT_ID": "edge", "CLIENT_SECRET": edge.ClientSecret,
		"SUBJECT_TOKEN": subject, "ACTOR_TOKEN": actor, "SCOPE": "orders:read"})
	if !r.OK {
		t.Fatalf("oauth4webapi token exchange failed: %s; stderr %s", r.Out, r.Stderr)
	}
	out := decode[exchangeOutput](t, r, "exchange.mjs")
	if out.Token.IssuedTokenType != "urn:ietf:params:oauth:token-type:access_token" || out.Token.Scope != "orders:read" {
		t.Errorf("exchange answer %+v", out.Token)
	}
	v := verifyWithJose(t, l, out.Token.AccessToken, "https://api.example")
	if !v.OK {
		t.Fatalf("jose refused the exchanged token: %s", v.Out)
	}
	p := decode[verifyOutput](t, v, "verify.mjs").Payload
	act, _ := p["act"].(map[string]any)
	if p["sub"] != "app:reports" || p["client_id"] != "edge" || act["sub"] != "app:edge" {
		t.Errorf("exchanged claims %v", p)
	}
	// A scope the subject does not hold: oauth4webapi sees invalid_scope.
	bad := mustFail(t, runNode(t, "exchange.mjs", map[string]string{"LATCHKEY_URL": l.URL, "CLIENT_ID": "edge",
		"CLIENT_SECRET": edge.ClientSecret, "SUBJECT_TOKEN": subject, "SCOPE": "billing:read"}), "exchange beyond the subject")
	if bad.Failed.Error != "invalid_scope" {
		t.Errorf("exchange beyond the subject: %+v", *bad.Failed)
	}
}
