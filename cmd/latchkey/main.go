// Command latchkey is the latchkey server and its command-line client.
//
//	latchkey serve                     run the server
//	latchkey proxy                     run the verifying gateway
//	latchkey keys create|list|get|update|revoke|rotate|renew|delete|verify
//	latchkey keyspaces create|list|get|update
//	latchkey users create|list|get|update|disable|enable
//	latchkey users set-password|remove-password|recovery-codes|factors
//	latchkey users totp enroll|confirm|remove
//	latchkey users sessions list|end|end-all
//	latchkey apps create|list|get|update|disable|enable|rotate-secret
//	latchkey audit list
//	latchkey tokens create             exchange an API key for a JWT
//	latchkey migrate up|status         schema migrations of the local store
//	latchkey export|import             move an installation between stores
//	latchkey version
//
// Client commands talk to the server at $LATCHKEY_URL (default
// http://127.0.0.1:8080) with the management credential in $LATCHKEY_TOKEN
// (or the file named by $LATCHKEY_TOKEN_FILE); --url and --token override
// them. They print tables by default and the API's JSON with --json.
//
// Exit codes: 0 success; 1 "keys verify" found the key invalid; 2 usage
// error; 3 the server refused the request (4xx); 4 failure (network error,
// 5xx, local error).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/latchkey/latchkey/client"
)

// Exit codes.
const (
	exitOK      = 0
	exitInvalid = 1 // keys verify: the server says the key is not valid
	exitUsage   = 2 // bad command line or configuration
	exitRefused = 3 // the server refused the request (4xx)
	exitFailure = 4 // network error, 5xx, local error
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// run is the whole program: args without the program name, the output
// streams and the environment. It returns the exit code.
func run(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	c := &cli{ctx: context.Background(), stdin: os.Stdin, stdout: stdout, stderr: stderr, getenv: getenv,
		readPassword: terminalPassword(os.Stdin, stderr)}
	return c.main(args)
}

// cli holds the streams and settings of one run.
type cli struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	// readPassword prints a prompt and reads a line from the terminal
	// without echo; nil when stdin is not a terminal.
	readPassword func(prompt string) (string, error)

	url, token string // global --url and --token given before the command
}

// group is a command with subcommands, such as "keys".
type group struct {
	name    string
	summary string
	cmds    []subcommand
}

// subcommand is one leaf command such as "keys create". The dispatcher
// builds its flag set (with the common flags and the usage text) and calls
// run, which adds its own flags and calls cli.parse.
type subcommand struct {
	name     string
	args     string // positional arguments for the usage line, e.g. "KEY_ID"
	summary  string
	examples string
	run      func(c *cli, f *cmdFlags, args []string) error
}

// groups lists the command groups in the order of the help text.
func groups() []group {
	return []group{
		{"keys", "create, inspect, change, rotate, revoke and verify keys", keyCommands()},
		{"keyspaces", "manage keyspaces (prefix, lifetimes, scope catalogue)", keyspaceCommands()},
		{"users", "manage users (humans), their passwords, second factors and sessions", append(principalCommands(users), peopleCommands()...)},
		{"apps", "manage apps (applications, services, OAuth clients)", append(principalCommands(apps), appCommands()...)},
		{"audit", "read the audit log", auditCommands()},
		{"signing-keys", "list and rotate the keys that sign JWTs", signingKeyCommands()},
		{"webhooks", "send lifecycle events (revocations, leaks, expiries) to your URLs", webhookCommands()},
		{"tokens", "exchange an API key for a short-lived JWT", tokenCommands()},
	}
}

func (c *cli) main(args []string) int {
	global := flag.NewFlagSet("latchkey", flag.ContinueOnError)
	global.SetOutput(io.Discard)
	global.StringVar(&c.url, "url", "", "server base URL")
	global.StringVar(&c.token, "token", "", "management credential")
	showVersion := global.Bool("version", false, "print the version")
	if err := global.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			c.usage(c.stdout)
			return exitOK
		}
		fmt.Fprintf(c.stderr, "latchkey: %v\n", err)
		c.usage(c.stderr)
		return exitUsage
	}
	if *showVersion {
		return c.exit("version", runVersion(c, nil))
	}
	args = global.Args()
	if len(args) == 0 {
		c.usage(c.stderr)
		return exitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "serve":
		return runServe(rest)
	case "proxy":
		return runProxy(rest)
	case "migrate":
		return c.runGroup(migrateGroup(), rest)
	case "export":
		return c.exit("export", runExport(c, rest))
	case "import":
		return c.exit("import", runImport(c, rest))
	case "version":
		return c.exit("version", runVersion(c, rest))
	case "scan":
		return c.exit("scan", runScan(c, rest))
	case "help":
		c.usage(c.stdout)
		return exitOK
	}
	for _, g := range groups() {
		if g.name == name {
			return c.runGroup(g, rest)
		}
	}
	fmt.Fprintf(c.stderr, "latchkey: unknown command %q\n", name)
	c.usage(c.stderr)
	return exitUsage
}

