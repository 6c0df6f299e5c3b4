// Package interop_test holds latchkey's interoperability suite: protocol
// correctness judged by code nobody here wrote. A real latchkey runs in
// the test process; independent client libraries talk to it over HTTP —
// npm oauth4webapi, openid-client and jose (the ES-module scripts beside
// this file, pinned by package-lock.json and installed by npm ci into
// node_modules on first use), Go's golang.org/x/oauth2 and, for OpenID
// Connect, github.com/coreos/go-oidc/v3 — and, for the authorization code
// grant, a headless Chromium (internal/browsertest) signing in and
// consenting on latchkey's own pages. Run it alone with `go test ./interop`.
package interop_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// reportsApp is a service client: client_credentials only, one audience.
const reportsApp = `{"id":"reports","name":"Reports job","permissions":["orders:read","billing:read"],
	"oauth":{"grant_types":["client_credentials"],"audiences":["https://api.example"]}}`

// ccOutput is cc.mjs's (and openid-cc.mjs's) result.
type ccOutput struct {
	Issuer   string `json:"issuer"`
	Metadata struct {
		Issuer        string `json:"issuer"`
		TokenEndpoint string `json:"token_endpoint"`
		JWKSURI       string `json:"jwks_uri"`
	} `json:"metadata"`
	Token struct {
		AccessToken string  `json:"access_token"`
		TokenType   string  `json:"token_type"`
		ExpiresIn   float64 `json:"expires_in"`
		Scope       string  `json:"scope"`
	} `json:"token"`
}

// verifyOutput is verify.mjs's result.
type verifyOutput struct {
	Issuer          string         `json:"issuer"`
	ProtectedHeader map[string]any `json:"protectedHeader"`
	Payload         map[string]any `json:"payload"`
}

func decode[T any](t *testing.T, r nodeResult, what string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.Out, &v); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// mustFail asserts that a script exited 1 with lib.mjs's failure document
// and returns it.
func mustFail(t *testing.T, r nodeResult, what string) failure {
	t.Helper()
	f := decode[failure](t, r, what)
	if r.OK || f.Failed == nil {
		t.Fatalf("%s succeeded; want a failure", what)
	}
	return f
}

// checkToken is what every client's token answer must carry for
// reportsApp asking for orders:read.
func checkToken(t *testing.T, lib string, out ccOutput) {
	t.Helper()
	// RFC 6749 §7.1: token_type is case-insensitive; oauth4webapi lowercases it.
	if !strings.EqualFold(out.Token.TokenType, "Bearer") || out.Token.Scope != "orders:read" ||
		out.Token.ExpiresIn <= 0 || out.Token.ExpiresIn > 3600 || out.Token.AccessToken == "" {
		t.Fatalf("%s token answer: type %q scope %q expires_in %v", lib, out.Token.TokenType, out.Token.Scope, out.Token.ExpiresIn)
	}
}

// verifyWithJose checks token with jose against the JWKS for audience and
// the metadata's issuer, and returns the result.
func verifyWithJose(t *testing.T, l *latchkey, token, audience string) nodeResult {
	t.Helper()
	return runNode(t, "verify.mjs", map[string]string{"LATCHKEY_URL": l.URL, "TOKEN": token, "AUDIENCE": audience})
}

