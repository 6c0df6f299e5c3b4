package leak

import (
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

var testPrefixes = append([]Prefix{{"acme_live", "latchkey API key (keyspace acme-live)"}, {"lk", "latchkey management key"}}, BuiltinPrefixes...)

// TestLeak_RulesMatchTokensOnly: every format's pattern for a prefix
// matches that prefix's tokens and not another prefix's, nor a token glued
// into a longer word.
func TestLeak_RulesMatchTokensOnly(t *testing.T) {
	for _, p := range testPrefixes {
		re := regexp.MustCompile(Regex(p.Prefix))
		tok := newToken(t, p.Prefix)
		if got := re.FindString("KEY=" + tok + "\n"); got != tok {
			t.Errorf("%s: pattern finds %q in a line holding a token", p.Prefix, got)
		}
		for _, o := range testPrefixes {
			if o.Prefix != p.Prefix && re.MatchString(newToken(t, o.Prefix)) {
				t.Errorf("%s's pattern matches a %s token", p.Prefix, o.Prefix)
			}
		}
		if re.MatchString("x" + tok) {
			t.Errorf("%s's pattern matches a token glued into a word", p.Prefix)
		}
	}
}

// TestLeak_TrufflehogRulesAreYAML: the trufflehog detectors parse as YAML
// with a name, a keyword and a regular expression each.
func TestLeak_TrufflehogRulesAreYAML(t *testing.T) {
	out, err := Rules(FormatTrufflehog, testPrefixes)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Detectors []struct {
			Name     string            `yaml:"name"`
			Keywords []string          `yaml:"keywords"`
			Regex    map[string]string `yaml:"regex"`
		} `yaml:"detectors"`
	}
	if err := yaml.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(doc.Detectors) != len(testPrefixes) {
		t.Fatalf("%d detectors, want %d", len(doc.Detectors), len(testPrefixes))
	}
	for _, d := range doc.Detectors {
		p := strings.TrimSuffix(d.Keywords[0], "_")
		if d.Regex["token"] != Regex(p) || d.Name != ruleID(p) {
			t.Errorf("detector %+v", d)
		}
	}
}

// TestLeak_GitHubPatterns: one line per prefix, name and pattern.
func TestLeak_GitHubPatterns(t *testing.T) {
	out, err := Rules(FormatGitHub, testPrefixes)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(out, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 3 || !strings.HasPrefix(f[0], "latchkey_") {
			t.Errorf("line %q", line)
			continue
		}
		if _, err := regexp.Compile(f[1]); err != nil {
			t.Errorf("pattern %q: %v", f[1], err)
		}
		n++
	}
	if n != len(testPrefixes) {
		t.Errorf("%d patterns, want %d", n, len(testPrefixes))
	}
	if _, err := Rules("yara", testPrefixes); err == nil {
		t.Error("an unknown format was accepted")
	}
}
