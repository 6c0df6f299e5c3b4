package main

import (
	"fmt"
	"strings"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/client"
)

// keyCommands are the subcommands of "latchkey keys".
func keyCommands() []subcommand {
	return []subcommand{
		{"create", "", "Create a key and print its secret, which is shown this once.", `  latchkey keys create --keyspace default --name ci --owner app:ci --scope orders:read --expires-in 720h
  latchkey keys create --name trial --scopes orders:read,orders:write --remaining 1000 --metadata '{"plan":"trial"}'
  latchkey keys create --name deploy --json | jq -r .key
  latchkey keys create --name partner --ratelimit requests=100/1m --ratelimit burst=10/1s --ip-allow 203.0.113.0/24,2001:db8::/32
  latchkey keys create --name metered --remaining 1000 --refill daily:1000`, keysCreate},
		{"list", "", "List keys, oldest first.", `  latchkey keys list
  latchkey keys list --keyspace default --owner app:ci --state active
  latchkey keys list --all --json`, keysList},
		{"get", "KEY_ID", "Show a key (never its secret).", `  latchkey keys get key_2x8f
  latchkey keys get key_2x8f --json`, keysGet},
		{"usage", "KEY_ID", "Chart a key's verifications per minute or hour, by result code.", `  latchkey keys usage key_2x8f
  latchkey keys usage key_2x8f --granularity minute --from 2h
  latchkey keys usage key_2x8f --from 2026-05-01T00:00:00Z --to 2026-05-08T00:00:00Z --json`, keysUsage},
		{"update", "KEY_ID", "Change a key's name, scopes, expiry, usage limit, rate limits, IP allowlist, refill, metadata or enabled state.", `  latchkey keys update key_2x8f --name "CI (old)" --scopes orders:read
  latchkey keys update key_2x8f --disable
  latchkey keys update key_2x8f --expires-at never --remaining unlimited --no-refill
  latchkey keys update key_2x8f --ratelimit requests=1000/1m --ip-allow 198.51.100.7
  latchkey keys update key_2x8f --no-ratelimits --no-ip-allow`, keysUpdate},
		{"revoke", "KEY_ID", "Revoke a key for good.", `  latchkey keys revoke key_2x8f --reason "leaked in a CI log"`, keysRevoke},
		{"rotate", "KEY_ID", "Replace a key by a new secret with the same settings; the old one keeps working for the grace period.", `  latchkey keys rotate key_2x8f --grace-period 1h
  latchkey keys rotate key_2x8f --json | jq -r .key`, keysRotate},
		{"renew", "KEY_ID", "Push a temporary key's expiry out by its lifetime.", `  latchkey keys renew key_2x8f`, keysRenew},
		{"delete", "KEY_ID", "Delete a revoked key for good.", `  latchkey keys delete key_2x8f`, keysDelete},
		{"reveal", "KEY_ID", "Print the secret of a key of a recoverable keyspace again (needs keys:reveal; audited).", `  latchkey keys reveal key_2x8f
  latchkey keys reveal key_2x8f --json | jq -r .secret`, keysReveal},
		{"import", "FILE", "Import keys of another system by the SHA-256 of their plaintext, from JSON Lines (- for stdin) with the fields of POST /v1/keys/import (hash, name, owner, scopes, expires_at, remaining, ratelimits, ip_allow, …).", `  latchkey keys import --keyspace default legacy-keys.jsonl
  printf '{"hash":"%s","name":"legacy"}\n' "$(printf %s "$OLD_KEY" | sha256sum | cut -d' ' -f1)" | latchkey keys import -`, keysImport},
		{"verify", "KEY", "Verify a key; exit 0 when valid, 1 when not. Use - to read the key from stdin.", `  latchkey keys verify - --scope orders:read < key.txt
  echo "$API_KEY" | latchkey keys verify - --scope-query 'orders:read AND (billing:read OR admin)'
  if latchkey keys verify - < key.txt >/dev/null; then echo ok; fi
  latchkey keys verify - --keyspace acme --ip 203.0.113.5 --cost 10 < key.txt
  latchkey keys verify - --cost 0 < key.txt   # show the rate limits without spending`, keysVerify},
	}
}

