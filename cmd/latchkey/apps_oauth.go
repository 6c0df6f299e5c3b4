package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/latchkey/latchkey/api"
)

// The values the OAuth flags of "apps create" and "apps update" accept
// (the server checks the settings as a whole).
var (
	oauthGrants      = []string{"authorization_code", "refresh_token", "client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"}
	oauthTokenAuths  = []string{"client_secret_basic", "client_secret_post", "private_key_jwt", "none"}
	oauthTokenFormat = []string{"jwt", "opaque"}
)

// oauthFlagNames are the flags that make an app an OAuth client.
var oauthFlagNames = []string{"redirect-uri", "post-logout-redirect-uri", "backchannel-logout-uri", "grant", "token-auth", "audience", "skip-consent", "dpop-bound", "access-token-format", "jwks", "subject-type"}

// appCommands are the subcommands of "latchkey apps" that only apps have.
func appCommands() []subcommand {
	return []subcommand{
		{"rotate-secret", "ID", "Give an OAuth app a new client secret, shown once. The old one stops working at once,\nor after --grace-period, so that the app's deployments can be updated in between.", `  latchkey apps rotate-secret web
  latchkey apps rotate-secret web --grace-period 1h
  latchkey apps rotate-secret web --json | jq -r .client_secret`, rotateClientSecret},
		{"revoke-grants", "ID", "Revoke every user's OAuth grants to an app (a compromised or retired client):\ntheir tokens stop working at once and every user is asked to consent again.", `  latchkey apps revoke-grants web`, appGrantsRevoke},
	}
}

// oauthFlags registers the OAuth client flags of "apps create" or "apps
// update". The function it returns gives the settings they make, or nil
// when none of them was given.
func oauthFlags(f *cmdFlags) func() (*api.OAuthSettings, error) {
	var redirects, logoutRedirects, grants, audiences listFlag
	f.Var(&redirects, "redirect-uri", "OAuth redirect `URI` of the client (repeatable)")
	f.Var(&logoutRedirects, "post-logout-redirect-uri", "`URI` the client may send users to after signing out (repeatable)")
	backchannel := f.String("backchannel-logout-uri", "", "`URI` latchkey POSTs a logout token to when a user's sign-in session ends (OpenID Connect Back-Channel Logout)")
	f.Var(commaList{&grants}, "grant", "OAuth grant `types`, comma-separated or repeated: "+strings.Join(oauthGrants, ", ")+
		" (default client_credentials, or authorization_code,refresh_token with --redirect-uri)")
	tokenAuth := f.String("token-auth", "", "token endpoint authentication `method`: "+strings.Join(oauthTokenAuths, "|")+
		" (default client_secret_basic; none is a public client without a secret)")
	f.Var(&audiences, "audience", "`audience` the client may ask tokens for (repeatable)")
	skipConsent := f.Bool("skip-consent", false, "do not ask users to consent (a first-party client)")
	dpop := f.Bool("dpop-bound", false, "bind the client's access tokens to a DPoP key (RFC 9449)")
	format := f.String("access-token-format", "", "access token `format`: "+strings.Join(oauthTokenFormat, "|")+" (default jwt)")
	subjectType := f.String("subject-type", "", "`type` of the sub users get in ID tokens: public (the user ID, default) or pairwise\n"+
		"(one per host of the redirect URIs, which must then share one host; OpenID Connect Core §8)")
	jwksFile := f.String("jwks", "", "`file` holding the client's public keys as a JWK Set, for --token-auth private_key_jwt (the default with --jwks)")
	return func() (*api.OAuthSettings, error) {
		if !slices.ContainsFunc(oauthFlagNames, f.isSet) {
			return nil, nil
		}
		var jwks json.RawMessage
		if f.isSet("jwks") {
			b, err := readJWKSFile(*jwksFile)
			if err != nil {
				return nil, err
			}
			jwks = b
			if *tokenAuth == "" {
				*tokenAuth = "private_key_jwt"
			}
		}
		for _, g := range grants.vals {
			if !slices.Contains(oauthGrants, g) {
				return nil, usagef("--grant must be among %s, not %q", strings.Join(oauthGrants, ", "), g)
			}
		}
		if *tokenAuth != "" && !slices.Contains(oauthTokenAuths, *tokenAuth) {
			return nil, usagef("--token-auth must be %s, not %q", strings.Join(oauthTokenAuths, ", "), *tokenAuth)
		}
		if *subjectType != "" && *subjectType != "public" && *subjectType != "pairwise" {
			return nil, usagef("--subject-type must be public or pairwise, not %q", *subjectType)
		}
		if *format != "" && !slices.Contains(oauthTokenFormat, *format) {
			return nil, usagef("--access-token-format must be %s, not %q", strings.Join(oauthTokenFormat, " or "), *format)
		}
		return &api.OAuthSettings{
			RedirectURIs:            redirects.vals,
			PostLogoutRedirectURIs:  logoutRedirects.vals,
			BackchannelLogoutURI:    *backchannel,
			GrantTypes:              grants.vals,
			TokenEndpointAuthMethod: *tokenAuth,
			AccessTokenFormat:       *format,
			DPoPBoundAccessTokens:   *dpop,
			SkipConsent:             *skipConsent,
			Audiences:               audiences.vals,
			JWKS:                    jwks,
			SubjectType:             *subjectType,
		}, nil
	}
}

