package oauth

import (
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/apitoken"
)

func TestNormalizeSettingsDefaults(t *testing.T) {
	s, err := NormalizeSettings(Settings{})
	if err != nil || len(s.GrantTypes) != 1 || s.GrantTypes[0] != GrantClientCredentials ||
		s.TokenEndpointAuthMethod != AuthSecretBasic || s.AccessTokenFormat != "jwt" {
		t.Fatalf("defaults: %+v %v", s, err)
	}
	// A client with redirect URIs gets the code flow with refresh tokens.
	s, err = NormalizeSettings(Settings{RedirectURIs: []string{"https://web.example/cb"}})
	if err != nil || strings.Join(s.GrantTypes, " ") != GrantAuthorizationCode+" "+GrantRefreshToken {
		t.Fatalf("code defaults: %+v %v", s, err)
	}
	// Refresh tokens come from the code grant only.
	if _, err := NormalizeSettings(Settings{GrantTypes: []string{GrantClientCredentials, GrantRefreshToken}}); err == nil {
		t.Error("refresh_token without authorization_code accepted")
	}
	// A public client may use the code flow.
	if _, err := NormalizeSettings(Settings{RedirectURIs: []string{"http://127.0.0.1/cb"}, TokenEndpointAuthMethod: AuthNone}); err != nil {
		t.Errorf("public code client: %v", err)
	}
}

// TestAS13_PasswordAndImplicitRefusedAtRegistration: a client cannot even
// register the grants RFC 9700 forbids.
func TestAS13_PasswordAndImplicitRefusedAtRegistration(t *testing.T) {
	for _, g := range []string{"password", "implicit"} {
		if _, err := NormalizeSettings(Settings{GrantTypes: []string{g}}); err == nil || !strings.Contains(err.Error(), "RFC 9700") {
			t.Errorf("grant %s: %v", g, err)
		}
	}
}

