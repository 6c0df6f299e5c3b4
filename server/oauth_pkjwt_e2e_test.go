package server_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/internal/pgtest"
	"github.com/latchkey/latchkey/oauth"
	"github.com/latchkey/latchkey/server"
	"github.com/latchkey/latchkey/signer"
)

// keyClient is a private_key_jwt client: its ID and its signing key.
type keyClient struct {
	id  string
	key *ecdsa.PrivateKey
}

// newKeyClient registers app id on s as a private_key_jwt client with a
// fresh P-256 key.
func newKeyClient(t *testing.T, s *testServer, id string) keyClient {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: k.Public(), KeyID: "k1", Use: "sig"}}})
	app := createClient(t, s, `{"id":"`+id+`","permissions":["orders:read"],"oauth":{"grant_types":["client_credentials"],
		"token_endpoint_auth_method":"private_key_jwt","audiences":["https://api.example"],"jwks":`+string(jwks)+`}}`)
	if app.ClientSecret != "" || app.OAuth == nil || app.OAuth.TokenEndpointAuthMethod != "private_key_jwt" {
		t.Fatalf("created private_key_jwt app: secret given %v, %+v", app.ClientSecret != "", app.OAuth)
	}
	return keyClient{id: id, key: k}
}

// assertion signs a client assertion of c for audience aud with jti.
func (c keyClient) assertion(t *testing.T, aud []string, jti string) string {
	t.Helper()
	sg, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: c.key}, (&jose.SignerOptions{}).WithHeader("kid", "k1"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	claims := jwt.Claims{Issuer: c.id, Subject: c.id, Audience: aud, ID: jti,
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Minute))}
	out, err := jwt.Signed(sg).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func assertionForm(a string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {oauth.ClientAssertionType}, "client_assertion": {a}}
}

// TestAS10_PrivateKeyJWTEndToEnd: a private_key_jwt client registered
// over the API gets a token with a signed assertion; the metadata offers
// the method; the assertion works once, also when 20 requests race; the
// client introspects as a confidential client and has no secret to rotate.
func TestAS10_PrivateKeyJWTEndToEnd(t *testing.T) {
	s := startServer(t, server.Config{})
	var meta api.AuthorizationServerMetadata
	if r := s.doJSON(t, http.MethodGet, "/.well-known/oauth-authorization-server", "", ""); json.Unmarshal(r.Body, &meta) != nil ||
		!slices.Contains(meta.TokenEndpointAuthMethodsSupported, "private_key_jwt") ||
		!slices.Equal(meta.TokenEndpointAuthSigningAlgValuesSupported, []string{"RS256", "PS256", "ES256", "ES384", "EdDSA"}) {
		t.Fatalf("metadata: %s", r.Body)
	}
	c := newKeyClient(t, s, "signer")
	asr := c.assertion(t, []string{meta.TokenEndpoint}, "jti-1")
	a := postToken(t, s.URL, assertionForm(asr), "", "")
	if a.Status != http.StatusOK {
		t.Fatalf("token with an assertion: %d %+v", a.Status, a.Problem)
	}
	if _, claims := verifyAccessToken(t, s.URL, a.Token["access_token"].(string)); claims["sub"] != "app:signer" || claims["client_id"] != "signer" {
		t.Errorf("claims %v", claims)
	}
	if r := postToken(t, s.URL, assertionForm(asr), "", ""); r.Status != http.StatusUnauthorized || r.Problem.Error != "invalid_client" {
		t.Errorf("replayed assertion: %d %+v", r.Status, r.Problem)
	}
	// aud: the issuer works too; another server's does not.
	if r := postToken(t, s.URL, assertionForm(c.assertion(t, []string{meta.Issuer}, "jti-2")), "", ""); r.Status != http.StatusOK {
		t.Errorf("aud = issuer: %d %+v", r.Status, r.Problem)
	}
	if r := postToken(t, s.URL, assertionForm(c.assertion(t, []string{"https://other.example/oauth2/token"}, "jti-3")), "", ""); r.Status != http.StatusUnauthorized {
		t.Errorf("aud of another server: %d %+v", r.Status, r.Problem)
	}
	if r := postToken(t, s.URL, assertionForm(c.assertion(t, []string{meta.TokenEndpoint}, "")), "", ""); r.Status != http.StatusUnauthorized {
		t.Errorf("no jti: %d %+v", r.Status, r.Problem)
	}

	race := c.assertion(t, []string{meta.TokenEndpoint}, "jti-race")
	if wins := raceAssertion(t, []string{s.URL}, race, 20); wins != 1 {
		t.Fatalf("20 concurrent uses of one assertion: %d succeeded, want 1", wins)
	}

	// Introspection: a private_key_jwt client is a confidential client.
	form := url.Values{"client_assertion_type": {oauth.ClientAssertionType},
		"client_assertion": {c.assertion(t, []string{meta.TokenEndpoint}, "jti-introspect")}, "token": {a.Token["access_token"].(string)}}
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/oauth2/introspect", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var in map[string]any
	json.NewDecoder(resp.Body).Decode(&in) //nolint:errcheck // checked below
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || in["active"] != true || in["client_id"] != "signer" {
		t.Errorf("introspection by a private_key_jwt client: %d %v", resp.StatusCode, in["active"])
	}

	if r := s.doJSON(t, http.MethodPost, "/v1/apps/signer/secret", s.Root, `{}`); r.Status < 400 || r.Status >= 500 ||
		!strings.Contains(string(r.Body), "private_key_jwt") {
		t.Errorf("rotate the secret of a private_key_jwt client: %d %s", r.Status, r.Body)
	}
	// A private key in jwks is refused at registration, without echoing it.
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	priv, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: k, KeyID: "k1"}}})
	var d struct {
		Keys []struct {
			D string `json:"d"`
		} `json:"keys"`
	}
	json.Unmarshal(priv, &d) //nolint:errcheck // our own JSON
	r := s.doJSON(t, http.MethodPost, "/v1/apps", s.Root, `{"id":"leaky","oauth":{"token_endpoint_auth_method":"private_key_jwt","jwks":`+string(priv)+`}}`)
	if r.Status < 400 || r.Status >= 500 || !strings.Contains(string(r.Body), "private key") || strings.Contains(string(r.Body), d.Keys[0].D) {
		t.Errorf("jwks with a private key: %d %s", r.Status, r.Body)
	}
}

