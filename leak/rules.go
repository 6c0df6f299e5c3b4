package leak

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Prefix is a token prefix to write scanner rules for.
type Prefix struct {
	Prefix      string // e.g. "acme_live"
	Description string // e.g. "latchkey API key (keyspace acme-live)"
}

// BuiltinPrefixes are the prefixes of latchkey's own secrets beside the
// keyspaces' (client secrets, refresh tokens, opaque access tokens,
// request-signing secrets).
var BuiltinPrefixes = []Prefix{
	{"lkcs", "latchkey OAuth client secret"},
	{"lkr", "latchkey OAuth refresh token"},
	{"lka", "latchkey OAuth access token (opaque)"},
	{"lkss", "latchkey request-signing secret"},
}

// Rule formats.
const (
	FormatGitleaks   = "gitleaks"
	FormatTrufflehog = "trufflehog"
	FormatGitHub     = "github"
)

// Regex returns the regular expression of tokens with prefix (RE2 syntax,
// which gitleaks, trufflehog and GitHub accept): the prefix, an underscore
// and 49 base62 characters, between word boundaries. A regular expression
// cannot check the CRC32 checksum; latchkey scan and the server do.
func Regex(prefix string) string {
	return `\b` + regexp.QuoteMeta(prefix) + `_[0-9A-Za-z]{` + strconv.Itoa(bodyLen) + `}\b`
}

// MinEntropy is the Shannon entropy (bits per character) below which a
// gitleaks match is dropped: a real token's is near 5, a placeholder such
// as acme_live_xxxx… is far lower.
const MinEntropy = 3.5

// ruleID turns a prefix into a rule identifier: latchkey-acme-live.
func ruleID(prefix string) string { return "latchkey-" + strings.ReplaceAll(prefix, "_", "-") }

// Rules writes the rules of format for prefixes (sorted, duplicates
// dropped): gitleaks TOML, trufflehog custom detector YAML, or the
// patterns to send to GitHub's secret scanning partner program.
func Rules(format string, prefixes []Prefix) (string, error) {
	ps := slices.Clone(prefixes)
	slices.SortFunc(ps, func(a, b Prefix) int { return strings.Compare(a.Prefix, b.Prefix) })
	ps = slices.CompactFunc(ps, func(a, b Prefix) bool { return a.Prefix == b.Prefix })
	var sb strings.Builder
	switch format {
	case FormatGitleaks:
		sb.WriteString("# gitleaks rules for latchkey secrets (latchkey keyspaces scanner-rules --format gitleaks).\n")
		sb.WriteString("# Use with: gitleaks detect --config latchkey.toml  (or [extend] a config of your own)\n")
		sb.WriteString("title = \"latchkey\"\n")
		for _, p := range ps {
			fmt.Fprintf(&sb, "\n[[rules]]\nid = %s\ndescription = %s\nregex = '''%s'''\nentropy = %.1f\nkeywords = [%s]\n",
				strconv.Quote(ruleID(p.Prefix)), strconv.Quote(p.Description), Regex(p.Prefix), MinEntropy, strconv.Quote(p.Prefix+"_"))
		}
	case FormatTrufflehog:
		sb.WriteString("# trufflehog custom detectors for latchkey secrets (latchkey keyspaces scanner-rules --format trufflehog).\n")
		sb.WriteString("# Use with: trufflehog filesystem --config latchkey.yaml .\n")
		sb.WriteString("detectors:\n")
		for _, p := range ps {
			fmt.Fprintf(&sb, "  - name: %s\n    keywords:\n      - %s\n    regex:\n      token: %s\n",
				strconv.Quote(ruleID(p.Prefix)), strconv.Quote(p.Prefix+"_"), yamlSingle(Regex(p.Prefix)))
		}
	case FormatGitHub:
		sb.WriteString("# Secret formats for GitHub's secret scanning partner program: send each\n")
		sb.WriteString("# type's name and pattern to GitHub, with POST <issuer>/v1/leaks/github as\n")
		sb.WriteString("# the alert URL. Every token also carries a CRC32 checksum (last 6 characters).\n")
		for _, p := range ps {
			fmt.Fprintf(&sb, "%s\t%s\t# %s\n", strings.ReplaceAll(ruleID(p.Prefix), "-", "_"), Regex(p.Prefix), p.Description)
		}
	default:
		return "", fmt.Errorf("unknown format %q: want gitleaks, trufflehog or github", format)
	}
	return sb.String(), nil
}

// yamlSingle quotes s as a YAML single-quoted scalar.
func yamlSingle(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