func TestNormalizeSettingsRefusals(t *testing.T) {
	bad := map[string]Settings{
		"unknown grant":                {GrantTypes: []string{"magic"}},
		"duplicate grant":              {GrantTypes: []string{GrantClientCredentials, GrantClientCredentials}},
		"code without redirect":        {GrantTypes: []string{GrantAuthorizationCode}},
		"redirect without code":        {GrantTypes: []string{GrantClientCredentials}, RedirectURIs: []string{"https://a.example/cb"}},
		"fragment":                     {RedirectURIs: []string{"https://a.example/cb#x"}},
		"relative":                     {RedirectURIs: []string{"/cb"}},
		"http non-loopback":            {RedirectURIs: []string{"http://a.example/cb"}},
		"bare private scheme":          {RedirectURIs: []string{"myapp:/cb"}},
		"public client_credential":     {GrantTypes: []string{GrantClientCredentials}, TokenEndpointAuthMethod: AuthNone},
		"unknown auth method":          {TokenEndpointAuthMethod: "client_secret_jwt"},
		"bad format":                   {AccessTokenFormat: "xml"},
		"private_key_jwt without jwks": {TokenEndpointAuthMethod: AuthPrivateKeyJWT},
		"audience with space":          {Audiences: []string{"a b"}},
		"backchannel relative":         {BackchannelLogoutURI: "/logout"},
	}
	for name, s := range bad {
		if _, err := NormalizeSettings(s); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	for _, ok := range []string{"https://a.example/cb", "http://127.0.0.1/cb", "http://[::1]:8080/cb", "http://localhost/cb", "com.example.app:/oauth2redirect"} {
		if err := validRedirectURI(ok); err != nil {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
}

func TestCheckSecretGrace(t *testing.T) {
	cur, dc, _ := newSecret()
	old, do, _ := newSecret()
	now := time.Unix(1_800_000_000, 0)
	c := &Client{SecretDigest: dc, PrevSecretDigest: do, PrevSecretUntil: now.Add(time.Hour)}
	if !checkSecret(c, cur, now) || !checkSecret(c, old, now) {
		t.Fatal("current or previous secret refused during the grace period")
	}
	if checkSecret(c, old, now.Add(time.Hour)) {
		t.Fatal("previous secret accepted after its grace period")
	}
	flip := "x"
	if strings.HasSuffix(cur, flip) {
		flip = "y"
	}
	if checkSecret(c, cur[:len(cur)-1]+flip, now) || checkSecret(c, "", now) || checkSecret(&Client{}, cur, now) {
		t.Fatal("a wrong secret, an empty one, or a public client's passed")
	}
}

// TestAS12_SecretsAreRandomAndUnique: client secrets carry 256 random
// bits; 10⁵ of them share nothing but the fixed prefix.
func TestAS12_SecretsAreRandomAndUnique(t *testing.T) {
	seen := make(map[string]bool, 100000)
	n := 100000
	if testing.Short() {
		n = 10000
	}
	for range n {
		s, d, err := newSecret()
		if err != nil || len(d) != 32 {
			t.Fatal(err)
		}
		if !strings.HasPrefix(s, SecretPrefix+"_") || len(s) < len(SecretPrefix)+1+43 {
			t.Fatalf("secret shape %d chars", len(s))
		}
		body := s[len(SecretPrefix)+1 : len(SecretPrefix)+1+12]
		if seen[s] || seen[body] {
			t.Fatal("two secrets share their first 12 secret characters (71 bits) or repeat")
		}
		seen[s], seen[body] = true, true
	}
}

func TestNarrowScopes(t *testing.T) {
	perms := []string{"orders:read", "orders:write", "billing:*"}
	if got, err := narrowScopes(perms, nil); err != nil || len(got) != 3 {
		t.Fatalf("no request: %v %v", got, err)
	}
	if got, err := narrowScopes(perms, []string{"orders:read", "billing:read", "orders:read"}); err != nil || strings.Join(got, " ") != "orders:read billing:read" {
		t.Fatalf("subset: %v %v", got, err)
	}
	if _, err := narrowScopes(perms, []string{"admin"}); err == nil || !strings.Contains(err.Error(), "invalid_scope") {
		t.Fatalf("wider scope: %v", err)
	}
}

// TestAS05_NoChallengeTakesNoVerifier: a code issued without a
// code_challenge (a PKCE downgrade) is not redeemed with any
// code_verifier, nor without one.
func TestAS05_NoChallengeTakesNoVerifier(t *testing.T) {
	for _, v := range []string{"", "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", strings.Repeat("a", 128)} {
		if checkVerifier("", v) {
			t.Errorf("a code without challenge redeemed with a %d-character verifier", len(v))
		}
	}
}

// TestAS12_CodesAndRefreshTokensAreRandomAndUnique: authorization codes,
// refresh tokens and PAR request handles are minted as apitoken.New does
// in authorize.go, grant.go and par.go: 10⁵ of each carry ≥ 128 random
// bits, repeat nothing and share nothing beyond their fixed prefix.
func TestAS12_CodesAndRefreshTokensAreRandomAndUnique(t *testing.T) {
	n := 100000
	if testing.Short() {
		n = 10000
	}
	for _, prefix := range []string{CodePrefix, RefreshPrefix, "lkpar"} {
		seen := make(map[string]bool, 2*n)
		for range n {
			tok, err := apitoken.New(prefix)
			if err != nil {
				t.Fatal(err)
			}
			s := tok.Reveal()
			if !strings.HasPrefix(s, prefix+"_") || apitoken.Check(s) != apitoken.Valid {
				t.Fatalf("%s: token shape", prefix)
			}
			secret := s[len(prefix)+1 : len(s)-apitoken.ChecksumLen]
			// base62: 22 characters are 130.9 bits (apitoken writes 256).
			if len(secret) != apitoken.SecretLen || len(secret) < 22 {
				t.Fatalf("%s: %d secret characters, under 128 bits", prefix, len(secret))
			}
			head := "head:" + secret[:12]
			if seen[s] || seen[head] {
				t.Fatalf("%s: two tokens repeat or share their first 12 secret characters (71 bits)", prefix)
			}
			seen[s], seen[head] = true, true
		}
	}
}
