package main

import (
	"encoding/json"
	"fmt"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/client"
)

func keysUpdate(c *cli, f *cmdFlags, args []string) error {
	name := f.String("name", "", "new `name`")
	var scopes listFlag
	f.listFlags(&scopes, "scope", "scopes", "`scope` of the key, replacing all old ones; --scopes '' removes all")
	enable := f.Bool("enable", false, "enable the key")
	disable := f.Bool("disable", false, "disable the key (reversible, unlike revoke)")
	expiresAt := f.String("expires-at", "", "new expiry `time` (RFC 3339), or never")
	remaining := f.String("remaining", "", "remaining uses `N`, or unlimited")
	metadata := f.String("metadata", "", "new metadata, a JSON `object` replacing the old one")
	limits := rateLimitFlags(f, "ratelimit", "a rate limit of the key, replacing all old ones", "no-ratelimits", "remove the key's own rate limits")
	var ipAllow listFlag
	f.Var(commaList{&ipAllow}, "ip-allow", "`CIDR` (or address) the key may be used from, replacing the old list; repeatable or comma-separated")
	noIPAllow := f.Bool("no-ip-allow", false, "remove the IP allowlist: allow every address")
	refill := f.String("refill", "", "`INTERVAL:AMOUNT` that resets the remaining uses every day or month (00:00 UTC), e.g. daily:1000 or monthly:50000")
	noRefill := f.Bool("no-refill", false, "stop refilling the remaining uses")
	pos, err := c.parse(f, args)
	if err != nil {
		return err
	}
	var req api.UpdateKeyRequest
	if req.RateLimits, err = limits(); err != nil {
		return err
	}
	switch {
	case ipAllow.set && *noIPAllow:
		return usagef("use --ip-allow or --no-ip-allow, not both")
	case *noIPAllow:
		req.IPAllow = &[]string{}
	case ipAllow.set:
		l, err := parseIPAllow("ip-allow", ipAllow.vals)
		if err != nil {
			return err
		}
		if len(l) == 0 {
			return usagef("--ip-allow is empty; use --no-ip-allow to allow every address")
		}
		req.IPAllow = &l
	}
	switch {
	case *refill != "" && *noRefill:
		return usagef("use --refill or --no-refill, not both")
	case *noRefill:
		req.Refill = json.RawMessage("null")
	case *refill != "":
		r, err := parseRefill("refill", *refill)
		if err != nil {
			return err
		}
		req.Refill = refillJSON(r)
	}
	if f.isSet("name") {
		req.Name = name
	}
	if scopes.set {
		req.Scopes = new(scopes.values())
	}
	if *enable && *disable {
		return usagef("use --enable or --disable, not both")
	}
	if *enable || *disable {
		req.Enabled = new(*enable)
	}
	switch *expiresAt {
	case "":
	case "never":
		req.ExpiresAt = client.NullExpiry()
	default:
		t, err := parseTime("expires-at", *expiresAt)
		if err != nil {
			return err
		}
		req.ExpiresAt = client.ExpiresAt(t)
	}
	switch *remaining {
	case "":
	case "unlimited":
		req.Remaining = client.NullRemaining()
	default:
		n, err := parseCount("remaining", *remaining)
		if err != nil {
			return err
		}
		req.Remaining = client.Remaining(n)
	}
	if *metadata != "" {
		if req.Metadata, err = parseObject("metadata", *metadata); err != nil {
			return err
		}
	}
	if req.Name == nil && req.Scopes == nil && req.Enabled == nil && req.ExpiresAt == nil && req.Remaining == nil && req.Metadata == nil &&
		req.RateLimits == nil && req.IPAllow == nil && req.Refill == nil {
		return usagef("nothing to change: give at least one of --name, --scopes, --enable, --disable, --expires-at, --remaining, --metadata, --ratelimit, --ip-allow, --refill or their --no- forms")
	}
	cl, err := c.client(f)
	if err != nil {
		return err
	}
	k, err := cl.UpdateKey(c.ctx, pos[0], req)
	if err != nil {
		return err
	}
	return c.printKey(f, k)
}

func keysRevoke(c *cli, f *cmdFlags, args []string) error {
	reason := f.String("reason", "", "why the key is revoked (recorded in the audit log)")
	idem := idempotencyFlag(f)
	pos, err := c.parse(f, args)
	if err != nil {
		return err
	}
	cl, err := c.client(f)
	if err != nil {
		return err
	}
	k, err := cl.RevokeKey(c.ctx, pos[0], *reason, idem()...)
	if err != nil {
		return err
	}
	return c.printKey(f, k)
}

func keysRenew(c *cli, f *cmdFlags, args []string) error {
	idem := idempotencyFlag(f)
	pos, err := c.parse(f, args)
	if err != nil {
		return err
	}
	cl, err := c.client(f)
	if err != nil {
		return err
	}
	k, err := cl.RenewKey(c.ctx, pos[0], idem()...)
	if err != nil {
		return err
	}
	return c.printKey(f, k)
}

func keysDelete(c *cli, f *cmdFlags, args []string) error {
	pos, err := c.parse(f, args)
	if err != nil {
		return err
	}
	cl, err := c.client(f)
	if err != nil {
		return err
	}
	if err := cl.DeleteKey(c.ctx, pos[0]); err != nil {
		return err
	}
	if !f.json {
		fmt.Fprintf(c.stdout, "Deleted key %s.\n", pos[0])
	}
	return nil
}

func keysReveal(c *cli, f *cmdFlags, args []string) error {
	pos, err := c.parse(f, args)
	if err != nil {
		return err
	}
	cl, err := c.client(f)
	if err != nil {
		return err
	}
	ks, err := cl.RevealKey(c.ctx, pos[0])
	if err != nil {
		return err
	}
	if f.json {
		return c.printJSON(ks)
	}
	fmt.Fprintf(c.stdout, "%s\n", ks.Secret)
	return nil
}
