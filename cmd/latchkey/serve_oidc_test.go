package main

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/server"
)

// applyConfig runs serve's sign-in configuration on a YAML file and env.
func applyConfig(t *testing.T, yaml string, env map[string]string) (*server.Config, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "latchkey.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	env["LATCHKEY_CONFIG"] = path
	get := func(k string) string { return env[k] }
	pf := addPeopleFlags(flag.NewFlagSet("serve", flag.ContinueOnError), get)
	var cfg server.Config
	return &cfg, pf.apply(&cfg, get)
}

// TestOIDCProvidersConfig: oidc_providers in --config become the sign-in
// page's upstream providers, the client secret read from the variable
// client_secret_env names; LATCHKEY_OUTBOUND_ALLOW_PRIVATE is parsed; bad
// entries are refused at start.
func TestOIDCProvidersConfig(t *testing.T) {
	const good = `oidc_providers:
  - id: corp
    name: Corp SSO
    issuer: https://login.corp.example/tenant/v2.0
    client_id: latchkey
    client_secret_env: CORP_OIDC_SECRET
    scopes: [openid, profile, email, groups]
    groups_claim: groups
    group_permissions: {admins: [admin], devs: ["orders:read"]}
    username_claim: preferred_username
`
	cfg, err := applyConfig(t, good, map[string]string{"CORP_OIDC_SECRET": "s3cret-value", "LATCHKEY_OUTBOUND_ALLOW_PRIVATE": "true"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.People.Upstreams) != 1 || !cfg.People.OutboundAllowPrivate {
		t.Fatalf("upstreams %+v, allow private %v", cfg.People.Upstreams, cfg.People.OutboundAllowPrivate)
	}
	u := cfg.People.Upstreams[0]
	if u.ID != "corp" || u.Name != "Corp SSO" || u.ClientSecret != "s3cret-value" || u.UsernameClaim != "preferred_username" ||
		u.GroupsClaim != "groups" || !slices.Equal(u.GroupPermissions["devs"], []string{"orders:read"}) || len(u.Scopes) != 4 || u.RedirectURL != "" {
		t.Errorf("provider: %+v", u)
	}
	for name, c := range map[string]struct {
		yaml string
		env  map[string]string
		want string
	}{
		"secret missing":   {good, map[string]string{}, "CORP_OIDC_SECRET"},
		"bad id":           {strings.Replace(good, "id: corp", "id: Corp/x", 1), map[string]string{"CORP_OIDC_SECRET": "x"}, "provider id"},
		"bad issuer":       {strings.Replace(good, "https://login.corp.example/tenant/v2.0", "ftp://x", 1), map[string]string{"CORP_OIDC_SECRET": "x"}, "issuer"},
		"unknown field":    {good + "    client_secret: inline\n", map[string]string{"CORP_OIDC_SECRET": "x"}, "client_secret"},
		"bad allow switch": {good, map[string]string{"CORP_OIDC_SECRET": "x", "LATCHKEY_OUTBOUND_ALLOW_PRIVATE": "maybe"}, "LATCHKEY_OUTBOUND_ALLOW_PRIVATE"},
	} {
		_, err := applyConfig(t, c.yaml, c.env)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error naming %q", name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: the error shows the secret", name)
		}
	}
}
