package main

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/latchkey/latchkey/api"
)

// maxKeyLen bounds what "keys verify -" reads from stdin.
const maxKeyLen = 4096

func keysVerify(c *cli, f *cmdFlags, args []string) error {
	var scopes listFlag
	f.listFlags(&scopes, "scope", "scopes", "`scope` the key must have")
	query := f.String("scope-query", "", "scope `expression` the key must satisfy, e.g. 'a AND (b OR c)'")
	keyspace := f.String("keyspace", "", "the key must belong to this `keyspace` (else NOT_FOUND)")
	cost := f.String("cost", "", "units `N` this request takes from the rate limits and credits (default 1; 0 checks without spending)")
	ip := f.String("ip", "", "client `address` that presented the key, for IP allowlists (default: this machine's)")
	pos, err := c.parse(f, args)
	if err != nil {
		return err
	}
	req := api.VerifyRequest{Scopes: scopes.vals, ScopeQuery: *query, Keyspace: *keyspace}
	if *cost != "" {
		n, err := parseCount("cost", *cost)
		if err != nil {
			return err
		}
		req.Cost = &n
	}
	if *ip != "" {
		if req.IP, err = parseIP("ip", *ip); err != nil {
			return err
		}
	}
	key := pos[0]
	if key == "-" {
		if key, err = readKey(c.stdin); err != nil {
			return err
		}
	}
	if key == "" {
		return usagef("empty key")
	}
	cl, err := c.client(f)
	if err != nil {
		return err
	}
	req.Key = key
	res, err := cl.Verify(c.ctx, req)
	if err != nil {
		return err
	}
	if f.json {
		if err := c.printJSON(res); err != nil {
			return err
		}
	} else if err := c.verifyDetails(res); err != nil {
		return err
	}
	if !res.Valid {
		return errKeyInvalid
	}
	return nil
}

// readKey reads a key from the first line of r.
func readKey(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, maxKeyLen)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("read key from stdin: %w", err)
	}
	return strings.TrimSpace(line), nil
}

// verifyDetails prints a verification result. It never prints the key.
func (c *cli) verifyDetails(res *api.VerifyResponse) error {
	if !res.Valid {
		if _, err := fmt.Fprintf(c.stdout, "invalid: %s\n", res.Code); err != nil {
			return err
		}
		return c.printRateLimits(res.RateLimits)
	}
	fmt.Fprintf(c.stdout, "valid: %s\n", res.Code)
	d := newDetails(c.stdout)
	d.line("Key ID", res.KeyID)
	d.line("Name", res.Name)
	d.line("Keyspace", res.Keyspace)
	d.line("Owner", ownerString(res.Owner))
	d.line("Scopes", orDash(list(res.Scopes)))
	d.line("Expires", optTime(res.ExpiresAt, "never"))
	if res.Remaining != nil {
		d.line("Remaining", fmt.Sprint(*res.Remaining))
	}
	if err := d.flush(); err != nil {
		return err
	}
	return c.printRateLimits(res.RateLimits)
}
