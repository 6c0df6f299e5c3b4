package main

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/latchkey/latchkey/client"
)

// maxPasswordLen bounds what "users set-password --password-stdin" reads.
const maxPasswordLen = 4096

// peopleCommands are the subcommands of "latchkey users" that manage how a
// user signs in: password, TOTP, recovery codes, factors and sessions.
func peopleCommands() []subcommand {
	return []subcommand{
		{"set-password", "ID", "Set or replace a user's password: asked twice without echo, or read from stdin with --password-stdin.", `  latchkey users set-password alice
  printf '%s\n' "$NEW_PASSWORD" | latchkey users set-password alice --password-stdin`, setPassword},
		{"remove-password", "ID", "Remove a user's password: the user can no longer sign in with one.", `  latchkey users remove-password alice`, removePassword},
		{"totp", "", "Enroll, confirm or remove a user's TOTP second factor.", "", nested(group{"users totp", "enroll, confirm or remove a user's TOTP second factor", totpCommands()})},
		{"recovery-codes", "ID", "Replace a user's recovery codes by ten new ones, shown once; the old ones stop working.", `  latchkey users recovery-codes alice
  latchkey users recovery-codes alice --json | jq -r '.recovery_codes[]'`, regenerateRecoveryCodes},
		{"factors", "ID", "Show which sign-in factors a user has (never the factors themselves).", `  latchkey users factors alice
  latchkey users factors alice --json`, showFactors},
		{"sessions", "", "List or end a user's signed-in browser sessions.", "", nested(group{"users sessions", "list or end a user's signed-in browser sessions", sessionCommands()})},
		{"grants", "ID", "List the apps a user authorized (OAuth grants): app, scopes, since when.", `  latchkey users grants alice
  latchkey users grants alice --json`, grantsList},
		{"revoke-grant", "ID GRANT_ID", "Revoke one of a user's OAuth grants: its refresh and access tokens stop working at once.", `  latchkey users revoke-grant alice key_4f2a`, grantRevoke},
	}
}

// exited is the error of a nested command group that has printed its
// outcome already; it carries the exit code.
type exited int

func (e exited) Error() string { return "exit status " + strconv.Itoa(int(e)) }

// nested returns the run function of a subcommand that is a group of its
// own, such as "users totp".
func nested(g group) func(*cli, *cmdFlags, []string) error {
	return func(c *cli, _ *cmdFlags, args []string) error {
		if code := c.runGroup(g, args); code != exitOK {
			return exited(code)
		}
		return nil
	}
}

func setPassword(c *cli, f *cmdFlags, args []string) error {
	fromStdin := f.Bool("password-stdin", false, "read the password from the first line of stdin")
	pos, err := c.parse(f, args)
	if err != nil {
		return err
	}
	var password string
	if *fromStdin {
		if password, err = readPassword(c.stdin); err != nil {
			return err
		}
	} else if password, err = c.promptNewPassword(pos[0]); err != nil {
		return err
	}
	cl, err := c.client(f)
	if err != nil {
		return err
	}
	if err := cl.SetPassword(c.ctx, pos[0], password); err != nil {
		return err
	}
	if !f.json {
		fmt.Fprintf(c.stdout, "Set the password of user %s.\n", cleanCell(pos[0]))
	}
	return nil
}

// promptNewPassword asks for a new password twice on the terminal.
func (c *cli) promptNewPassword(id string) (string, error) {
	if c.readPassword == nil {
		return "", usagef("stdin is not a terminal: pass --password-stdin to read the password from stdin")
	}
	first, err := c.readPassword("New password for user " + cleanCell(id) + ": ")
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	if first == "" {
		return "", usagef("empty password")
	}
	second, err := c.readPassword("Repeat the password: ")
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	if first != second {
		return "", usagef("the passwords do not match")
	}
	return first, nil
}

// readPassword reads a password from the first line of r, without its line
// ending (other spaces belong to the password).
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, maxPasswordLen+1)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	if len(line) > maxPasswordLen {
		return "", usagef("the password on stdin is longer than %d bytes", maxPasswordLen)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", usagef("empty password on stdin")
	}
	return line, nil
}

func removePassword(c *cli, f *cmdFlags, args []string) error {
	cl, pos, err := c.parseForClient(f, args)
	if err != nil {
		return err
	}
	if err := cl.RemovePassword(c.ctx, pos[0]); err != nil {
		return err
	}
	if !f.json {
		fmt.Fprintf(c.stdout, "Removed the password of user %s: the user can no longer sign in with a password.\n", cleanCell(pos[0]))
	}
	return nil
}

func showFactors(c *cli, f *cmdFlags, args []string) error {
	cl, pos, err := c.parseForClient(f, args)
	if err != nil {
		return err
	}
	fa, err := cl.Factors(c.ctx, pos[0])
	if err != nil {
		return err
	}
	if f.json {
		return c.printJSON(fa)
	}
	password := "no"
	if fa.Password {
		password = "yes"
		if fa.PasswordChangedAt != nil {
			password += ", set " + timeString(*fa.PasswordChangedAt)
		}
	}
	d := newDetails(c.stdout)
	d.line("User", pos[0])
	d.line("Source", fa.Source)
	d.line("Password", password)
	d.line("TOTP", fa.TOTP)
	d.line("Recovery codes", fmt.Sprintf("%d left", fa.RecoveryCodesLeft))
	d.line("Passkeys", strconv.Itoa(len(fa.Passkeys)))
	if err := d.flush(); err != nil {
		return err
	}
	if len(fa.Passkeys) == 0 {
		return nil
	}
	fmt.Fprintln(c.stdout)
	t := newTable(c.stdout, "PASSKEY", "NAME", "CREATED", "LAST USED")
	for _, p := range fa.Passkeys {
		t.row(p.ID, p.Name, timeString(p.CreatedAt), optTime(p.LastUsedAt, "never"))
	}
	return t.flush()
}

// parseForClient parses a client command's flags and arguments and builds
// its API client.
func (c *cli) parseForClient(f *cmdFlags, args []string) (*client.Client, []string, error) {
	pos, err := c.parse(f, args)
	if err != nil {
		return nil, nil, err
	}
	cl, err := c.client(f)
	return cl, pos, err
}
