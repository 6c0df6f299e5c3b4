package main

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
)

const testIssuer = "http://127.0.0.1:8080"

// TestBackchannelLogoutChecks: the receiver ends the sessions of a valid
// logout token's sid (or of its sub when it has no sid) and refuses with
// 400, ending nothing, every token Back-Channel Logout §2.6 says to
// reject. The tokens are signed with a key go-oidc's verifier trusts, so
// each case fails only for its own reason.
func TestBackchannelLogoutChecks(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Unix()
	valid := func() map[string]any {
		return map[string]any{"iss": testIssuer, "aud": "wiki", "sub": "alice", "sid": "S1", "iat": now, "exp": now + 120,
			"jti": rand.Text(), "events": map[string]any{backchannelEvent: map[string]any{}}}
	}
	sign := func(typ string, claims map[string]any) string {
		opts := (&jose.SignerOptions{}).WithType(jose.ContentType(typ))
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: priv}, opts)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(claims)
		jws, err := s.Sign(b)
		if err != nil {
			t.Fatal(err)
		}
		out, err := jws.CompactSerialize()
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	with := func(k string, v any) map[string]any {
		c := valid()
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	newApp := func() *app {
		return &app{
			idVerifier: oidc.NewVerifier(testIssuer, &oidc.StaticKeySet{PublicKeys: []crypto.PublicKey{pub}},
				&oidc.Config{ClientID: "wiki", SupportedSigningAlgs: []string{"EdDSA"}}),
			sessions: map[string]*session{
				"a": {sub: "alice", sid: "S1"}, "b": {sub: "alice", sid: "S2"}, "c": {sub: "bob", sid: "S3"},
			},
		}
	}
	post := func(a *app, tok string) int {
		r := httptest.NewRequest("POST", "/backchannel-logout", strings.NewReader(url.Values{"logout_token": {tok}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		a.backchannelLogout(w, r)
		return w.Code
	}
	left := func(a *app) []string { return slices.Sorted(maps.Keys(a.sessions)) }

	a := newApp()
	if code := post(a, sign("logout+jwt", valid())); code != http.StatusOK || !slices.Equal(left(a), []string{"b", "c"}) {
		t.Errorf("valid token with sid: %d, sessions left %v, want 200 and [b c]", code, left(a))
	}
	a = newApp()
	if code := post(a, sign("logout+jwt", with("sid", nil))); code != http.StatusOK || !slices.Equal(left(a), []string{"c"}) {
		t.Errorf("valid token without sid: %d, sessions left %v, want 200 and [c]", code, left(a))
	}

	anonymous := with("sub", nil)
	delete(anonymous, "sid")
	for name, tok := range map[string]string{
		"typ JWT (an ID token)": sign("JWT", valid()),
		"no typ":                sign("", valid()),
		"with a nonce":          sign("logout+jwt", with("nonce", "n")),
		"no events":             sign("logout+jwt", with("events", nil)),
		"another event":         sign("logout+jwt", with("events", map[string]any{"urn:other": map[string]any{}})),
		"another audience":      sign("logout+jwt", with("aud", "shop")),
		"another issuer":        sign("logout+jwt", with("iss", "http://127.0.0.1:8081")),
		"expired":               sign("logout+jwt", with("exp", now-3600)),
		"issued long ago":       sign("logout+jwt", with("iat", now-3600)),
		"neither sid nor sub":   sign("logout+jwt", anonymous),
		"not a JWS":             "a.b.c",
	} {
		a := newApp()
		if code := post(a, tok); code != http.StatusBadRequest || len(a.sessions) != 3 {
			t.Errorf("%s: %d, %d sessions left, want 400 and all 3", name, code, len(a.sessions))
		}
	}
}