// readJWKSFile reads the --jwks file and checks that it is a JWK Set in
// shape; the server checks the keys.
func readJWKSFile(path string) (json.RawMessage, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, usagef("--jwks: %v", err)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		return nil, usagef("--jwks: %s is not a JSON object (a JWK Set: {\"keys\":[...]})", path)
	}
	if _, ok := obj["keys"]; !ok {
		return nil, usagef("--jwks: %s has no \"keys\" member: it must be a JWK Set", path)
	}
	return json.RawMessage(b), nil
}

func rotateClientSecret(c *cli, f *cmdFlags, args []string) error {
	graceFlag := f.String("grace-period", "", "keep the old secret working this `long` (1h, 30d); default: it stops at once")
	pos, err := c.parse(f, args)
	if err != nil {
		return err
	}
	var grace time.Duration
	if *graceFlag != "" {
		if grace, err = api.ParseDuration(*graceFlag); err != nil {
			return usagef("--grace-period must be a non-negative duration up to 100 years such as 1h or 30d, not %q", *graceFlag)
		}
	}
	cl, err := c.client(f)
	if err != nil {
		return err
	}
	s, err := cl.RotateClientSecret(c.ctx, pos[0], grace)
	if err != nil {
		return err
	}
	if f.json {
		return c.printJSON(s)
	}
	old := "The old secret has stopped working."
	if s.PreviousValidUntil != nil {
		old = "The old secret keeps working until " + cleanCell(*s.PreviousValidUntil) + "."
	}
	fmt.Fprintf(c.stdout, "Rotated the client secret of app %s. %s\n", cleanCell(pos[0]), old)
	c.printClientSecret(s.ClientID, s.ClientSecret)
	return nil
}

// oauthLines adds an OAuth app's client settings to its details.
func oauthLines(d *details, pr *api.Principal) {
	o := pr.OAuth
	if o == nil {
		return
	}
	d.line("Client ID", pr.ClientID)
	d.line("Grant types", orDash(list(o.GrantTypes)))
	d.line("Redirect URIs", orDash(list(o.RedirectURIs)))
	d.line("Post-logout redirect URIs", list(o.PostLogoutRedirectURIs))
	d.line("Token endpoint auth", o.TokenEndpointAuthMethod)
	format := o.AccessTokenFormat
	if o.DPoPBoundAccessTokens {
		format += ", DPoP-bound"
	}
	d.line("Access tokens", format)
	d.line("Audiences", list(o.Audiences))
	if o.SkipConsent {
		d.line("Consent", "skipped")
	}
	d.line("Back-channel logout URI", o.BackchannelLogoutURI)
	if o.SubjectType == "pairwise" {
		d.line("Subject type", "pairwise")
	}
	if compactJSON(o.JWKS) != "" {
		d.line("JWKS", "set")
	}
}

// printClientSecret shows an OAuth client's new secret on a line of its
// own, with its client ID.
func (c *cli) printClientSecret(clientID, secret string) {
	if secret == "" {
		return
	}
	fmt.Fprintf(c.stdout, "\nClient ID:     %s\nClient secret: %s\n\nThe client secret is shown once: store it now.\n", cleanCell(clientID), secret)
}