// runGroup runs the subcommand of g named by args[0].
func (c *cli) runGroup(g group, args []string) int {
	if len(args) == 0 {
		c.groupUsage(c.stderr, g)
		return exitUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		c.groupUsage(c.stdout, g)
		return exitOK
	}
	for _, sc := range g.cmds {
		if sc.name == args[0] {
			f := c.flags(g.name+" "+sc.name, sc)
			return c.exit(f.cmd, sc.run(c, f, args[1:]))
		}
	}
	fmt.Fprintf(c.stderr, "latchkey %s: unknown command %q\n", g.name, args[0])
	c.groupUsage(c.stderr, g)
	return exitUsage
}

// exit prints err (if any) and returns the exit code it calls for. This is
// the one place that maps errors to exit codes.
func (c *cli) exit(cmd string, err error) int {
	if err == nil || errors.Is(err, errHelp) {
		return exitOK
	}
	if errors.Is(err, errKeyInvalid) {
		return exitInvalid
	}
	if code, ok := errors.AsType[exited](err); ok { // a nested group has printed its outcome
		return int(code)
	}
	if u, ok := errors.AsType[*usageError](err); ok {
		fmt.Fprintf(c.stderr, "latchkey %s: %s\nRun 'latchkey %s -h' for usage.\n", cmd, u.msg, cmd)
		return exitUsage
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "latchkey") {
		msg = "latchkey " + cmd + ": " + msg
	}
	if e, ok := errors.AsType[*client.Error](err); ok {
		if e.Problem.RequestID != "" {
			msg += " (request id " + e.Problem.RequestID + ")"
		}
		fmt.Fprintln(c.stderr, msg)
		if e.Status >= 400 && e.Status < 500 {
			return exitRefused
		}
		return exitFailure
	}
	fmt.Fprintln(c.stderr, msg)
	return exitFailure
}

// usage prints the top-level help.
func (c *cli) usage(w io.Writer) {
	fmt.Fprint(w, `latchkey is a self-hosted API token authority.

Usage: latchkey [--url URL] [--token TOKEN] <command> [arguments]

Commands:
`)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  serve\trun the server\n")
	fmt.Fprintf(tw, "  proxy\trun the verifying gateway in front of an HTTP API\n")
	for _, g := range groups() {
		fmt.Fprintf(tw, "  %s\t%s\n", g.name, g.summary)
	}
	fmt.Fprintf(tw, "  scan\tfind latchkey secrets in files and git history (and report them)\n")
	fmt.Fprintf(tw, "  migrate\t%s\n", migrateGroup().summary)
	fmt.Fprintf(tw, "  export\twrite the whole store as JSON Lines\n")
	fmt.Fprintf(tw, "  import\tload an export into an empty store\n")
	fmt.Fprintf(tw, "  version\tprint the version\n")
	tw.Flush()
	fmt.Fprint(w, `
Client commands read LATCHKEY_URL (default `+defaultURL+`) and
LATCHKEY_TOKEN (or LATCHKEY_TOKEN_FILE); --url and --token override them.
Add --json to print the API's JSON instead of a table.

Exit codes: 0 ok, 1 key invalid (keys verify) or secrets found (scan), 2 usage error,
3 refused by the server (4xx), 4 failure (network, 5xx, local error).

Run 'latchkey <command> -h' for the help of a command.
`)
}

// groupUsage prints the help of a command group.
func (c *cli) groupUsage(w io.Writer, g group) {
	fmt.Fprintf(w, "Usage: latchkey %s <command> [arguments] [flags]\n\nCommands:\n", g.name)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, sc := range g.cmds {
		fmt.Fprintf(tw, "  %s\t%s\n", sc.name, sc.summary)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nRun 'latchkey %s <command> -h' for the help of a command.\n", g.name)
}
