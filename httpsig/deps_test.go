package httpsig

import (
	"go/build"
	"strings"
	"testing"
)

// TestImportsOnlyStdlib fails if a non-test file of the package imports
// anything outside the standard library: httpsig is part of the Go SDK.
func TestImportsOnlyStdlib(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkg.Imports) < 5 {
		t.Fatalf("found only %d imports; is the test looking at the right package?", len(pkg.Imports))
	}
	for _, path := range pkg.Imports {
		first, _, _ := strings.Cut(path, "/")
		p, err := build.Import(path, pkg.Dir, build.FindOnly)
		if err != nil || !p.Goroot || strings.Contains(first, ".") {
			t.Errorf("import %q is not in the standard library (err %v)", path, err)
		}
	}
}

// TestPackageDoc guards the package comment.
func TestPackageDoc(t *testing.T) {
	pkg, err := build.ImportDir(".", build.ImportComment)
	if err != nil {
		t.Fatal(err)
	}
	if pkg.Doc == "" {
		t.Fatal("package httpsig has no doc comment")
	}
}
