package main

import (
	"context"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/client"
)

// principalAPI is the part of the client for one kind of principal, so that
// "users" and "apps" share their commands.
type principalAPI struct {
	group, noun string // "users", "user"
	create      func(*client.Client, context.Context, api.CreatePrincipalRequest) (*api.Principal, error)
	list        func(*client.Client, context.Context, client.ListOptions) (*api.PrincipalList, error)
	get         func(*client.Client, context.Context, string) (*api.Principal, error)
	update      func(*client.Client, context.Context, string, api.UpdatePrincipalRequest) (*api.Principal, error)
	oauth       bool // the principals can be OAuth clients (apps)
}

var (
	users = principalAPI{"users", "user", (*client.Client).CreateUser, (*client.Client).Users, (*client.Client).User, (*client.Client).UpdateUser, false}
	apps  = principalAPI{"apps", "app", (*client.Client).CreateApp, (*client.Client).Apps, (*client.Client).App, (*client.Client).UpdateApp, true}
)

// principalCommands are the subcommands of "latchkey users" or
// "latchkey apps".
func principalCommands(p principalAPI) []subcommand {
	ex := "  latchkey " + p.group
	createSummary, createEx := "Create a "+p.noun+".", ""
	updateSummary, updateEx := "Change a "+p.noun+"'s name, permissions, shared rate limits or metadata.", ""
	if !p.oauth {
		createEx = "\n" + ex + ` create alice --email alice@example.com --email-verified --preferred-username alice`
		updateSummary = "Change a user's name, OpenID Connect profile (email, email_verified, preferred_username,\n" +
			"groups), permissions, shared rate limits or metadata."
		updateEx = "\n" + ex + ` update alice --email alice@example.org --email-verified=false
` + ex + ` update alice --groups admins,staff   # the groups claim; --groups '' removes all`
	}
	if p.oauth {
		createSummary = "Create an app. Any of the OAuth flags (--grant, --redirect-uri, --token-auth, ...) makes it\n" +
			"an OAuth 2.0 client: its client ID is the app ID, and its client secret is printed once."
		createEx = "\n" + ex + ` create worker --grant client_credentials --audience orders   # a machine-to-machine client
` + ex + ` create web --name "Acme Web" --permissions orders:read,orders:write --redirect-uri https://web.example/cb`
		updateSummary = "Change an app's name, permissions, shared rate limits, metadata or OAuth settings.\n" +
			"The OAuth flags replace all of the app's OAuth settings (a flag left out is reset to its\n" +
			"default); an app that is not an OAuth client becomes one, and its secret is printed once."
		updateEx = "\n" + ex + ` update web --redirect-uri https://web.example/cb --redirect-uri https://web.example/cb2 --skip-consent`
	}
	return []subcommand{
		{"create", "ID", createSummary, ex + ` create alice --name "Alice Smith" --permission orders:read --permission orders:write
` + ex + ` create ci --permissions orders:read --metadata '{"team":"platform"}'
` + ex + ` create partner --owner-ratelimit requests=1000/1m   # shared by all the ` + p.noun + `'s keys` + createEx, p.createCmd},
		{"list", "", "List " + p.group + ".", ex + ` list
` + ex + ` list --all --json`, p.listCmd},
		{"get", "ID", "Show a " + p.noun + ".", ex + ` get alice`, p.getCmd},
		{"update", "ID", updateSummary, ex + ` update alice --permissions orders:read
` + ex + ` update alice --owner-ratelimit requests=500/1m --owner-ratelimit daily=20000/24h
` + ex + ` update alice --no-owner-ratelimits` + updateEx, p.updateCmd},
		{"disable", "ID", "Disable a " + p.noun + " and with it all its keys.", ex + ` disable alice`, p.setDisabled(true)},
		{"enable", "ID", "Enable a disabled " + p.noun + ".", ex + ` enable alice`, p.setDisabled(false)},
	}
}

