package proxy

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeRouteFile parses the route file shown in the README, so the
// front door never shows a file the gateway refuses.
func TestReadmeRouteFile(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "cat > routes.yaml <<'YAML'\n")
	yaml, _, ok2 := strings.Cut(rest, "\nYAML\n")
	if !ok || !ok2 {
		t.Fatal("README has no routes.yaml example")
	}
	rs, err := Parse([]byte(yaml))
	if err != nil {
		t.Fatalf("README's route file: %v", err)
	}
	if len(rs) != 3 || rs[1].Scope == "" || len(rs[1].RateLimits) != 1 || !rs[2].Anonymous {
		t.Errorf("README's route file parsed as %+v", rs)
	}
}
