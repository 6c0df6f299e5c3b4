package leak

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/latchkey/latchkey/apitoken"
)

// Finding is a latchkey token found by a scan.
type Finding struct {
	Path   string
	Line   int    // 1-based
	Commit string // the commit that added the line (ScanGit), else ""
	Token  apitoken.Token
}

// Redacted is the token as a scan prints it: its displayable start and an
// ellipsis, never the secret.
func (f Finding) Redacted() string { return f.Token.Start() + "…" }

// Location is "path:line", "commit:path:line" for git history.
func (f Finding) Location() string {
	loc := f.Path + ":" + strconv.Itoa(f.Line)
	if f.Commit != "" {
		loc = f.Commit + ":" + loc
	}
	return loc
}

// bodyLen is the length of a token's part after its prefix's underscore.
const bodyLen = apitoken.SecretLen + apitoken.ChecksumLen

func isBase62(c byte) bool {
	return '0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z'
}

func isPrefixByte(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' }

// FindTokens returns the latchkey tokens in b: an underscore, exactly
// bodyLen base62 characters not followed by another, after a prefix in
// latchkey's format — and a checksum that matches (apitoken.Check), so
// that a random string of the same shape is never reported (one in 62⁶).
// Where several prefixes fit (an underscore inside the prefix, or text
// glued before it), the longest whose checksum matches wins.
func FindTokens(b []byte) []string {
	var out []string
	for i := 0; i+1+bodyLen <= len(b); i++ {
		if b[i] != '_' {
			continue
		}
		end := i + 1
		for end < len(b) && isBase62(b[end]) {
			end++
		}
		if end-i-1 != bodyLen {
			i = end - 1
			continue
		}
		// Walk back over what may be a prefix.
		start := i
		for start > 0 && i-start < apitoken.MaxPrefixLen && isPrefixByte(b[start-1]) {
			start--
		}
		for s := start; s < i; s++ {
			if b[s] < 'a' || b[s] > 'z' || (s > 0 && isPrefixByte(b[s-1]) && b[s-1] != '_') {
				continue
			}
			if tok := string(b[s:end]); apitoken.Check(tok) == apitoken.Valid {
				out = append(out, tok)
				break
			}
		}
		i = end - 1
	}
	return out
}

// ScanReader reports each token in r, line by line, as found at path.
func ScanReader(r io.Reader, path string, fn func(Finding) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	for line := 1; ; line++ {
		b, err := readLine(br)
		for _, tok := range FindTokens(b) {
			if ferr := fn(Finding{Path: path, Line: line, Token: apitoken.FromString(tok)}); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// maxLine bounds a line kept whole; a longer one is read in pieces that
// overlap by a token's length, so no token is lost at a cut.
const maxLine = 1 << 20

// readLine returns the next line without its newline (io.EOF with the last
// one).
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		line = append(line, frag...)
		if errors.Is(err, bufio.ErrBufferFull) && len(line) < maxLine {
			continue
		}
		if err == nil {
			line = line[:len(line)-1]
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			err = nil
		}
		return line, err
	}
}

// ScanPath reports each token in the file or directory tree at root
// (directories named .git are skipped: ScanGit reads history; symbolic
// links are not followed).
func ScanPath(root string, fn func(Finding) error) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" && p != root {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return ScanReader(f, p, fn)
	})
}

// ScanGit reports each token added by any commit reachable from any ref of
// the git repository at dir, with the commit and the line in the file as
// that commit left it. It runs the git binary (git log --all -p).
func ScanGit(ctx context.Context, dir string, fn func(Finding) error) error {
	cmd := exec.CommandContext(ctx, "git", "-C", dir, "-c", "core.quotePath=false", "log", "--all", "-p", "-U0",
		"--no-color", "--no-ext-diff", "--no-textconv", "--no-renames", "--format=commit %H")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("leak: run git: %w", err)
	}
	perr := parseGitLog(out, fn)
	if perr != nil {
		_ = cmd.Process.Kill()
	}
	werr := cmd.Wait()
	if perr != nil {
		return perr
	}
	if werr != nil {
		return fmt.Errorf("leak: git log in %s: %w: %s", dir, werr, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// parseGitLog reads `git log -p -U0 --format="commit %H"` and reports the
// tokens of added lines.
func parseGitLog(r io.Reader, fn func(Finding) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var commit, path string
	line := 0
	for {
		b, err := readLine(br)
		switch {
		case bytes.HasPrefix(b, []byte("commit ")):
			commit, path = string(b[len("commit "):]), ""
		case bytes.HasPrefix(b, []byte("diff --git ")):
			path = ""
		case bytes.HasPrefix(b, []byte("+++ ")):
			// git ends a name holding a space with a tab
			p := strings.TrimSuffix(string(b[4:]), "\t")
			path = strings.TrimPrefix(p, "b/")
			if p == "/dev/null" {
				path = ""
			}
		case bytes.HasPrefix(b, []byte("@@ ")):
			line = hunkStart(b)
		case len(b) > 0 && b[0] == '+' && path != "":
			for _, tok := range FindTokens(b[1:]) {
				if ferr := fn(Finding{Path: path, Line: line, Commit: commit, Token: apitoken.FromString(tok)}); ferr != nil {
					return ferr
				}
			}
			line++
		case len(b) > 0 && b[0] == ' ':
			line++
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// hunkStart returns the first new line number of "@@ -a,b +c,d @@".
func hunkStart(b []byte) int {
	s := string(b)
	i := strings.Index(s, " +")
	if i < 0 {
		return 0
	}
	s = s[i+2:]
	if j := strings.IndexAny(s, ", "); j >= 0 {
		s = s[:j]
	}
	n, _ := strconv.Atoi(s)
	return n
}