// checkJose verifies token with jose: the right audience passes with
// typ at+jwt and iss the metadata's issuer byte for byte; a wrong audience
// and a tampered signature fail.
func checkJose(t *testing.T, l *latchkey, token, issuer string) {
	t.Helper()
	r := verifyWithJose(t, l, token, "https://api.example")
	if !r.OK {
		t.Fatalf("jose jwtVerify refused a valid token: %s", r.Out)
	}
	v := decode[verifyOutput](t, r, "verify.mjs")
	if v.ProtectedHeader["typ"] != "at+jwt" || v.ProtectedHeader["alg"] != "EdDSA" || v.ProtectedHeader["kid"] == "" {
		t.Errorf("header %v, want typ at+jwt, alg EdDSA and a kid", v.ProtectedHeader)
	}
	p := v.Payload
	if v.Issuer != issuer || p["iss"] != issuer || p["sub"] != "app:reports" || p["client_id"] != "reports" ||
		p["aud"] != "https://api.example" || p["scope"] != "orders:read" {
		t.Errorf("claims %v (metadata issuer %q, jose saw %q)", p, issuer, v.Issuer)
	}
	if jti, _ := p["jti"].(string); jti == "" {
		t.Error("no jti (RFC 9068 §2.2)")
	}

	wrong := mustFail(t, verifyWithJose(t, l, token, "https://other.example"), "jose with a wrong audience")
	if wrong.Failed.Code != "ERR_JWT_CLAIM_VALIDATION_FAILED" || !strings.Contains(wrong.Failed.Message, "aud") {
		t.Errorf("wrong audience: %+v, want ERR_JWT_CLAIM_VALIDATION_FAILED on aud", *wrong.Failed)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("access token has %d parts, want a JWS compact serialization", len(parts))
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) == 0 {
		t.Fatalf("signature is not base64url: %v", err)
	}
	sig[0] ^= 1
	tampered := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)
	bad := mustFail(t, verifyWithJose(t, l, tampered, "https://api.example"), "jose with a tampered signature")
	if bad.Failed.Code != "ERR_JWS_SIGNATURE_VERIFICATION_FAILED" {
		t.Errorf("tampered signature: %+v, want ERR_JWS_SIGNATURE_VERIFICATION_FAILED", *bad.Failed)
	}
}

// TestInteropOAuth4WebAPIClientCredentials: oauth4webapi discovers the
// server (RFC 8414), gets a client_credentials token with
// client_secret_basic, and jose verifies it against the JWKS.
func TestInteropOAuth4WebAPIClientCredentials(t *testing.T) {
	t.Parallel()
	needNode(t)
	l := startLatchkey(t)
	app := l.createClient(t, reportsApp)
	meta := l.metadata(t)
	r := runNode(t, "cc.mjs", map[string]string{
		"LATCHKEY_URL": l.URL, "CLIENT_ID": app.ClientID, "CLIENT_SECRET": app.ClientSecret, "SCOPE": "orders:read",
	})
	if !r.OK {
		t.Fatalf("oauth4webapi client_credentials failed: %s; stderr: %s", r.Out, r.Stderr)
	}
	out := decode[ccOutput](t, r, "cc.mjs")
	if out.Metadata.Issuer != meta.Issuer || out.Metadata.TokenEndpoint != l.URL+"/oauth2/token" ||
		out.Metadata.JWKSURI != meta.JWKSURI {
		t.Errorf("discovered %+v, metadata issuer %q jwks_uri %q", out.Metadata, meta.Issuer, meta.JWKSURI)
	}
	checkToken(t, "oauth4webapi", out)
	checkJose(t, l, out.Token.AccessToken, meta.Issuer)
}

// TestInteropOAuth4WebAPIWrongSecret: a wrong client secret is a 401 with
// error=invalid_client. Because the answer carries the Basic challenge
// RFC 6749 §5.2 requires, oauth4webapi raises WWWAuthenticateChallengeError
// (a ResponseBodyError without one); the body still says invalid_client.
func TestInteropOAuth4WebAPIWrongSecret(t *testing.T) {
	t.Parallel()
	needNode(t)
	l := startLatchkey(t)
	app := l.createClient(t, reportsApp)
	wrong := "lkcs_" + strings.Repeat("x", len(app.ClientSecret)-len("lkcs_"))
	r := runNode(t, "cc.mjs", map[string]string{"LATCHKEY_URL": l.URL, "CLIENT_ID": app.ClientID, "CLIENT_SECRET": wrong})
	f := mustFail(t, r, "oauth4webapi with a wrong secret")
	if f.Failed.Error != "invalid_client" || f.Failed.Status != http.StatusUnauthorized {
		t.Errorf("wrong secret: %+v, want error invalid_client with HTTP 401", *f.Failed)
	}
	switch f.Failed.Name {
	case "WWWAuthenticateChallengeError":
		if len(f.Failed.Challenges) != 1 || !strings.EqualFold(f.Failed.Challenges[0].Scheme, "basic") {
			t.Errorf("challenges %+v, want the one Basic challenge of the scheme the client used", f.Failed.Challenges)
		}
	case "ResponseBodyError":
	default:
		t.Errorf("oauth4webapi raised %s (%s), want its OAuth error answer classes", f.Failed.Name, f.Failed.Message)
	}
	// An unknown client is the same answer.
	r = runNode(t, "cc.mjs", map[string]string{"LATCHKEY_URL": l.URL, "CLIENT_ID": "nobody", "CLIENT_SECRET": app.ClientSecret})
	if f := mustFail(t, r, "oauth4webapi with an unknown client"); f.Failed.Error != "invalid_client" {
		t.Errorf("unknown client: %+v, want invalid_client", *f.Failed)
	}
}

