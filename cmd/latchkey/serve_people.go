package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/latchkey/latchkey/people/ldapdir"
	"github.com/latchkey/latchkey/people/upstream"
	"github.com/latchkey/latchkey/server"
)

// fileConfig is the optional YAML configuration file (--config,
// LATCHKEY_CONFIG). It holds what does not fit a flag: the directory and its
// group → permissions mapping, upstream OpenID Connect providers, session lifetimes, passkeys. Environment
// variables override single fields.
type fileConfig struct {
	LDAP          *ldapFile  `yaml:"ldap"`
	OIDCProviders []oidcFile `yaml:"oidc_providers"`
	Sessions      struct {
		IdleTimeout     string `yaml:"idle_timeout"`
		AbsoluteTimeout string `yaml:"absolute_timeout"`
		SecureCookies   bool   `yaml:"secure_cookies"`
	} `yaml:"sessions"`
	WebAuthn struct {
		RPID    string   `yaml:"rp_id"`
		Origins []string `yaml:"origins"`
	} `yaml:"webauthn"`
}

type ldapFile struct {
	URL              string              `yaml:"url"`
	StartTLS         bool                `yaml:"start_tls"`
	InsecureNoTLS    bool                `yaml:"insecure_no_tls"`
	CAFile           string              `yaml:"ca_file"`
	ServerName       string              `yaml:"server_name"`
	BindDN           string              `yaml:"bind_dn"`
	BindPasswordFile string              `yaml:"bind_password_file"`
	UserBaseDN       string              `yaml:"user_base_dn"`
	UserFilter       string              `yaml:"user_filter"`
	UsernameAttr     string              `yaml:"username_attr"`
	NameAttr         string              `yaml:"name_attr"`
	EmailAttr        string              `yaml:"email_attr"`
	GroupBaseDN      string              `yaml:"group_base_dn"`
	GroupFilter      string              `yaml:"group_filter"`
	GroupNameAttr    string              `yaml:"group_name_attr"`
	MemberOfAttr     string              `yaml:"member_of_attr"`
	GroupPermissions map[string][]string `yaml:"group_permissions"`
	Timeout          string              `yaml:"timeout"`
}

// oidcFile is one upstream OpenID Connect provider of the sign-in page.
// The client secret is never in the file: client_secret_env names the
// environment variable holding it (or, with the _FILE suffix, a file).
type oidcFile struct {
	ID               string              `yaml:"id"`
	Name             string              `yaml:"name"`
	Issuer           string              `yaml:"issuer"`
	ClientID         string              `yaml:"client_id"`
	ClientSecretEnv  string              `yaml:"client_secret_env"`
	Scopes           []string            `yaml:"scopes"`
	UsernameClaim    string              `yaml:"username_claim"`
	GroupsClaim      string              `yaml:"groups_claim"`
	GroupPermissions map[string][]string `yaml:"group_permissions"`
}

// oidcConfigs turns the file's oidc_providers into provider configs.
func oidcConfigs(fs []oidcFile, env func(string) string) ([]upstream.Config, error) {
	var out []upstream.Config
	for _, f := range fs {
		c := upstream.Config{ID: f.ID, Name: f.Name, Issuer: f.Issuer, ClientID: f.ClientID, Scopes: f.Scopes,
			UsernameClaim: f.UsernameClaim, GroupsClaim: f.GroupsClaim, GroupPermissions: f.GroupPermissions,
			RedirectURL: "-"} // set by the server from the issuer
		if f.ClientSecretEnv != "" {
			v, err := secretFromEnv(env, f.ClientSecretEnv)
			if err != nil {
				return nil, fmt.Errorf("oidc provider %s: %w", f.ID, err)
			}
			if v == "" {
				return nil, fmt.Errorf("oidc provider %s: %s (or %s_FILE) is empty", f.ID, f.ClientSecretEnv, f.ClientSecretEnv)
			}
			c.ClientSecret = v
		}
		if err := c.Validate(); err != nil {
			return nil, err
		}
		c.RedirectURL = ""
		out = append(out, c)
	}
	return out, nil
}

// peopleFlags are serve's sign-in flags.
type peopleFlags struct {
	config *string
}

func addPeopleFlags(fs *flag.FlagSet, env func(string) string) *peopleFlags {
	return &peopleFlags{config: fs.String("config", env("LATCHKEY_CONFIG"), "YAML configuration file: ldap, oidc_providers, sessions, webauthn sections (env LATCHKEY_CONFIG)")}
}

// readFileConfig parses the YAML file, refusing unknown fields.
func readFileConfig(path string) (*fileConfig, error) {
	var fc fileConfig
	if path == "" {
		return &fc, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&fc); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return &fc, nil
}

