package main

import (
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/latchkey/latchkey/apitoken"
	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/leak"
)

// errSecretsFound makes `latchkey scan` exit 1 when it found a secret.
// (the exit code of an invalid key, printing nothing more).
var errSecretsFound = fmt.Errorf("secrets found: %w", errKeyInvalid)

var scanCommand = subcommand{"scan", "[PATH...]", "Find latchkey secrets in files, directories and git history.", `  latchkey scan .
  latchkey scan --git .                  # every commit of every branch, too
  latchkey scan --git --report ~/src/app # revoke what it finds (POST /v1/leaks)`, nil}

// scanResult is one finding as --json prints it (never the secret).
type scanResult struct {
	Path       string `json:"path"`
	Line       int    `json:"line"`
	Commit     string `json:"commit,omitempty"`
	TokenStart string `json:"token_start"`
	Kind       string `json:"kind,omitempty"`
	ID         string `json:"id,omitempty"`
	Reported   bool   `json:"reported,omitempty"`
}

// runScan implements `latchkey scan`: it prints where each secret is, its
// redacted start and — with a management credential (keys:read) — the
// key or app it belongs to, which the server names from the secrets'
// SHA-256 digests (the secrets do not leave this machine unless --report
// sends them to be revoked). It exits 1 when it found any.
func runScan(c *cli, args []string) error {
	f := c.flags("scan", scanCommand)
	withGit := f.Bool("git", false, "also scan the history of the git repositories at PATH (every blob added by any commit of any ref)")
	report := f.Bool("report", false, "report each secret found to the server (POST /v1/leaks), which revokes it")
	paths, err := c.parse(f, args)
	if err != nil {
		return err
	}
	if len(paths) == 0 {
		paths = []string{"."}
	}
	var found []leak.Finding
	collect := func(x leak.Finding) error { found = append(found, x); return nil }
	for _, p := range paths {
		if err := leak.ScanPath(p, collect); err != nil {
			return fmt.Errorf("scan %s: %w", p, err)
		}
		if *withGit {
			if err := leak.ScanGit(c.ctx, p, collect); err != nil {
				return err
			}
		}
	}
	out := make([]scanResult, len(found))
	for i, x := range found {
		out[i] = scanResult{Path: x.Path, Line: x.Line, Commit: x.Commit, TokenStart: x.Token.Start()}
	}
	if err := c.nameFindings(f, found, out); err != nil {
		fmt.Fprintf(c.stderr, "latchkey scan: cannot ask the server which keys these are: %v\n", err)
	}
	if *report {
		if err := c.reportFindings(f, found, out); err != nil {
			return err
		}
	}
	if f.json {
		if err := c.printJSON(out); err != nil {
			return err
		}
	} else if len(found) == 0 {
		fmt.Fprintln(c.stdout, "No latchkey secrets found.")
	} else {
		t := newTable(c.stdout, "LOCATION", "TOKEN", "KIND", "ID", "REPORTED")
		for i, r := range out {
			t.row(found[i].Location(), found[i].Redacted(), r.Kind, r.ID, yesNo(r.Reported))
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	if len(found) > 0 {
		fmt.Fprintf(c.stderr, "latchkey scan: %d secrets found\n", len(found))
		return errSecretsFound
	}
	return nil
}

// hasCredential reports whether a management credential is configured.
func (c *cli) hasCredential(f *cmdFlags) bool {
	return firstNonEmpty(f.tok, c.token, c.getenv("LATCHKEY_TOKEN"), c.getenv("LATCHKEY_TOKEN_FILE")) != ""
}

// nameFindings fills in the kind and ID of each finding the server knows,
// when a credential is configured; it sends digests only.
func (c *cli) nameFindings(f *cmdFlags, found []leak.Finding, out []scanResult) error {
	if len(found) == 0 || !c.hasCredential(f) {
		return nil
	}
	cl, err := c.client(f)
	if err != nil {
		return err
	}
	for start := 0; start < len(found); start += leak.MaxLookup {
		end := min(start+leak.MaxLookup, len(found))
		hashes := make([]string, 0, end-start)
		for _, x := range found[start:end] {
			hashes = append(hashes, apitoken.Hash(x.Token.Reveal()).String())
		}
		res, err := cl.LookupLeaks(c.ctx, hashes)
		if err != nil {
			return err
		}
		for i, it := range res.Items {
			if start+i < end {
				out[start+i].Kind, out[start+i].ID = it.Kind, it.ID
			}
		}
	}
	return nil
}

// reportFindings reports each secret once, with the first place it was
// found as the URL.
func (c *cli) reportFindings(f *cmdFlags, found []leak.Finding, out []scanResult) error {
	base := firstNonEmpty(f.url, c.url, c.getenv("LATCHKEY_URL"), defaultURL)
	cl, err := client.New(base, "", client.WithUserAgent("latchkey-cli/"+version))
	if err != nil {
		return &usageError{msg: err.Error()}
	}
	sent := map[string]bool{}
	for i, x := range found {
		tok := x.Token.Reveal()
		if !sent[tok] {
			if err := cl.ReportLeak(c.ctx, tok, findingURL(x)); err != nil {
				return fmt.Errorf("report %s: %w", x.Redacted(), err)
			}
			sent[tok] = true
		}
		out[i].Reported = true
	}
	return nil
}

// findingURL names where a secret was found: file:///abs/path#L3, or
// git:COMMIT:path#L3 for history.
func findingURL(x leak.Finding) string {
	if x.Commit != "" {
		return "git:" + x.Commit + ":" + x.Path + "#L" + strconv.Itoa(x.Line)
	}
	p, err := filepath.Abs(x.Path)
	if err != nil {
		p = x.Path
	}
	return "file://" + filepath.ToSlash(p) + "#L" + strconv.Itoa(x.Line)
}
