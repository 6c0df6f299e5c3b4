package leak

import (
	"context"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/apitoken"
)

func newToken(t testing.TB, prefix string) string {
	t.Helper()
	tok, err := apitoken.New(prefix)
	if err != nil {
		t.Fatal(err)
	}
	return tok.Reveal()
}

// lookAlike returns a string of a token's shape with prefix whose checksum
// does not match.
func lookAlike(t testing.TB, prefix string) string {
	t.Helper()
	for {
		s := prefix + "_" + rand.Text() + rand.Text() // 52 base32 characters
		s = s[:len(prefix)+1+bodyLen]
		if apitoken.Check(s) == apitoken.BadChecksum {
			return s
		}
	}
}

// TestLeak_ScanFindsOnlyRealTokens: tokens are found by format and
// checksum, whatever text surrounds them; random strings of the same shape
// never are.
func TestLeak_ScanFindsOnlyRealTokens(t *testing.T) {
	real := newToken(t, "acme_live")
	lk := newToken(t, "lk")
	for name, tt := range map[string]struct {
		text string
		want []string
	}{
		"alone":             {real, []string{real}},
		"env line":          {"ACME_TOKEN=" + real + "\n", []string{real}},
		"quoted json":       {`{"key":"` + real + `","lk":"` + lk + `"}`, []string{real, lk}},
		"glued prefix":      {"xyz_" + real, []string{real}},
		"look-alike":        {lookAlike(t, "acme_live"), nil},
		"one char longer":   {real + "A", nil},
		"one char shorter":  {real[:len(real)-1], nil},
		"typo":              {real[:20] + flip(real[20]) + real[21:], nil},
		"in a url":          {"https://x.example/?token=" + real + "&a=b", []string{real}},
		"two on a line":     {real + " " + lk, []string{real, lk}},
		"underscore prefix": {}, // filled in below
	} {
		t.Run(name, func(t *testing.T) {
			if name == "underscore prefix" {
				tok := newToken(t, "a_b_c")
				tt.text, tt.want = "key: "+tok, []string{tok}
			}
			if got := FindTokens([]byte(tt.text)); !slices.Equal(got, tt.want) {
				t.Errorf("found %d tokens %v, want %d", len(got), redactAll(got), len(tt.want))
			}
		})
	}
	t.Run("random strings", func(t *testing.T) {
		for range 20000 {
			if got := FindTokens([]byte(lookAlike(t, "lk"))); len(got) > 0 {
				t.Fatalf("a random look-alike was reported")
			}
		}
	})
}

func flip(c byte) string {
	if c == 'a' {
		return "b"
	}
	return "a"
}

func redactAll(ts []string) []string {
	out := make([]string, len(ts))
	for i, s := range ts {
		out[i] = apitoken.FromString(s).Start() + "…"
	}
	return out
}

// TestLeak_ScanPath finds tokens in a directory tree with their file and
// line, skipping .git.
func TestLeak_ScanPath(t *testing.T) {
	dir := t.TempDir()
	real := newToken(t, "acme_live")
	write(t, filepath.Join(dir, "config", "app.env"), "A=1\nB=2\nTOKEN="+real+"\n")
	write(t, filepath.Join(dir, "notes.txt"), "nothing here "+lookAlike(t, "acme_live")+"\n")
	write(t, filepath.Join(dir, ".git", "objects", "x"), real)
	var got []Finding
	if err := ScanPath(dir, func(f Finding) error { got = append(got, f); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Path != filepath.Join(dir, "config", "app.env") || got[0].Line != 3 || got[0].Token.Reveal() != real {
		t.Fatalf("findings %v", got)
	}
	if r := got[0].Redacted(); strings.Contains(r, real[len("acme_live_")+4:]) || !strings.HasPrefix(r, "acme_live_") {
		t.Errorf("redacted form %q shows the secret", r)
	}
}

// TestLeak_ScanGitHistory finds a token in a commit that a later commit
// removed, on another branch too, with commit, path and line.
func TestLeak_ScanGitHistory(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is not installed")
	}
	dir := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q", "-b", "main")
	first, second := newToken(t, "acme_live"), newToken(t, "lkcs")
	write(t, filepath.Join(dir, "app.env"), "# config\nTOKEN="+first+"\n")
	git("add", ".")
	git("commit", "-q", "-m", "add config")
	c1 := git("rev-parse", "HEAD")
	write(t, filepath.Join(dir, "app.env"), "# config\nTOKEN=from-env\n")
	git("commit", "-q", "-am", "remove the token")
	git("checkout", "-q", "-b", "feature")
	write(t, filepath.Join(dir, "dir with space", "s.yaml"), "a: 1\nb: 2\nsecret: "+second+"\nx: "+lookAlike(t, "lkcs")+"\n")
	git("add", ".")
	git("commit", "-q", "-m", "feature")
	c3 := git("rev-parse", "HEAD")
	git("checkout", "-q", "main")

	var got []Finding
	if err := ScanGit(context.Background(), dir, func(f Finding) error { got = append(got, f); return nil }); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, func(a, b Finding) int { return strings.Compare(a.Path, b.Path) })
	want := []Finding{
		{Path: "app.env", Line: 2, Commit: c1, Token: apitoken.FromString(first)},
		{Path: "dir with space/s.yaml", Line: 3, Commit: c3, Token: apitoken.FromString(second)},
	}
	if len(got) != len(want) {
		t.Fatalf("%d findings, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Path != w.Path || g.Line != w.Line || g.Commit != w.Commit || g.Token.Reveal() != w.Token.Reveal() {
			t.Errorf("finding %d: %s %s, want %s %s", i, g.Location(), g.Redacted(), w.Location(), w.Redacted())
		}
	}
	if err := ScanGit(context.Background(), t.TempDir(), func(Finding) error { return nil }); err == nil {
		t.Error("ScanGit of a directory that is no repository succeeded")
	}
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}