func (p principalAPI) createCmd(c *cli, f *cmdFlags, args []string) error {
	name := f.String("name", "", "display `name`")
	var perms listFlag
	f.listFlags(&perms, "permission", "permissions", "`permission` granted to the "+p.noun)
	metadata := f.String("metadata", "", "JSON `object` stored with the "+p.noun)
	limits := rateLimitFlags(f, "owner-ratelimit", "a rate limit shared by all keys of the "+p.noun, "", "")
	oauth := p.oauthFlags(f)
	profile := p.profileFlags(f, false)
	groups := p.groupFlags(f)
	pos, err := c.parse(f, args)
	if err != nil {
		return err
	}
	req := api.CreatePrincipalRequest{ID: pos[0], Name: *name, Permissions: perms.vals, Groups: groups.vals}
	if req.OAuth, err = oauth(); err != nil {
		return err
	}
	if email, verified, username := profile(); email != nil {
		req.Email, req.EmailVerified, req.PreferredUsername = *email, *verified, *username
	}
	rls, err := limits()
	if err != nil {
		return err
	}
	if rls != nil {
		req.OwnerRateLimits = *rls
	}
	if *metadata != "" {
		if req.Metadata, err = parseObject("metadata", *metadata); err != nil {
			return err
		}
	}
	cl, err := c.client(f)
	if err != nil {
		return err
	}
	pr, err := p.create(cl, c.ctx, req)
	if err != nil {
		return err
	}
	return c.printPrincipal(f, pr)
}

func (p principalAPI) listCmd(c *cli, f *cmdFlags, args []string) error {
	pf := f.pageFlags()
	if _, err := c.parse(f, args); err != nil {
		return err
	}
	cl, err := c.client(f)
	if err != nil {
		return err
	}
	items, next, err := collect(pf, func(cursor string) ([]api.Principal, string, error) {
		l, err := p.list(cl, c.ctx, client.ListOptions{Limit: pf.limit, Cursor: cursor})
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.NextCursor, nil
	})
	if err != nil {
		return err
	}
	if f.json {
		return c.printJSON(api.PrincipalList{Items: items, NextCursor: next})
	}
	t := newTable(c.stdout, "ID", "NAME", "STATE", "PERMISSIONS", "CREATED")
	for _, pr := range items {
		t.row(pr.ID, pr.Name, principalState(pr), list(pr.Permissions), timeString(pr.CreatedAt))
	}
	if err := t.flush(); err != nil {
		return err
	}
	c.moreHint(next)
	return nil
}

func (p principalAPI) getCmd(c *cli, f *cmdFlags, args []string) error {
	pos, err := c.parse(f, args)
	if err != nil {
		return err
	}
	cl, err := c.client(f)
	if err != nil {
		return err
	}
	pr, err := p.get(cl, c.ctx, pos[0])
	if err != nil {
		return err
	}
	return c.printPrincipal(f, pr)
}

func (p principalAPI) updateCmd(c *cli, f *cmdFlags, args []string) error {
	name := f.String("name", "", "new display `name`")
	var perms listFlag
	f.listFlags(&perms, "permission", "permissions", "`permission` of the "+p.noun+", replacing all old ones; --permissions '' removes all")
	metadata := f.String("metadata", "", "new metadata, a JSON `object` replacing the old one")
	limits := rateLimitFlags(f, "owner-ratelimit", "a rate limit shared by all keys of the "+p.noun+", replacing all old ones", "no-owner-ratelimits", "remove the rate limits shared by the "+p.noun+"'s keys")
	oauth := p.oauthFlags(f)
	profile := p.profileFlags(f, true)
	groups := p.groupFlags(f)
	pos, err := c.parse(f, args)
	if err != nil {
		return err
	}
	var req api.UpdatePrincipalRequest
	if groups.set {
		req.Groups = new(groups.values())
	}
	if req.OAuth, err = oauth(); err != nil {
		return err
	}
	req.Email, req.EmailVerified, req.PreferredUsername = profile()
	if req.OwnerRateLimits, err = limits(); err != nil {
		return err
	}
	if f.isSet("name") {
		req.Name = name
	}
	if perms.set {
		req.Permissions = new(perms.values())
	}
	if *metadata != "" {
		if req.Metadata, err = parseObject("metadata", *metadata); err != nil {
			return err
		}
	}
	if req.Name == nil && req.Permissions == nil && req.Metadata == nil && req.OwnerRateLimits == nil && req.OAuth == nil &&
		req.Email == nil && req.EmailVerified == nil && req.PreferredUsername == nil && req.Groups == nil {
		flags := "--name, --permissions, --metadata, --owner-ratelimit, --no-owner-ratelimits"
		if !p.oauth {
			flags += ", --email, --email-verified, --preferred-username, --groups"
		}
		if p.oauth {
			flags += " or an OAuth flag (--grant, --redirect-uri, ...)"
		}
		return usagef("nothing to change: give at least one of %s", flags)
	}
	return p.updateAndPrint(c, f, pos[0], req)
}