// apply fills cfg.People from the file and the environment.
func (pf *peopleFlags) apply(cfg *server.Config, env func(string) string) error {
	fc, err := readFileConfig(*pf.config)
	if err != nil {
		return err
	}
	dur := func(name, v string) (time.Duration, error) {
		if v == "" {
			return 0, nil
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return 0, fmt.Errorf("%s: %q is not a positive duration such as 12h", name, v)
		}
		return d, nil
	}
	idle := firstOf(env("LATCHKEY_SESSION_IDLE_TIMEOUT"), fc.Sessions.IdleTimeout)
	if cfg.People.IdleTimeout, err = dur("session idle timeout", idle); err != nil {
		return err
	}
	abs := firstOf(env("LATCHKEY_SESSION_ABSOLUTE_TIMEOUT"), fc.Sessions.AbsoluteTimeout)
	if cfg.People.AbsoluteTimeout, err = dur("session absolute timeout", abs); err != nil {
		return err
	}
	cfg.People.SecureCookies = fc.Sessions.SecureCookies
	if v := env("LATCHKEY_SECURE_COOKIES"); v != "" {
		if cfg.People.SecureCookies, err = strconv.ParseBool(v); err != nil {
			return fmt.Errorf("LATCHKEY_SECURE_COOKIES: %q is not true or false", v)
		}
	}
	cfg.People.RPID = firstOf(env("LATCHKEY_WEBAUTHN_RP_ID"), fc.WebAuthn.RPID)
	cfg.People.Origins = fc.WebAuthn.Origins
	if v := env("LATCHKEY_WEBAUTHN_ORIGINS"); v != "" {
		cfg.People.Origins = splitList(v)
	}
	if cfg.People.Upstreams, err = oidcConfigs(fc.OIDCProviders, env); err != nil {
		return err
	}
	if v := env("LATCHKEY_OUTBOUND_ALLOW_PRIVATE"); v != "" {
		if cfg.People.OutboundAllowPrivate, err = strconv.ParseBool(v); err != nil {
			return fmt.Errorf("LATCHKEY_OUTBOUND_ALLOW_PRIVATE: %q is not true or false", v)
		}
	}
	lc, err := ldapConfig(fc.LDAP, env)
	if err != nil || lc == nil {
		return err
	}
	dir, err := ldapdir.New(*lc)
	if err != nil {
		return err
	}
	cfg.People.Directory = server.LDAPDirectory(dir)
	return nil
}

// ldapConfig merges the file's ldap section with LATCHKEY_LDAP_*; nil when
// neither names a URL.
func ldapConfig(f *ldapFile, env func(string) string) (*ldapdir.Config, error) {
	if f == nil {
		f = &ldapFile{}
	}
	c := &ldapdir.Config{
		URL: firstOf(env("LATCHKEY_LDAP_URL"), f.URL), StartTLS: f.StartTLS, InsecureNoTLS: f.InsecureNoTLS,
		CAFile: firstOf(env("LATCHKEY_LDAP_CA_FILE"), f.CAFile), ServerName: f.ServerName,
		BindDN:       firstOf(env("LATCHKEY_LDAP_BIND_DN"), f.BindDN),
		UserBaseDN:   firstOf(env("LATCHKEY_LDAP_USER_BASE_DN"), f.UserBaseDN),
		UserFilter:   firstOf(env("LATCHKEY_LDAP_USER_FILTER"), f.UserFilter),
		UsernameAttr: f.UsernameAttr, NameAttr: f.NameAttr, EmailAttr: f.EmailAttr,
		GroupBaseDN:   firstOf(env("LATCHKEY_LDAP_GROUP_BASE_DN"), f.GroupBaseDN),
		GroupFilter:   firstOf(env("LATCHKEY_LDAP_GROUP_FILTER"), f.GroupFilter),
		GroupNameAttr: f.GroupNameAttr, MemberOfAttr: f.MemberOfAttr, GroupPermissions: f.GroupPermissions,
	}
	if c.URL == "" {
		return nil, nil
	}
	if v := env("LATCHKEY_LDAP_START_TLS"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("LATCHKEY_LDAP_START_TLS: %q is not true or false", v)
		}
		c.StartTLS = b
	}
	if f.Timeout != "" {
		d, err := time.ParseDuration(f.Timeout)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("ldap timeout: %q is not a positive duration", f.Timeout)
		}
		c.Timeout = d
	}
	pw, err := secretFromEnv(env, "LATCHKEY_LDAP_BIND_PASSWORD")
	if err != nil {
		return nil, err
	}
	if pw == "" && f.BindPasswordFile != "" {
		b, err := os.ReadFile(f.BindPasswordFile)
		if err != nil {
			return nil, fmt.Errorf("ldap bind_password_file: %w", err)
		}
		pw = strings.TrimSpace(string(b))
	}
	c.BindPassword = pw
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func firstOf(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
