package interop_test

import (
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// goIDClaims are the claims of latchkey's ID tokens beyond go-oidc's
// IDToken fields.
type goIDClaims struct {
	AuthorizedParty   string   `json:"azp"`
	SessionID         string   `json:"sid"`
	AuthTime          int64    `json:"auth_time"`
	ACR               string   `json:"acr"`
	AMR               []string `json:"amr"`
	Name              string   `json:"name"`
	Email             string   `json:"email"`
	EmailVerified     bool     `json:"email_verified"`
	PreferredUsername string   `json:"preferred_username"`
}

// TestInteropGoOIDC: github.com/coreos/go-oidc/v3 as a relying party.
// oidc.NewProvider discovers latchkey (openid-configuration, its issuer
// checked); x/oauth2 runs code + PKCE with scope "openid profile email"
// and a nonce; provider.Verifier(&oidc.Config{ClientID}) verifies the ID
// token with its own JWKS cache (signature, iss, aud, exp, the algs of
// the discovery document), the test checks the nonce, and
// IDToken.VerifyAccessToken checks at_hash; a verifier for another client
// refuses it (aud). provider.UserInfo reads the profile. A TokenSource
// refresh gives a new ID token the verifier takes, for the same user and
// sign-in.
func TestInteropGoOIDC(t *testing.T) {
	t.Parallel()
	c := newCodeSetup(t, startLatchkey(t), "shop", "")
	c.l.setAliceProfile(t)
	ctx := oidc.ClientContext(t.Context(), httpClient)
	provider, err := oidc.NewProvider(ctx, c.l.metadata(t).Issuer)
	if err != nil {
		t.Fatalf("oidc.NewProvider: %v", err)
	}
	var disc struct {
		UserinfoEndpoint string   `json:"userinfo_endpoint"`
		Algs             []string `json:"id_token_signing_alg_values_supported"`
	}
	if err := provider.Claims(&disc); err != nil || disc.UserinfoEndpoint != c.l.URL+"/oauth2/userinfo" || len(disc.Algs) == 0 {
		t.Errorf("discovery as go-oidc read it: %+v %v", disc, err)
	}
	cfg := &oauth2.Config{ClientID: c.app.ClientID, ClientSecret: c.app.ClientSecret, RedirectURL: c.redirect,
		Scopes: []string{oidc.ScopeOpenID, "profile", "email"}, Endpoint: provider.Endpoint()}
	cfg.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
	verifier := oauth2.GenerateVerifier()
	nonce := rand.Text()
	authURL := cfg.AuthCodeURL("go-oidc-state", oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce))
	if !strings.HasPrefix(authURL, c.l.URL+"/oauth2/authorize?") {
		t.Fatalf("AuthCodeURL %s", authURL)
	}
	callback := newFormBrowser(t, c.l.URL).authorize(authURL)
	q := callback.Query()
	if q.Get("state") != "go-oidc-state" || q.Get("code") == "" {
		t.Fatalf("authorization response %s", callback.Redacted())
	}
	tok, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("x/oauth2 Exchange: %v", err)
	}
	idv := provider.Verifier(&oidc.Config{ClientID: c.app.ClientID})
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		t.Fatal("the token answer has no id_token")
	}
	idt, err := idv.Verify(ctx, raw)
	if err != nil {
		t.Fatalf("go-oidc Verify refused the ID token: %v", err)
	}
	var cl goIDClaims
	if err := idt.Claims(&cl); err != nil {
		t.Fatal(err)
	}
	if idt.Nonce != nonce || idt.Subject != alice || len(idt.Audience) != 1 || idt.Audience[0] != "shop" ||
		cl.AuthorizedParty != "shop" || cl.SessionID == "" || cl.ACR == "" || len(cl.AMR) != 1 || cl.AMR[0] != "pwd" ||
		cl.AuthTime <= 0 || cl.AuthTime > time.Now().Unix()+1 {
		t.Errorf("ID token: nonce ok %v, sub %q aud %v, claims %+v", idt.Nonce == nonce, idt.Subject, idt.Audience, cl)
	}
	if cl.Name != aliceName || cl.Email != aliceEmail || !cl.EmailVerified || cl.PreferredUsername != alice {
		t.Errorf("ID token profile/email claims %+v", cl)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Errorf("go-oidc VerifyAccessToken (at_hash): %v", err)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken + "x"); err == nil {
		t.Error("VerifyAccessToken took another access token")
	}
	if _, err := provider.Verifier(&oidc.Config{ClientID: "other"}).Verify(ctx, raw); err == nil ||
		!strings.Contains(err.Error(), "audience") {
		t.Errorf("a verifier for another client: %v, want an audience error", err)
	}

	ui, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("go-oidc UserInfo: %v", err)
	}
	var uc goIDClaims
	if err := ui.Claims(&uc); err != nil {
		t.Fatal(err)
	}
	if ui.Subject != alice || ui.Email != aliceEmail || !ui.EmailVerified || uc.Name != aliceName || uc.PreferredUsername != alice {
		t.Errorf("UserInfo: sub %q email %q verified %v, claims %+v", ui.Subject, ui.Email, ui.EmailVerified, uc)
	}

	expired := *tok
	expired.Expiry = time.Now().Add(-time.Minute)
	fresh, err := cfg.TokenSource(ctx, &expired).Token()
	if err != nil {
		t.Fatalf("TokenSource refresh: %v", err)
	}
	raw2, _ := fresh.Extra("id_token").(string)
	idt2, err := idv.Verify(ctx, raw2)
	if err != nil {
		t.Fatalf("go-oidc Verify refused the refreshed ID token: %v", err)
	}
	var cl2 goIDClaims
	if err := idt2.Claims(&cl2); err != nil {
		t.Fatal(err)
	}
	if idt2.Subject != alice || idt2.Issuer != idt.Issuer || cl2.AuthTime != cl.AuthTime || cl2.SessionID != cl.SessionID ||
		(idt2.Nonce != "" && idt2.Nonce != nonce) {
		t.Errorf("refreshed ID token: sub %q nonce %q, claims %+v (first %+v)", idt2.Subject, idt2.Nonce, cl2, cl)
	}
	if err := idt2.VerifyAccessToken(fresh.AccessToken); err != nil {
		t.Errorf("refreshed ID token at_hash: %v", err)
	}
}