func keysList(c *cli, f *cmdFlags, args []string) error {
	keyspace := f.String("keyspace", "", "only keys of this `keyspace`")
	owner := f.String("owner", "", "only keys of this `owner`: user:ID or app:ID")
	state := f.String("state", "", "only keys in this `state`: active, disabled, revoked or expired")
	p := f.pageFlags()
	if _, err := c.parse(f, args); err != nil {
		return err
	}
	opts := client.KeyListOptions{Keyspace: *keyspace, State: *state, Limit: p.limit}
	if *owner != "" {
		o, err := parseOwner(*owner)
		if err != nil {
			return err
		}
		opts.OwnerType, opts.OwnerID = o.Type, o.ID
	}
	cl, err := c.client(f)
	if err != nil {
		return err
	}
	items, next, err := collect(p, func(cursor string) ([]api.Key, string, error) {
		opts.Cursor = cursor
		l, err := cl.ListKeys(c.ctx, opts)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.NextCursor, nil
	})
	if err != nil {
		return err
	}
	if f.json {
		return c.printJSON(api.KeyList{Items: items, NextCursor: next})
	}
	t := newTable(c.stdout, "ID", "NAME", "KEYSPACE", "START", "STATE", "SCOPES", "EXPIRES")
	for _, k := range items {
		t.row(k.ID, k.Name, k.Keyspace, k.Start, k.State, list(k.Scopes), optTime(k.ExpiresAt, "never"))
	}
	if err := t.flush(); err != nil {
		return err
	}
	c.moreHint(next)
	return nil
}

func keysGet(c *cli, f *cmdFlags, args []string) error {
	pos, err := c.parse(f, args)
	if err != nil {
		return err
	}
	cl, err := c.client(f)
	if err != nil {
		return err
	}
	k, err := cl.Key(c.ctx, pos[0])
	if err != nil {
		return err
	}
	return c.printKey(f, k)
}

// printKey prints a key as JSON or as labelled lines.
func (c *cli) printKey(f *cmdFlags, k *api.Key) error {
	if f.json {
		return c.printJSON(k)
	}
	return c.keyDetails(k)
}

// keyDetails prints a key as labelled lines.
func (c *cli) keyDetails(k *api.Key) error {
	d := newDetails(c.stdout)
	d.line("ID", k.ID)
	d.line("Name", k.Name)
	d.line("Keyspace", k.Keyspace)
	d.line("Start", k.Start)
	d.line("Owner", ownerString(k.Owner))
	d.line("State", k.State)
	d.line("Scopes", orDash(list(k.Scopes)))
	if k.EffectiveScopes != nil {
		d.line("Effective", orDash(list(*k.EffectiveScopes)))
	}
	if k.InertScopes != nil && len(*k.InertScopes) > 0 {
		d.line("Inert", list(*k.InertScopes)+" (the owner no longer holds them)")
	}
	d.line("Created", timeString(k.CreatedAt))
	d.line("Updated", timeString(k.UpdatedAt))
	d.line("Expires", optTime(k.ExpiresAt, "never"))
	d.line("TTL", k.TTL)
	if k.Remaining != nil {
		d.line("Remaining", fmt.Sprint(*k.Remaining))
	}
	if k.Refill != nil {
		refill := refillString(k.Refill)
		if k.RefilledAt != nil {
			refill += " (last " + timeString(*k.RefilledAt) + ")"
		}
		d.line("Refill", refill)
	}
	d.line("Rate limits", rateLimitsString(k.RateLimits))
	d.line("IP allow", strings.Join(k.IPAllow, ", "))
	if k.SignsRequests {
		d.line("Signed requests", "required (RFC 9421, keyid "+k.ID+")")
	}
	if k.DPoPJKT != "" {
		d.line("DPoP", "required (RFC 9449, key thumbprint "+k.DPoPJKT+")")
	}
	if k.LastUsedAt != nil {
		used := timeString(*k.LastUsedAt)
		if k.LastUsedIP != "" {
			used += " from " + k.LastUsedIP
		}
		d.line("Last used", used)
	}
	d.line("Revoked", optTime(k.RevokedAt, ""))
	d.line("Revoke reason", k.RevokeReason)
	d.line("Rotated from", k.RotatedFrom)
	d.line("Rotated to", k.RotatedTo)
	if k.Imported {
		d.line("Imported", "yes")
	}
	d.line("Metadata", compactJSON(k.Metadata))
	return d.flush()
}

// ownerString formats an owner as "type:id".
func ownerString(o *api.Owner) string {
	if o == nil {
		return ""
	}
	return o.Type + ":" + o.ID
}
