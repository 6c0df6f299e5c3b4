package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/client"
)

// defaultURL is the server a client command talks to when neither --url nor
// LATCHKEY_URL says otherwise.
const defaultURL = "http://127.0.0.1:8080"

// requestTimeout bounds each API call of a client command.
const requestTimeout = 60 * time.Second

var (
	// errHelp is returned after -h printed the usage: exit 0.
	errHelp = errors.New("help requested")
	// errKeyInvalid is returned by "keys verify" for an invalid key: exit 1.
	errKeyInvalid = errors.New("key is not valid")
)

// usageError is a mistake on the command line or in the configuration.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// cmdFlags is the flag set of one subcommand with the flags every client
// command has.
type cmdFlags struct {
	*flag.FlagSet
	cmd  string   // "keys create"
	args []string // names of the positional arguments
	url  string
	tok  string
	json bool
}

// flags returns the flag set of "latchkey <cmd>".
func (c *cli) flags(cmd string, sc subcommand) *cmdFlags {
	f := &cmdFlags{FlagSet: flag.NewFlagSet("latchkey "+cmd, flag.ContinueOnError), cmd: cmd, args: strings.Fields(sc.args)}
	f.SetOutput(io.Discard)
	f.StringVar(&f.url, "url", "", "server base `URL` (default $LATCHKEY_URL or "+defaultURL+")")
	f.StringVar(&f.tok, "token", "", "management `credential` (default $LATCHKEY_TOKEN; a flag shows in process lists)")
	f.BoolVar(&f.json, "json", false, "print the API's JSON instead of a table")
	f.setUsage(cmd, sc)
	return f
}

// parse parses args, in which flags may come before, between or after the
// positional arguments ("--" ends the flags), and returns the positional
// arguments, exactly as many as the command takes.
func (c *cli) parse(f *cmdFlags, args []string) ([]string, error) {
	var pos []string
	for {
		if err := f.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				f.SetOutput(c.stdout)
				f.Usage()
				return nil, errHelp
			}
			return nil, &usageError{msg: err.Error()}
		}
		rest := f.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		if len(rest) == 0 {
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	// A last argument named "[X...]" takes any number, none included.
	need, variadic := len(f.args), len(f.args) > 0 && strings.HasSuffix(f.args[len(f.args)-1], "...]")
	if variadic {
		need--
	}
	if len(pos) < need {
		return nil, usagef("missing %s", strings.Join(f.args[len(pos):], " "))
	}
	if len(pos) > len(f.args) && !variadic {
		return nil, usagef("unexpected argument %q", pos[len(f.args)])
	}
	return pos, nil
}

// isSet reports whether the flag name was given on the command line.
func (f *cmdFlags) isSet(name string) bool {
	set := false
	f.Visit(func(fl *flag.Flag) {
		if fl.Name == name {
			set = true
		}
	})
	return set
}

// client returns an API client configured from the flags, the global flags
// and the environment, in that order of precedence.
func (c *cli) client(f *cmdFlags) (*client.Client, error) {
	url := firstNonEmpty(f.url, c.url, c.getenv("LATCHKEY_URL"), defaultURL)
	// One rule everywhere (serve, proxy, client commands): LATCHKEY_TOKEN
	// and LATCHKEY_TOKEN_FILE together are refused, whatever else is set.
	if c.getenv("LATCHKEY_TOKEN") != "" && c.getenv("LATCHKEY_TOKEN_FILE") != "" {
		return nil, usagef("set LATCHKEY_TOKEN or LATCHKEY_TOKEN_FILE, not both")
	}
	token := firstNonEmpty(f.tok, c.token)
	if token == "" {
		var err error
		if token, err = secretFromEnv(c.getenv, "LATCHKEY_TOKEN"); err != nil {
			return nil, err
		}
	}
	if token == "" {
		return nil, usagef("no credential: set LATCHKEY_TOKEN (or LATCHKEY_TOKEN_FILE) or pass --token")
	}
	cl, err := client.New(url, token,
		client.WithHTTPClient(&http.Client{Timeout: requestTimeout}),
		client.WithUserAgent("latchkey-cli/"+version))
	if err != nil {
		return nil, &usageError{msg: strings.TrimPrefix(err.Error(), "latchkey: ")}
	}
	return cl, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// listFlag collects the values of a repeatable flag (--scope a --scope b)
// and of its comma-separated twin (--scopes a,b).
type listFlag struct {
	vals []string
	set  bool
}

func (l *listFlag) String() string { return strings.Join(l.vals, ",") }

func (l *listFlag) Set(s string) error {
	l.set = true
	l.vals = append(l.vals, s)
	return nil
}

// values returns the collected values, never nil, so that an empty
// --scopes with an empty value is sent as [] and clears the list.
func (l *listFlag) values() []string {
	if l.vals == nil {
		return []string{}
	}
	return l.vals
}

// commaList is the comma-separated twin of a listFlag.
type commaList struct{ l *listFlag }

func (c commaList) String() string {
	if c.l == nil {
		return ""
	}
	return c.l.String()
}

func (c commaList) Set(s string) error {
	c.l.set = true
	for v := range strings.SplitSeq(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			c.l.vals = append(c.l.vals, v)
		}
	}
	return nil
}

// listFlags registers --<one> (repeatable) and --<many> (comma-separated)
// for the same list.
func (f *cmdFlags) listFlags(l *listFlag, one, many, what string) {
	f.Var(l, one, what+" (repeatable)")
	f.Var(commaList{l}, many, "comma-separated `list`: the same as repeating --"+one)
}

// parseOwner parses "user:ID" or "app:ID".
func parseOwner(s string) (*api.Owner, error) {
	typ, id, ok := strings.Cut(s, ":")
	if !ok || (typ != "user" && typ != "app") || id == "" {
		return nil, usagef("--owner must be user:ID or app:ID, not %q", s)
	}
	return &api.Owner{Type: typ, ID: id}, nil
}

// parseObject checks that s is a JSON object for the flag name.
func parseObject(name, s string) (json.RawMessage, error) {
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil || m == nil {
		return nil, usagef("--%s must be a JSON object such as '{\"team\":\"billing\"}'", name)
	}
	return json.RawMessage(s), nil
}

// parseCount parses a non-negative count for the flag name.
func parseCount(name, s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, usagef("--%s must be a non-negative integer, not %q", name, s)
	}
	return n, nil
}

// parseTime parses an RFC 3339 time for the flag name.
func parseTime(name, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, usagef("--%s must be an RFC 3339 time such as 2030-01-31T12:00:00Z, not %q", name, s)
	}
	return t, nil
}

// setUsage makes -h print the subcommand's usage, summary, examples and
// flags.
func (f *cmdFlags) setUsage(cmd string, sc subcommand) {
	f.Usage = func() {
		w := f.Output()
		fmt.Fprintf(w, "Usage: latchkey %s", cmd)
		if sc.args != "" {
			fmt.Fprintf(w, " %s", sc.args)
		}
		fmt.Fprintf(w, " [flags]\n\n%s\n", sc.summary)
		if sc.examples != "" {
			fmt.Fprintf(w, "\nExamples:\n%s\n", strings.TrimRight(sc.examples, "\n"))
		}
		fmt.Fprintf(w, "\nFlags:\n")
		f.PrintDefaults()
	}
}
