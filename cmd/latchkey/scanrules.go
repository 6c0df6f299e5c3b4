package main

import (
	"fmt"

	"github.com/latchkey/latchkey/leak"
	"github.com/latchkey/latchkey/oauth"
)

var scannerRulesCommand = subcommand{"scanner-rules", "", "Print secret scanner rules for every keyspace prefix and latchkey's own secrets.", `  latchkey keyspaces scanner-rules > .gitleaks.toml
  latchkey keyspaces scanner-rules --format trufflehog > latchkey-detectors.yaml
  latchkey keyspaces scanner-rules --format github      # patterns for GitHub's partner program`, keyspacesScannerRules}

// keyspacesScannerRules prints the rules of one scanner for the prefixes
// of every keyspace and of latchkey's built-in secrets.
func keyspacesScannerRules(c *cli, f *cmdFlags, args []string) error {
	format := f.String("format", leak.FormatGitleaks, "`format`: gitleaks (TOML), trufflehog (custom detectors YAML) or github (partner program patterns)")
	if _, err := c.parse(f, args); err != nil {
		return err
	}
	switch *format {
	case leak.FormatGitleaks, leak.FormatTrufflehog, leak.FormatGitHub:
	default:
		return usagef("--format must be gitleaks, trufflehog or github")
	}
	cl, err := c.client(f)
	if err != nil {
		return err
	}
	l, err := cl.Keyspaces(c.ctx)
	if err != nil {
		return err
	}
	prefixes := append([]leak.Prefix(nil), leak.BuiltinPrefixes...)
	for _, ks := range l.Items {
		if ks.Name == oauth.GrantKeyspace || ks.Prefix == "" {
			continue // grant keys' secrets are never handed out
		}
		desc := "latchkey API key (keyspace " + ks.Name + ")"
		if ks.Name == oauth.AccessKeyspace {
			desc = "latchkey OAuth access token (opaque)"
		}
		prefixes = append(prefixes, leak.Prefix{Prefix: ks.Prefix, Description: desc})
	}
	rules, err := leak.Rules(*format, prefixes)
	if err != nil {
		return err
	}
	_, err = fmt.Fprint(c.stdout, rules)
	return err
}
