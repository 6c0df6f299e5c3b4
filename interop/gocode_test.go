package interop_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// goOAuth2Config is golang.org/x/oauth2's configuration of c's app, from
// the metadata's endpoints.
func goOAuth2Config(t *testing.T, c *codeSetup) *oauth2.Config {
	t.Helper()
	m := c.l.metadata(t)
	return &oauth2.Config{
		ClientID: c.app.ClientID, ClientSecret: c.app.ClientSecret, RedirectURL: c.redirect, Scopes: []string{"orders:read"},
		Endpoint: oauth2.Endpoint{AuthURL: m.AuthorizationEndpoint, TokenURL: m.TokenEndpoint, AuthStyle: oauth2.AuthStyleInHeader},
	}
}

// goRedeem exchanges the code of callback with x/oauth2 and checks the
// token like checkUserToken does.
func goRedeem(t *testing.T, c *codeSetup, cfg *oauth2.Config, callback *url.URL, state, verifier string) *oauth2.Token {
	t.Helper()
	q := callback.Query()
	if q.Get("state") != state || q.Get("iss") != c.l.metadata(t).Issuer || q.Get("code") == "" {
		t.Fatalf("authorization response %s: state, iss or code wrong", callback.Redacted())
	}
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, httpClient)
	tok, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("x/oauth2 Exchange: %v", err)
	}
	checkGoToken(t, c, "Exchange", tok)
	return tok
}

func checkGoToken(t *testing.T, c *codeSetup, what string, tok *oauth2.Token) {
	t.Helper()
	scope, _ := tok.Extra("scope").(string)
	checkUserToken(t, c.l, "x/oauth2 "+what, tokenOut{AccessToken: tok.AccessToken, TokenType: tok.TokenType,
		ExpiresIn: float64(tok.ExpiresIn), Scope: scope, RefreshToken: tok.RefreshToken}, c.app.ClientID, "orders:read")
	if tok.Expiry.Before(time.Now()) || tok.Expiry.After(time.Now().Add(time.Hour+time.Minute)) {
		t.Errorf("x/oauth2 %s: expiry %v", what, tok.Expiry)
	}
}

// TestInteropGoOAuth2CodeFlow: golang.org/x/oauth2's AuthCodeURL with
// S256ChallengeOption, alice signs in and consents, Exchange with
// VerifierOption redeems the code; jose verifies the access token. A
// TokenSource over the token, once it has expired, refreshes it (a new
// refresh token: rotation), and the code exchanged again is the library's
// RetrieveError invalid_grant.
func TestInteropGoOAuth2CodeFlow(t *testing.T) {
	t.Parallel()
	needNode(t) // jose checks the tokens
	c := newCodeSetup(t, startLatchkey(t), "shop", "")
	cfg := goOAuth2Config(t, c)
	verifier := oauth2.GenerateVerifier()
	authURL := cfg.AuthCodeURL("go-state", oauth2.S256ChallengeOption(verifier))
	if !strings.HasPrefix(authURL, c.l.URL+"/oauth2/authorize?") || !strings.Contains(authURL, "code_challenge_method=S256") {
		t.Fatalf("AuthCodeURL %s", authURL)
	}
	callback := newFormBrowser(t, c.l.URL).authorize(authURL)
	tok := goRedeem(t, c, cfg, callback, "go-state", verifier)

	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, httpClient)
	expired := *tok
	expired.Expiry = time.Now().Add(-time.Minute)
	fresh, err := cfg.TokenSource(ctx, &expired).Token()
	if err != nil {
		t.Fatalf("TokenSource refresh: %v", err)
	}
	checkGoToken(t, c, "refresh", fresh)
	if fresh.RefreshToken == tok.RefreshToken || fresh.AccessToken == tok.AccessToken {
		t.Error("the TokenSource's refresh did not rotate the tokens")
	}

	_, err = cfg.Exchange(ctx, callback.Query().Get("code"), oauth2.VerifierOption(verifier))
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Errorf("the code exchanged again: %v, want RetrieveError invalid_grant", err)
	}
}
