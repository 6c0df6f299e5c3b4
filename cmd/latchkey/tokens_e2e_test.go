package main

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/api"
)

// jwtClaims decodes the payload of a compact JWT (no verification: the
// server's own tests cover signatures).
func jwtClaims(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWT: %d segments", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestE2E_TokensCreate runs `latchkey tokens create` against a real
// server: the API key from LATCHKEY_API_KEY, --key-file and stdin, the
// scope, audience and lifetime options, --json, and the refusals.
func TestE2E_TokensCreate(t *testing.T) {
	root := newRootKey()
	p := startBinary(t, t.TempDir(), root)
	k, err := p.client(t, root).CreateKey(t.Context(), api.CreateKeyRequest{Name: "jwt", Scopes: []string{"orders:read", "orders:write"}})
	if err != nil {
		t.Fatal(err)
	}
	base := map[string]string{"LATCHKEY_URL": p.URL}
	with := func(kv ...string) map[string]string {
		m := map[string]string{"LATCHKEY_URL": p.URL}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}

	r := runBinary(t, with("LATCHKEY_API_KEY", k.Secret), "", "tokens", "create", "--scope", "orders:read", "--expires-in", "10m")
	if r.code != exitOK {
		t.Fatalf("tokens create: exit %d; stderr %s", r.code, r.stderr)
	}
	jwt := strings.TrimSpace(r.stdout)
	c := jwtClaims(t, jwt)
	if c["scope"] != "orders:read" || c["aud"] != "default" {
		t.Errorf("claims scope %v, aud %v; want orders:read, default", c["scope"], c["aud"])
	}
	if exp, iat := c["exp"].(float64), c["iat"].(float64); exp-iat != 600 {
		t.Errorf("lifetime %vs, want 600s (--expires-in 10m)", exp-iat)
	}
	if !(strings.Contains(r.stderr, "expires in 599s") || strings.Contains(r.stderr, "expires in 600s")) || strings.Contains(r.stderr, k.Secret) || strings.Contains(r.stdout, k.Secret) {
		t.Errorf("stderr %q: want the lifetime (about 600s) and never the API key", r.stderr)
	}

	file := filepath.Join(t.TempDir(), "api.key")
	os.WriteFile(file, []byte(k.Secret+"\n"), 0o600)
	r = runBinary(t, base, "", "tokens", "create", "--key-file", file, "--json", "--expires-in", "120")
	var res api.TokenResponse
	if r.code != exitOK || json.Unmarshal([]byte(r.stdout), &res) != nil || res.ExpiresIn < 119 || res.ExpiresIn > 120 || res.TokenType != "Bearer" {
		t.Fatalf("tokens create --key-file --json: exit %d, expires_in %d, token_type %q; stderr %s", r.code, res.ExpiresIn, res.TokenType, r.stderr)
	}
	if s := jwtClaims(t, res.AccessToken)["scope"]; s != "orders:read orders:write" {
		t.Errorf("scope without --scope: %v, want every scope of the key", s)
	}
	r = runBinary(t, base, k.Secret+"\n", "tokens", "create", "--key-file", "-")
	if r.code != exitOK || len(strings.Split(strings.TrimSpace(r.stdout), ".")) != 3 {
		t.Fatalf("tokens create --key-file -: exit %d; stderr %s", r.code, r.stderr)
	}

	for _, tc := range []struct {
		name  string
		env   map[string]string
		args  []string
		code  int
		inErr string
	}{
		{"no key (the management credential is not used)", with("LATCHKEY_TOKEN", root), nil, exitUsage, "LATCHKEY_API_KEY"},
		{"--token refused", base, []string{"--token", root}, exitUsage, "management credential"},
		{"env and file", with("LATCHKEY_API_KEY", k.Secret), []string{"--key-file", file}, exitUsage, "not both"},
		{"bad lifetime", with("LATCHKEY_API_KEY", k.Secret), []string{"--expires-in", "soon"}, exitUsage, "--expires-in"},
		{"unknown key", with("LATCHKEY_API_KEY", unknownAPIKey(t)), nil, exitRefused, "401"},
		{"scope the key lacks", with("LATCHKEY_API_KEY", k.Secret), []string{"--scope", "admin"}, exitRefused, "invalid_scope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runBinary(t, tc.env, "", append([]string{"tokens", "create"}, tc.args...)...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.inErr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, tc.code, tc.inErr)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q on a refusal", r.stdout)
			}
		})
	}
}

// unknownAPIKey returns a key that no server has.
func unknownAPIKey(t *testing.T) string {
	t.Helper()
	return "default_" + strings.Repeat("A", 49)
}
