package browsertest

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// endTB records how a helper ended the test instead of ending it.
type endTB struct {
	testing.TB
	how, msg string
}

func (e *endTB) Helper() {}

func (e *endTB) end(how string, args ...any) {
	e.how, e.msg = how, fmt.Sprint(args...)
	runtime.Goexit()
}

func (e *endTB) Fatal(args ...any)                 { e.end("fatal", args...) }
func (e *endTB) Fatalf(format string, args ...any) { e.end("fatal", fmt.Sprintf(format, args...)) }
func (e *endTB) Skip(args ...any)                  { e.end("skip", args...) }

// execPath runs ExecPath on a recording TB and reports the path it
// returned, or how it ended the test.
func execPath(t *testing.T) (path, how, msg string) {
	e := &endTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		path = ExecPath(e)
	}()
	<-done
	return path, e.how, e.msg
}

func TestExecPath(t *testing.T) {
	tests := []struct {
		name       string
		chromium   string   // LATCHKEY_CHROMIUM
		require    string   // LATCHKEY_TEST_REQUIRE_SERVICES
		candidates []string // nil: keep the real list
		wantHow    string   // "" when a path is returned
		wantMsg    string
	}{
		{name: "env names a missing browser", chromium: "/nonexistent/chromium", wantHow: "fatal", wantMsg: "LATCHKEY_CHROMIUM"},
		{name: "env names a browser", chromium: "/bin/sh"},
		{name: "none found, local run skips", candidates: []string{"/nonexistent/chromium"}, wantHow: "skip", wantMsg: "NOT RUN"},
		{name: "none found, CI fails", require: "1", candidates: []string{"/nonexistent/chromium"}, wantHow: "fatal", wantMsg: "LATCHKEY_TEST_REQUIRE_SERVICES=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("LATCHKEY_CHROMIUM", tt.chromium)
			t.Setenv("LATCHKEY_TEST_REQUIRE_SERVICES", tt.require)
			if tt.candidates != nil {
				old := candidates
				candidates = tt.candidates
				t.Cleanup(func() { candidates = old })
			}
			path, how, msg := execPath(t)
			if how != tt.wantHow || !strings.Contains(msg, tt.wantMsg) {
				t.Fatalf("ExecPath ended with %q %q, want %q containing %q", how, msg, tt.wantHow, tt.wantMsg)
			}
			if how == "" && path != tt.chromium {
				t.Errorf("ExecPath = %q, want %q", path, tt.chromium)
			}
		})
	}
}