// setDisabled returns the "disable" or "enable" command.
func (p principalAPI) setDisabled(disabled bool) func(*cli, *cmdFlags, []string) error {
	return func(c *cli, f *cmdFlags, args []string) error {
		pos, err := c.parse(f, args)
		if err != nil {
			return err
		}
		return p.updateAndPrint(c, f, pos[0], api.UpdatePrincipalRequest{Disabled: new(disabled)})
	}
}

func (p principalAPI) updateAndPrint(c *cli, f *cmdFlags, id string, req api.UpdatePrincipalRequest) error {
	cl, err := c.client(f)
	if err != nil {
		return err
	}
	pr, err := p.update(cl, c.ctx, id, req)
	if err != nil {
		return err
	}
	return c.printPrincipal(f, pr)
}

// printPrincipal prints a user or app as JSON or as labelled lines.
func (c *cli) printPrincipal(f *cmdFlags, pr *api.Principal) error {
	if f.json {
		return c.printJSON(pr)
	}
	d := newDetails(c.stdout)
	d.line("ID", pr.ID)
	d.line("Type", pr.Type)
	d.line("Name", pr.Name)
	d.line("Email", emailString(pr))
	d.line("Preferred username", pr.PreferredUsername)
	if pr.Type == "user" {
		d.line("Groups", orDash(list(pr.Groups)))
	}
	d.line("State", principalState(*pr))
	d.line("Permissions", orDash(list(pr.Permissions)))
	d.line("Owner rate limits", rateLimitsString(pr.OwnerRateLimits))
	d.line("Metadata", compactJSON(pr.Metadata))
	d.line("Created", timeString(pr.CreatedAt))
	d.line("Updated", timeString(pr.UpdatedAt))
	oauthLines(d, pr)
	if err := d.flush(); err != nil {
		return err
	}
	c.printClientSecret(pr.ClientID, pr.ClientSecret)
	return nil
}

// profileFlags registers the OpenID Connect profile flags for users
// (--email, --email-verified, --preferred-username); for apps it registers
// none. Its function gives the values: for an update (onlySet) nil for a
// flag not given, for a create all three, or all nil for apps.
func (p principalAPI) profileFlags(f *cmdFlags, onlySet bool) func() (email *string, verified *bool, username *string) {
	if p.oauth {
		return func() (*string, *bool, *string) { return nil, nil, nil }
	}
	emailUsage := "the user's email `address`"
	if onlySet {
		emailUsage += "; '' removes it"
	}
	email := f.String("email", "", emailUsage)
	verified := f.Bool("email-verified", false, "the email address is known to be the user's")
	username := f.String("preferred-username", "", "the user's short `name` (OpenID Connect preferred_username)")
	return func() (*string, *bool, *string) {
		if !onlySet {
			return email, verified, username
		}
		var e, u *string
		var v *bool
		if f.isSet("email") {
			e = email
		}
		if f.isSet("email-verified") {
			v = verified
		}
		if f.isSet("preferred-username") {
			u = username
		}
		return e, v, u
	}
}

// groupFlags registers --group and --groups (a user's groups) for users;
// for apps none, and the list stays unset.
func (p principalAPI) groupFlags(f *cmdFlags) *listFlag {
	var groups listFlag
	if !p.oauth {
		f.listFlags(&groups, "group", "groups", "`group` of the user (the OpenID Connect groups claim); on update it replaces all old ones, --groups '' removes all")
	}
	return &groups
}

// emailString is a user's email address with "(verified)" or "(not
// verified)", or "" if there is none.
func emailString(pr *api.Principal) string {
	switch {
	case pr.Email == "":
		return ""
	case pr.EmailVerified:
		return pr.Email + " (verified)"
	default:
		return pr.Email + " (not verified)"
	}
}

// oauthFlags registers the OAuth client flags for apps; for users it
// registers none and its function gives nil settings.
func (p principalAPI) oauthFlags(f *cmdFlags) func() (*api.OAuthSettings, error) {
	if !p.oauth {
		return func() (*api.OAuthSettings, error) { return nil, nil }
	}
	return oauthFlags(f)
}

func principalState(pr api.Principal) string {
	if pr.Disabled {
		return "disabled"
	}
	return "active"
}
