package main

import (
	"github.com/latchkey/latchkey/api"
)

// signingKeyCommands are the subcommands of "latchkey signing-keys".
func signingKeyCommands() []subcommand {
	return []subcommand{
		{"list", "", "List the JWT signing keys: pending (published, not signing yet), active, retiring.", `  latchkey signing-keys list
  latchkey signing-keys list --json`, signingKeysList},
		{"rotate", "", "Create a new signing key. It is published now and signs once every cached JWKS\nhas been refreshed; the current key keeps verifying until its tokens expire.\n--immediately is for a compromised key: the new key signs at once and every\nother key is withdrawn, so every JWT issued so far stops verifying.", `  latchkey signing-keys rotate
  latchkey signing-keys rotate --alg ES256
  latchkey signing-keys rotate --immediately`, signingKeysRotate},
	}
}

func signingKeysList(c *cli, f *cmdFlags, args []string) error {
	if _, err := c.parse(f, args); err != nil {
		return err
	}
	cl, err := c.client(f)
	if err != nil {
		return err
	}
	l, err := cl.SigningKeys(c.ctx)
	if err != nil {
		return err
	}
	if f.json {
		return c.printJSON(l)
	}
	t := newTable(c.stdout, "KID", "ALG", "STATE", "SIGNS FROM", "SIGNS UNTIL", "RETIRES")
	for _, k := range l.Keys {
		t.row(k.KID, k.Alg, k.State, timeString(k.NotBefore), timeString(k.SignUntil), timeString(k.RetireAt))
	}
	return t.flush()
}

func signingKeysRotate(c *cli, f *cmdFlags, args []string) error {
	alg := f.String("alg", "", "`algorithm` of the new key: EdDSA, ES256 or RS256 (default: the server's)")
	now := f.Bool("immediately", false, "sign with the new key at once and withdraw every other key (compromise)")
	if _, err := c.parse(f, args); err != nil {
		return err
	}
	cl, err := c.client(f)
	if err != nil {
		return err
	}
	k, err := cl.RotateSigningKey(c.ctx, api.RotateSigningKeyRequest{Alg: *alg, Immediately: *now})
	if err != nil {
		return err
	}
	if f.json {
		return c.printJSON(k)
	}
	t := newTable(c.stdout, "KID", "ALG", "STATE", "SIGNS FROM", "SIGNS UNTIL", "RETIRES")
	t.row(k.KID, k.Alg, k.State, timeString(k.NotBefore), timeString(k.SignUntil), timeString(k.RetireAt))
	return t.flush()
}