// TestInteropGoOIDCForgedIDToken: go-oidc's verifier refuses an ID token
// whose signature is not the JWKS's: its payload re-encoded with another
// sub under the original signature.
func TestInteropGoOIDCForgedIDToken(t *testing.T) {
	t.Parallel()
	c := newCodeSetup(t, startLatchkey(t), "shop", "")
	ctx := oidc.ClientContext(t.Context(), httpClient)
	provider, err := oidc.NewProvider(ctx, c.l.metadata(t).Issuer)
	if err != nil {
		t.Fatalf("oidc.NewProvider: %v", err)
	}
	cfg := &oauth2.Config{ClientID: c.app.ClientID, ClientSecret: c.app.ClientSecret, RedirectURL: c.redirect,
		Scopes: []string{oidc.ScopeOpenID}, Endpoint: provider.Endpoint()}
	cfg.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
	verifier := oauth2.GenerateVerifier()
	callback := newFormBrowser(t, c.l.URL).authorize(cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)))
	tok, err := cfg.Exchange(ctx, callback.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("x/oauth2 Exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idv := provider.Verifier(&oidc.Config{ClientID: c.app.ClientID})
	if _, err := idv.Verify(ctx, raw); err != nil {
		t.Fatalf("go-oidc Verify refused the genuine ID token: %v", err)
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("ID token has %d parts", len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	forged := strings.Replace(string(payload), `"sub":"`+alice+`"`, `"sub":"mallory"`, 1)
	if forged == string(payload) {
		t.Fatalf("no sub %q in %s", alice, payload)
	}
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(forged))
	if _, err := idv.Verify(ctx, strings.Join(parts, ".")); err == nil || !strings.Contains(err.Error(), "signature") {
		t.Errorf("go-oidc Verify of a forged ID token: %v, want a signature error", err)
	}
}