// TestInteropOAuth4WebAPIRefusals: answers that are not about client
// authentication (400, no challenge) reach oauth4webapi as
// ResponseBodyError with the RFC 6749 code.
func TestInteropOAuth4WebAPIRefusals(t *testing.T) {
	t.Parallel()
	needNode(t)
	l := startLatchkey(t)
	app := l.createClient(t, reportsApp)
	for _, c := range []struct{ name, key, value, want string }{
		{"scope beyond the app's permissions", "SCOPE", "orders:write", "invalid_scope"},
		{"audience not registered", "AUDIENCE", "https://other.example", "invalid_target"},
	} {
		r := runNode(t, "cc.mjs", map[string]string{
			"LATCHKEY_URL": l.URL, "CLIENT_ID": app.ClientID, "CLIENT_SECRET": app.ClientSecret, c.key: c.value,
		})
		f := mustFail(t, r, c.name)
		if f.Failed.Name != "ResponseBodyError" || f.Failed.Error != c.want || f.Failed.Status != http.StatusBadRequest {
			t.Errorf("%s: %+v, want ResponseBodyError %s (400)", c.name, *f.Failed, c.want)
		}
	}
	// client_secret_post from a client registered for client_secret_basic.
	r := runNode(t, "cc.mjs", map[string]string{
		"LATCHKEY_URL": l.URL, "CLIENT_ID": app.ClientID, "CLIENT_SECRET": app.ClientSecret, "CLIENT_AUTH": "post",
	})
	if f := mustFail(t, r, "client_secret_post for a basic client"); f.Failed.Error != "invalid_client" || f.Failed.Status != http.StatusUnauthorized {
		t.Errorf("client_secret_post for a basic client: %+v, want invalid_client (401)", *f.Failed)
	}
}

// TestInteropOpenIDClientClientCredentials: openid-client's discovery and
// clientCredentialsGrant; jose verifies the token.
func TestInteropOpenIDClientClientCredentials(t *testing.T) {
	t.Parallel()
	needNode(t)
	l := startLatchkey(t)
	app := l.createClient(t, reportsApp)
	meta := l.metadata(t)
	r := runNode(t, "openid-cc.mjs", map[string]string{
		"LATCHKEY_URL": l.URL, "CLIENT_ID": app.ClientID, "CLIENT_SECRET": app.ClientSecret, "SCOPE": "orders:read",
	})
	if !r.OK {
		t.Fatalf("openid-client clientCredentialsGrant failed: %s; stderr: %s", r.Out, r.Stderr)
	}
	out := decode[ccOutput](t, r, "openid-cc.mjs")
	if out.Issuer != meta.Issuer {
		t.Errorf("openid-client discovered issuer %q, metadata says %q", out.Issuer, meta.Issuer)
	}
	checkToken(t, "openid-client", out)
	checkJose(t, l, out.Token.AccessToken, meta.Issuer)
}

