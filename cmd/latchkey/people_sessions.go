package main

import (
	"fmt"

	"github.com/latchkey/latchkey/api"
)

// sessionCommands are the subcommands of "latchkey users sessions".
func sessionCommands() []subcommand {
	return []subcommand{
		{"list", "ID", "List a user's signed-in browser sessions (never their cookies).", `  latchkey users sessions list alice
  latchkey users sessions list alice --json`, sessionsList},
		{"end", "ID SESSION_ID", "Sign a user out of one session.", `  latchkey users sessions end alice ses_4f2a`, sessionsEnd},
		{"end-all", "ID", "Sign a user out of all its sessions.", `  latchkey users sessions end-all alice`, sessionsEndAll},
	}
}

func sessionsList(c *cli, f *cmdFlags, args []string) error {
	cl, pos, err := c.parseForClient(f, args)
	if err != nil {
		return err
	}
	l, err := cl.Sessions(c.ctx, pos[0])
	if err != nil {
		return err
	}
	if f.json {
		return c.printJSON(l)
	}
	t := newTable(c.stdout, "ID", "CREATED", "LAST SEEN", "EXPIRES", "IDLE EXPIRES", "FACTORS", "APPS", "IP", "USER AGENT")
	for _, s := range l.Items {
		t.row(s.ID, timeString(s.CreatedAt), timeString(s.LastSeenAt), timeString(s.ExpiresAt), timeString(s.IdleExpiresAt),
			sessionFactors(s.Factors), sessionApps(s.Apps), s.IP, s.UserAgent)
	}
	return t.flush()
}

// sessionFactors lists the methods a session signed in with, such as
// "pwd,otp".
func sessionFactors(fs []api.SessionFactor) string {
	methods := make([]string, len(fs))
	for i, f := range fs {
		methods[i] = f.Method
	}
	return list(methods)
}

// sessionApps lists the client IDs of the apps a session signed in to.
func sessionApps(as []api.SessionApp) string {
	ids := make([]string, len(as))
	for i, a := range as {
		ids[i] = a.ClientID
	}
	return list(ids)
}

func sessionsEnd(c *cli, f *cmdFlags, args []string) error {
	cl, pos, err := c.parseForClient(f, args)
	if err != nil {
		return err
	}
	if err := cl.EndSession(c.ctx, pos[0], pos[1]); err != nil {
		return err
	}
	if !f.json {
		fmt.Fprintf(c.stdout, "Ended session %s of user %s.\n", cleanCell(pos[1]), cleanCell(pos[0]))
	}
	return nil
}

func sessionsEndAll(c *cli, f *cmdFlags, args []string) error {
	cl, pos, err := c.parseForClient(f, args)
	if err != nil {
		return err
	}
	n, err := cl.EndSessions(c.ctx, pos[0])
	if err != nil {
		return err
	}
	if f.json {
		return c.printJSON(n)
	}
	noun := "sessions"
	if n.Ended == 1 {
		noun = "session"
	}
	_, err = fmt.Fprintf(c.stdout, "Ended %d %s of user %s.\n", n.Ended, noun, cleanCell(pos[0]))
	return err
}
