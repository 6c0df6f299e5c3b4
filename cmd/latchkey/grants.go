package main

import (
	"fmt"
)

// grantsList is "latchkey users grants ID": the apps a user authorized.
func grantsList(c *cli, f *cmdFlags, args []string) error {
	cl, pos, err := c.parseForClient(f, args)
	if err != nil {
		return err
	}
	l, err := cl.UserGrants(c.ctx, pos[0])
	if err != nil {
		return err
	}
	if f.json {
		return c.printJSON(l)
	}
	t := newTable(c.stdout, "ID", "APP", "NAME", "SCOPES", "SINCE", "EXPIRES", "LAST USED")
	for _, g := range l.Grants {
		exp, used := "", ""
		if g.ExpiresAt != nil {
			exp = timeString(*g.ExpiresAt)
		}
		if g.LastUsedAt != nil {
			used = timeString(*g.LastUsedAt)
		}
		t.row(g.ID, g.ClientID, g.ClientName, list(g.Scopes), timeString(g.CreatedAt), exp, used)
	}
	return t.flush()
}

// grantRevoke is "latchkey users revoke-grant ID GRANT_ID".
func grantRevoke(c *cli, f *cmdFlags, args []string) error {
	cl, pos, err := c.parseForClient(f, args)
	if err != nil {
		return err
	}
	if err := cl.RevokeUserGrant(c.ctx, pos[0], pos[1]); err != nil {
		return err
	}
	if !f.json {
		fmt.Fprintf(c.stdout, "Revoked grant %s of user %s: its tokens stopped working.\n", cleanCell(pos[1]), cleanCell(pos[0]))
	}
	return nil
}

// appGrantsRevoke is "latchkey apps revoke-grants ID": every user's grants
// to the app.
func appGrantsRevoke(c *cli, f *cmdFlags, args []string) error {
	cl, pos, err := c.parseForClient(f, args)
	if err != nil {
		return err
	}
	n, err := cl.RevokeAppGrants(c.ctx, pos[0])
	if err != nil {
		return err
	}
	if f.json {
		return c.printJSON(n)
	}
	noun := "grants"
	if n.Revoked == 1 {
		noun = "grant"
	}
	_, err = fmt.Fprintf(c.stdout, "Revoked %d %s to app %s; every user is asked again at the next sign-in.\n", n.Revoked, noun, cleanCell(pos[0]))
	return err
}