// TestInteropOpenIDClientSecretPost: a client registered for
// client_secret_post, with two audiences, asks openid-client for one of
// them; without scope it gets all of the app's permissions.
func TestInteropOpenIDClientSecretPost(t *testing.T) {
	t.Parallel()
	needNode(t)
	l := startLatchkey(t)
	app := l.createClient(t, `{"id":"billing","permissions":["orders:read","billing:read"],
		"oauth":{"grant_types":["client_credentials"],"token_endpoint_auth_method":"client_secret_post",
		"audiences":["https://api.example","https://billing.example"]}}`)
	meta := l.metadata(t)
	r := runNode(t, "openid-cc.mjs", map[string]string{
		"LATCHKEY_URL": l.URL, "CLIENT_ID": app.ClientID, "CLIENT_SECRET": app.ClientSecret,
		"CLIENT_AUTH": "post", "AUDIENCE": "https://billing.example",
	})
	if !r.OK {
		t.Fatalf("openid-client with client_secret_post failed: %s; stderr: %s", r.Out, r.Stderr)
	}
	out := decode[ccOutput](t, r, "openid-cc.mjs")
	if !strings.EqualFold(out.Token.TokenType, "Bearer") || out.Token.Scope != "billing:read orders:read" {
		t.Fatalf("token answer: type %q scope %q", out.Token.TokenType, out.Token.Scope)
	}
	v := verifyWithJose(t, l, out.Token.AccessToken, "https://billing.example")
	if !v.OK {
		t.Fatalf("jose refused the token for the audience asked for: %s", v.Out)
	}
	if p := decode[verifyOutput](t, v, "verify.mjs").Payload; p["aud"] != "https://billing.example" || p["sub"] != "app:billing" || p["iss"] != meta.Issuer {
		t.Errorf("claims %v", p)
	}
	mustFail(t, verifyWithJose(t, l, out.Token.AccessToken, "https://api.example"), "jose for the audience not asked for")
	// Basic from a client_secret_post client is refused.
	r = runNode(t, "openid-cc.mjs", map[string]string{"LATCHKEY_URL": l.URL, "CLIENT_ID": app.ClientID, "CLIENT_SECRET": app.ClientSecret})
	if f := mustFail(t, r, "Basic for a post client"); f.Failed.Error != "invalid_client" {
		t.Errorf("Basic for a client_secret_post client: %+v, want invalid_client", *f.Failed)
	}
}

// resourceServer is an API protected by latchkey's access tokens, checked
// offline with go-jose against the JWKS as a third party would: signature,
// typ at+jwt, iss, aud and exp.
func resourceServer(t *testing.T, l *latchkey, issuer, audience string) *httptest.Server {
	t.Helper()
	resp, err := httpClient.Get(l.URL + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	err = json.NewDecoder(resp.Body).Decode(&set)
	resp.Body.Close()
	if err != nil || len(set.Keys) == 0 {
		t.Fatalf("JWKS: %v (%d keys)", err, len(set.Keys))
	}
	check := func(r *http.Request) (map[string]any, error) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			return nil, errors.New("no bearer token")
		}
		sig, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.EdDSA, jose.ES256, jose.RS256})
		if err != nil {
			return nil, err
		}
		h := sig.Signatures[0].Protected
		if typ, _ := h.ExtraHeaders["typ"].(string); typ != "at+jwt" {
			return nil, fmt.Errorf("typ %q", typ)
		}
		keys := set.Key(h.KeyID)
		if len(keys) != 1 {
			return nil, fmt.Errorf("kid %q not in the JWKS", h.KeyID)
		}
		payload, err := sig.Verify(keys[0])
		if err != nil {
			return nil, err
		}
		var c map[string]any
		if err := json.Unmarshal(payload, &c); err != nil {
			return nil, err
		}
		exp, _ := c["exp"].(float64)
		if c["iss"] != issuer || c["aud"] != audience || time.Now().Unix() >= int64(exp) {
			return nil, errors.New("iss, aud or exp refused")
		}
		return c, nil
	}
	rs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := check(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			http.Error(w, "invalid_token", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"sub": c["sub"], "scope": c["scope"]})
	}))
	t.Cleanup(rs.Close)
	return rs
}

