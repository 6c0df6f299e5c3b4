package main

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/client"
)

// tokenCommands are the subcommands of "latchkey tokens".
func tokenCommands() []subcommand {
	return []subcommand{
		{"create", "", "Exchange an API key for a short-lived JWT (POST /v1/tokens) and print the JWT.\n" +
			"The API key is read from $LATCHKEY_API_KEY or from --key-file (\"-\": the first\n" +
			"line of stdin); it is the credential of the exchange, so no management\n" +
			"credential is used ($LATCHKEY_TOKEN and --token are not read). Without --json\n" +
			"only the JWT is printed on stdout, its lifetime and scope on stderr.",
			`  LATCHKEY_API_KEY=acme_live_… latchkey tokens create
  latchkey tokens create --key-file ./api.key --scope "orders:read" --expires-in 10m
  echo "$KEY" | latchkey tokens create --key-file - --audience billing --json`, tokensCreate},
	}
}

func tokensCreate(c *cli, f *cmdFlags, args []string) error {
	keyFile := f.String("key-file", "", "read the API key from `FILE` (\"-\": stdin) instead of $LATCHKEY_API_KEY")
	var scopes listFlag
	f.listFlags(&scopes, "scope", "scopes", "`scope` the JWT carries (default: all the key's scopes)")
	audience := f.String("audience", "", "`aud` of the JWT: the key's keyspace (default) or one of its audiences")
	expiresIn := f.String("expires-in", "", "lifetime: a `duration` such as 10m or a number of seconds (default: the server's, at most 1h)")
	if _, err := c.parse(f, args); err != nil {
		return err
	}
	if f.tok != "" {
		return usagef("--token is a management credential; tokens create exchanges an API key: set LATCHKEY_API_KEY or use --key-file")
	}
	key, err := c.apiKey(*keyFile)
	if err != nil {
		return err
	}
	req := api.TokenRequest{Scope: strings.Join(scopes.vals, " "), Audience: *audience}
	if *expiresIn != "" {
		if req.ExpiresIn, err = parseSeconds(*expiresIn); err != nil {
			return err
		}
	}
	url := firstNonEmpty(f.url, c.url, c.getenv("LATCHKEY_URL"), defaultURL)
	cl, err := client.New(url, key,
		client.WithHTTPClient(&http.Client{Timeout: requestTimeout}),
		client.WithUserAgent("latchkey-cli/"+version))
	if err != nil {
		return &usageError{msg: strings.TrimPrefix(err.Error(), "latchkey: ")}
	}
	res, err := cl.ExchangeToken(c.ctx, key, req)
	if err != nil {
		return err
	}
	if f.json {
		return c.printJSON(res)
	}
	if _, err := fmt.Fprintln(c.stdout, res.AccessToken); err != nil {
		return err
	}
	fmt.Fprintf(c.stderr, "%s token, expires in %ds, scope: %s\n", res.TokenType, res.ExpiresIn, orDash(res.Scope))
	return nil
}

// apiKey returns the API key to exchange: from file ("-": stdin) if set,
// else $LATCHKEY_API_KEY. Setting both is refused, like LATCHKEY_TOKEN and
// LATCHKEY_TOKEN_FILE.
func (c *cli) apiKey(file string) (string, error) {
	env := c.getenv("LATCHKEY_API_KEY")
	var key string
	switch {
	case file != "" && env != "":
		return "", usagef("set LATCHKEY_API_KEY or --key-file, not both")
	case file == "-":
		k, err := readKey(c.stdin)
		if err != nil {
			return "", err
		}
		key = k
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("read --key-file: %w", err)
		}
		key = strings.TrimSpace(string(b))
	default:
		key = env
	}
	if key == "" {
		return "", usagef("no API key: set LATCHKEY_API_KEY or pass --key-file FILE (\"-\" for stdin)")
	}
	return key, nil
}

// parseSeconds parses a lifetime given as a duration ("10m", "1h") or a
// whole number of seconds ("600").
func parseSeconds(s string) (api.Seconds, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 1 {
			return 0, usagef("--expires-in must be positive, not %q", s)
		}
		return api.Seconds(n), nil
	}
	d, err := api.ParseDuration(s) // the one duration parser: 10m, 1h, 1d
	if err != nil || d < time.Second || d%time.Second != 0 {
		return 0, usagef("--expires-in must be a whole number of seconds or a duration such as 10m, not %q", s)
	}
	return api.Seconds(d / time.Second), nil
}
