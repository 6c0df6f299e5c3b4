package main

import (
	"github.com/latchkey/latchkey/api"
)

// keyspaceCommands are the subcommands of "latchkey keyspaces".
func keyspaceCommands() []subcommand {
	return []subcommand{
		{"create", "NAME", "Create a keyspace.", `  latchkey keyspaces create acme --prefix acme_live --default-ttl 720h --max-ttl 8760h --allow-permanent=false
  latchkey keyspaces create internal --scopes orders:read,orders:write,admin
  latchkey keyspaces create public --ratelimit requests=60/1m   # default for keys created without their own
  latchkey keyspaces create customers --recoverable             # keep keys' secrets sealed, for "keys reveal"`, keyspacesCreate},
		{"list", "", "List keyspaces.", `  latchkey keyspaces list
  latchkey keyspaces list --json`, keyspacesList},
		{"get", "NAME", "Show a keyspace.", `  latchkey keyspaces get acme`, keyspacesGet},
		{"update", "NAME", "Change a keyspace's settings; flags not given stay unchanged.", `  latchkey keyspaces update acme --max-ttl 2160h
  latchkey keyspaces update acme --scope orders:read --scope orders:write
  latchkey keyspaces update acme --ratelimit requests=100/1m --ratelimit daily=10000/24h
  latchkey keyspaces update acme --no-ratelimits`, keyspacesUpdate},
		scannerRulesCommand,
	}
}

// keyspaceFlags registers the settings of a keyspace and returns a function
// that builds the request from the flags that were given.
func keyspaceFlags(f *cmdFlags, update bool) func() (api.KeyspaceRequest, error) {
	prefix := f.String("prefix", "", "token `prefix`, e.g. acme_live")
	defaultTTL := f.String("default-ttl", "", "lifetime of a key created without one (Go `duration`, e.g. 720h)")
	maxTTL := f.String("max-ttl", "", "longest lifetime a key may have (Go `duration`)")
	allowPermanent := f.Bool("allow-permanent", false, "whether keys without expiry are allowed")
	apiKeyHeader := f.Bool("allow-api-key-header", false, "whether the keys may be presented as \"X-API-Key: <key>\" at the gateway (on routes with api_key_header)")
	recoverable := f.Bool("recoverable", false, "whether the plaintext of keys created (or rotated) from now on is kept, sealed with the master key, for \"keys reveal\"; false deletes the kept ones")
	var scopes listFlag
	f.listFlags(&scopes, "scope", "scopes", "`scope` of the keyspace's catalogue, replacing all old ones")
	var auds listFlag
	f.listFlags(&auds, "audience", "audiences", "`audience` that JWTs exchanged for this keyspace's keys may ask for (besides the keyspace's name), replacing all old ones")
	noFlag := ""
	if update {
		noFlag = "no-ratelimits"
	}
	limits := rateLimitFlags(f, "ratelimit", "a default rate limit of keys created without their own, replacing all old ones", noFlag, "remove the default rate limits")
	return func() (api.KeyspaceRequest, error) {
		var req api.KeyspaceRequest
		var err error
		if req.RateLimits, err = limits(); err != nil {
			return req, err
		}
		if f.isSet("prefix") {
			req.Prefix = prefix
		}
		if req.DefaultTTL, err = optDuration(f, "default-ttl", *defaultTTL); err != nil {
			return req, err
		}
		if req.MaxTTL, err = optDuration(f, "max-ttl", *maxTTL); err != nil {
			return req, err
		}
		if f.isSet("allow-permanent") {
			req.AllowPermanent = allowPermanent
		}
		if f.isSet("allow-api-key-header") {
			req.AllowAPIKeyHeader = apiKeyHeader
		}
		if f.isSet("recoverable") {
			req.Recoverable = recoverable
		}
		if scopes.set {
			req.Scopes = new(scopes.values())
		}
		if auds.set {
			req.Audiences = new(auds.values())
		}
		return req, nil
	}
}