// TestInteropGoOAuth2ClientCredentials: golang.org/x/oauth2's
// clientcredentials gets a token, its oauth2.Transport calls an API that
// verifies the bearer with go-jose against the JWKS, and a wrong secret is
// the library's error naming invalid_client.
func TestInteropGoOAuth2ClientCredentials(t *testing.T) {
	t.Parallel()
	l := startLatchkey(t)
	app := l.createClient(t, reportsApp)
	meta := l.metadata(t)
	if meta.TokenEndpoint != l.URL+"/oauth2/token" {
		t.Fatalf("token_endpoint %q", meta.TokenEndpoint)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ctx = context.WithValue(ctx, oauth2.HTTPClient, httpClient)
	cfg := clientcredentials.Config{
		ClientID: app.ClientID, ClientSecret: app.ClientSecret, TokenURL: meta.TokenEndpoint,
		Scopes: []string{"orders:read"}, AuthStyle: oauth2.AuthStyleInHeader,
		EndpointParams: url.Values{"audience": {"https://api.example"}},
	}
	tok, err := cfg.Token(ctx)
	if err != nil {
		t.Fatalf("clientcredentials Token: %v", err)
	}
	if !strings.EqualFold(tok.TokenType, "Bearer") || tok.Extra("scope") != "orders:read" || tok.AccessToken == "" ||
		tok.Expiry.Before(time.Now()) || tok.Expiry.After(time.Now().Add(time.Hour+time.Minute)) {
		t.Fatalf("token: type %q scope %v expiry %v", tok.TokenType, tok.Extra("scope"), tok.Expiry)
	}

	rs := resourceServer(t, l, meta.Issuer, "https://api.example")
	hc := cfg.Client(ctx) // an *http.Client over oauth2.Transport
	if _, ok := hc.Transport.(*oauth2.Transport); !ok {
		t.Fatalf("clientcredentials.Config.Client transport is %T", hc.Transport)
	}
	for range 2 { // the second call reuses the cached token
		resp, err := hc.Get(rs.URL + "/orders")
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || err != nil || body["sub"] != "app:reports" || body["scope"] != "orders:read" {
			t.Fatalf("resource server: %d %v %v", resp.StatusCode, body, err)
		}
	}
	// Without a token the resource server refuses: the check is real.
	resp, err := httpClient.Get(rs.URL + "/orders")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("resource server without a token: %d", resp.StatusCode)
	}

	bad := cfg
	bad.ClientSecret = "lkcs_" + strings.Repeat("x", len(app.ClientSecret)-len("lkcs_"))
	_, err = bad.Token(ctx)
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_client" || re.Response.StatusCode != http.StatusUnauthorized ||
		!strings.Contains(err.Error(), "invalid_client") {
		t.Fatalf("wrong secret: %v, want the library's RetrieveError with invalid_client", err)
	}
	if strings.Contains(err.Error(), app.ClientSecret) || strings.Contains(err.Error(), bad.ClientSecret) {
		t.Fatal("the error names a client secret")
	}
}

// TestInteropClientIDNeedsEncoding: an app ID may hold characters that
// RFC 6749 §2.3.1's form-urlencoding of HTTP Basic changes (+ : @ |);
// every library encodes them, and latchkey decodes them back.
func TestInteropClientIDNeedsEncoding(t *testing.T) {
	t.Parallel()
	needNode(t)
	l := startLatchkey(t)
	const id = "ci+deploy:eu@acme|1"
	app := l.createClient(t, `{"id":"`+id+`","permissions":["orders:read"],
		"oauth":{"grant_types":["client_credentials"],"audiences":["https://api.example"]}}`)
	if app.ClientID != id {
		t.Fatalf("client_id %q", app.ClientID)
	}
	for _, script := range []string{"cc.mjs", "openid-cc.mjs"} {
		r := runNode(t, script, map[string]string{"LATCHKEY_URL": l.URL, "CLIENT_ID": id, "CLIENT_SECRET": app.ClientSecret})
		if !r.OK {
			t.Errorf("%s with client_id %q: %s", script, id, r.Out)
			continue
		}
		v := verifyWithJose(t, l, decode[ccOutput](t, r, script).Token.AccessToken, "https://api.example")
		if p := decode[verifyOutput](t, v, "verify.mjs").Payload; !v.OK || p["client_id"] != id || p["sub"] != "app:"+id {
			t.Errorf("%s: jose %v, claims %v", script, v.OK, p)
		}
	}
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, httpClient)
	cfg := clientcredentials.Config{ClientID: id, ClientSecret: app.ClientSecret, TokenURL: l.URL + "/oauth2/token",
		AuthStyle: oauth2.AuthStyleInHeader}
	if _, err := cfg.Token(ctx); err != nil {
		t.Errorf("golang.org/x/oauth2 with client_id %q: %v", id, err)
	}
}