// raceAssertion posts assertion n times at once, spread over the servers
// at urls, and returns how many got a token; every other answer must be
// invalid_client (401, or 429 from the failed-authentication throttle).
func raceAssertion(t *testing.T, urls []string, assertion string, n int) int64 {
	t.Helper()
	var wins atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, _ := http.NewRequest(http.MethodPost, urls[i%len(urls)]+"/oauth2/token", strings.NewReader(assertionForm(assertion).Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			var p api.OAuthError
			switch {
			case resp.StatusCode == http.StatusOK:
				wins.Add(1)
			case (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusTooManyRequests) &&
				json.NewDecoder(resp.Body).Decode(&p) == nil && p.Error == "invalid_client":
				// A replay; 429 once the address's budget of failed client
				// authentications is spent (IR-10), which a valid client passes.
			default:
				t.Errorf("concurrent use: %d %s", resp.StatusCode, p.Error)
			}
		}()
	}
	close(start)
	wg.Wait()
	return wins.Load()
}

// TestAS10_AssertionReplayTwoNodesPostgres: the jti of an assertion is
// single-use across nodes sharing PostgreSQL (REL-05): 20 concurrent
// uses spread over two nodes give exactly one token.
func TestAS10_AssertionReplayTwoNodesPostgres(t *testing.T) {
	pg := postgresURL(t)
	schema := pgtest.Schema(t, pg, "lk_pkjwt_")
	root := strings.Repeat("r", 8) + rand.Text()
	mk := signer.NewMasterKey()
	cfg := server.Config{DatabaseURL: pg, DatabaseSchema: schema, RootKey: root, MasterKey: &mk}
	a, b := startServer(t, cfg), startServer(t, cfg)
	c := newKeyClient(t, a, "signer")
	aud := []string{a.URL + "/oauth2/token", b.URL + "/oauth2/token"}
	for i := range 3 {
		asr := c.assertion(t, aud, fmt.Sprintf("jti-%d", i))
		if wins := raceAssertion(t, []string{a.URL, b.URL}, asr, 20); wins != 1 {
			t.Fatalf("round %d: 20 concurrent uses over two nodes: %d succeeded, want 1", i, wins)
		}
	}
}

// TestJWT14_ProofsAndAssertionsAreNoAccessTokens: a DPoP proof (which
// carries its own key in its header) and a client assertion (signed by a
// key registered for a client) are refused as access tokens by the
// verify API, the gateway, userinfo and introspection: no verifier takes a
// key from the token or from a client's JWKS.
func TestJWT14_ProofsAndAssertionsAreNoAccessTokens(t *testing.T) {
	up := newUpstream(t)
	s, gw := startGatewayServer(t, up, server.Config{})
	kc := newKeyClient(t, s, "signer")
	rs := createClient(t, s, `{"id":"orders-api","oauth":{"grant_types":["client_credentials"],"audiences":["default"]}}`)
	d, _ := dpopKey(t)
	for name, tok := range map[string]string{
		"DPoP proof":       proofFor(t, d, "GET", gw+"/orders/1", "", ""),
		"client assertion": kc.assertion(t, []string{s.URL + "/oauth2/token", "default"}, "jti-14"),
	} {
		if m := decodeMap(t, s.doJSON(t, http.MethodPost, "/v1/keys/verify", s.Root, `{"key":"`+tok+`"}`).Body); m["valid"] != false {
			t.Errorf("verify API took a %s: %v", name, m)
		}
		if resp := gatewayGet(t, gw+"/orders/1", tok); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("gateway took a %s: %d", name, resp.StatusCode)
		}
		req, _ := http.NewRequest("GET", s.URL+"/oauth2/userinfo", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("userinfo took a %s: %v %v", name, resp.StatusCode, err)
		}
		if _, m := introspect(t, s.URL, tok, "orders-api", rs.ClientSecret); m["active"] != false {
			t.Errorf("introspection of a %s: %v", name, m)
		}
	}
}