func keyspacesCreate(c *cli, f *cmdFlags, args []string) error {
	build := keyspaceFlags(f, false)
	pos, err := c.parse(f, args)
	if err != nil {
		return err
	}
	req, err := build()
	if err != nil {
		return err
	}
	req.Name = pos[0]
	cl, err := c.client(f)
	if err != nil {
		return err
	}
	ks, err := cl.CreateKeyspace(c.ctx, req)
	if err != nil {
		return err
	}
	return c.printKeyspace(f, ks)
}

func keyspacesList(c *cli, f *cmdFlags, args []string) error {
	if _, err := c.parse(f, args); err != nil {
		return err
	}
	cl, err := c.client(f)
	if err != nil {
		return err
	}
	l, err := cl.Keyspaces(c.ctx)
	if err != nil {
		return err
	}
	if f.json {
		if l.Items == nil {
			l.Items = []api.Keyspace{}
		}
		return c.printJSON(l)
	}
	t := newTable(c.stdout, "NAME", "PREFIX", "DEFAULT_TTL", "MAX_TTL", "PERMANENT", "SCOPES")
	for _, ks := range l.Items {
		t.row(ks.Name, ks.Prefix, ks.DefaultTTL, ks.MaxTTL, yesNo(ks.AllowPermanent), list(ks.Scopes))
	}
	return t.flush()
}

func keyspacesGet(c *cli, f *cmdFlags, args []string) error {
	pos, err := c.parse(f, args)
	if err != nil {
		return err
	}
	cl, err := c.client(f)
	if err != nil {
		return err
	}
	ks, err := cl.Keyspace(c.ctx, pos[0])
	if err != nil {
		return err
	}
	return c.printKeyspace(f, ks)
}

func keyspacesUpdate(c *cli, f *cmdFlags, args []string) error {
	build := keyspaceFlags(f, true)
	pos, err := c.parse(f, args)
	if err != nil {
		return err
	}
	req, err := build()
	if err != nil {
		return err
	}
	if req == (api.KeyspaceRequest{}) {
		return usagef("nothing to change: give at least one of --prefix, --default-ttl, --max-ttl, --allow-permanent, --allow-api-key-header, --recoverable, --scopes, --audiences, --ratelimit, --no-ratelimits")
	}
	cl, err := c.client(f)
	if err != nil {
		return err
	}
	ks, err := cl.UpdateKeyspace(c.ctx, pos[0], req)
	if err != nil {
		return err
	}
	return c.printKeyspace(f, ks)
}

// printKeyspace prints a keyspace as JSON or as labelled lines.
func (c *cli) printKeyspace(f *cmdFlags, ks *api.Keyspace) error {
	if f.json {
		return c.printJSON(ks)
	}
	d := newDetails(c.stdout)
	d.line("Name", ks.Name)
	d.line("Prefix", ks.Prefix)
	d.line("Default TTL", orDash(ks.DefaultTTL))
	d.line("Max TTL", orDash(ks.MaxTTL))
	d.line("Permanent keys", map[bool]string{true: "allowed", false: "not allowed"}[ks.AllowPermanent])
	d.line("Scopes", orDash(list(ks.Scopes)))
	d.line("Rate limits", orDash(rateLimitsString(ks.RateLimits)))
	d.line("JWT audiences", orDash(list(ks.Audiences)))
	d.line("X-API-Key", map[bool]string{true: "allowed", false: "not allowed"}[ks.AllowAPIKeyHeader])
	d.line("Recoverable", map[bool]string{true: "yes: new keys' secrets are kept, sealed (keys reveal)", false: "no: keys are kept as digests only"}[ks.Recoverable])
	d.line("Created", timeString(ks.CreatedAt))
	d.line("Updated", timeString(ks.UpdatedAt))
	return d.flush()
}

// optDuration returns the value of the duration flag name, or nil when the
// flag was not given.
func optDuration(f *cmdFlags, name, v string) (*string, error) {
	if !f.isSet(name) {
		return nil, nil
	}
	if _, err := api.ParseDuration(v); err != nil {
		return nil, usagef("--%s must be a duration up to 100 years such as 720h or 30d, not %q", name, v)
	}
	return &v, nil
}

// yesNo formats a boolean for a human.
func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
