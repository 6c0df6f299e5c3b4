package verify

import (
	"go/build"
	"strings"
	"testing"
)

const module = "github.com/latchkey/latchkey"

// allowed are the latchkey packages the SDK may depend on, directly or
// not (ratelimit's internal GCRA package comes with ratelimit).
var allowed = []string{module + "/api", module + "/client", module + "/httpsig", module + "/dpop", module + "/ratelimit", module + "/ratelimit/internal/"}

// forbidden are server-side packages, listed to make the failure message
// obvious; allowed already excludes them.
var forbidden = []string{"token", "store", "httpapi", "server", "signer", "ratelimit/redisrate", "cmd"}

// TestImportsNothingServerSide walks the transitive imports of package
// verify (without tests) and fails on any server-side package, any other
// latchkey package, and any third-party module other than go-jose.
func TestImportsNothingServerSide(t *testing.T) {
	seen := map[string]bool{}
	var walk func(path, dir string, from string)
	walk = func(path, dir, from string) {
		if seen[path] || path == "C" || path == "unsafe" {
			return
		}
		seen[path] = true
		pkg, err := build.Import(path, dir, 0)
		if err != nil {
			t.Fatalf("import %s (from %s): %v", path, from, err)
		}
		if pkg.Goroot {
			return // standard library
		}
		check(t, pkg.ImportPath, from)
		for _, imp := range pkg.Imports {
			walk(imp, pkg.Dir, pkg.ImportPath)
		}
	}
	walk(module+"/verify", ".", "")
	if len(seen) < 10 {
		t.Fatalf("walked only %d packages", len(seen))
	}
}

func check(t *testing.T, path, from string) {
	t.Helper()
	switch {
	case path == module+"/verify":
		return
	case strings.HasPrefix(path, module+"/"):
		rel := strings.TrimPrefix(path, module+"/")
		for _, f := range forbidden {
			if rel == f || strings.HasPrefix(rel, f+"/") {
				t.Errorf("server-side package %s imported by %s", path, from)
				return
			}
		}
		for _, a := range allowed {
			if path == a || strings.HasSuffix(a, "/") && strings.HasPrefix(path, a) {
				return
			}
		}
		t.Errorf("latchkey package %s imported by %s is not allowed", path, from)
	case strings.HasPrefix(path, "github.com/go-jose/go-jose/v4"):
	default:
		t.Errorf("third-party package %s imported by %s", path, from)
	}
}
