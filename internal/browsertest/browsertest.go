// Package browsertest gives tests a real, headless Chromium to drive the
// sign-in pages and the console through: tabs with small fill/click/read
// helpers, the cookies as the browser holds them (HttpOnly and SameSite
// included), the console errors and Content Security Policy violations a
// page caused, and a virtual WebAuthn authenticator for passkeys.
//
// The browser is found through LATCHKEY_CHROMIUM, else /usr/bin/chromium,
// else chromium, chromium-browser or google-chrome in PATH. Without one the
// test is skipped loudly, and fails when LATCHKEY_TEST_REQUIRE_SERVICES=1,
// as in CI. Each [New] starts its own browser process with its own
// temporary profile, so tests never share cookies or credentials, and the
// test's cleanup stops the process and every child it started.
//
// CI needs a Chromium (Debian: apt-get install chromium) and nothing else:
// no display, no driver binary; chromedp talks to the browser over a pipe.
// Chromium runs with --no-sandbox because CI runs the tests as root.
package browsertest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Timeout bounds everything one browser does: when it passes, the browser
// is stopped and whatever waits on it fails with the context's error.
const Timeout = 60 * time.Second

// Browser is one headless Chromium process owned by one test.
type Browser struct {
	t         testing.TB
	ctx       context.Context // the first chromedp context; owns the process
	cancel    context.CancelFunc
	allocStop context.CancelFunc
	closeOnce sync.Once
	pid       int
	// home is the browser's XDG_CONFIG_HOME, a directory of this browser
	// alone; every process it starts, including the crash handler that
	// Chromium detaches from itself, names it on its command line.
	home       string
	profileDir string
}

// New starts a headless Chromium for t (see the package comment for how it
// is found) and stops it when t ends.
func New(t testing.TB) *Browser {
	t.Helper()
	path := ExecPath(t)
	// Made before the cleanup below is registered, so removed after it.
	home := t.TempDir()

	// The timeout covers the whole browser; the cleanup below cancels it
	// first, so a passing test never waits for it.
	root, rootCancel := context.WithTimeout(context.Background(), Timeout)
	allocCtx, allocCancel := chromedp.NewExecAllocator(root,
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // the tests run as root in CI containers
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter"),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
		chromedp.Flag("metrics-recording-only", true),
		// Keeps the crash database out of the real ~/.config and marks the
		// crash handler as this browser's, so Close can wait for it.
		chromedp.Env("XDG_CONFIG_HOME="+home),
		// No user-data-dir flag: chromedp then makes a fresh temporary
		// profile, removes it afterwards, and kills any child process that
		// still uses it.
	)
	ctx, cancel := chromedp.NewContext(allocCtx)
	b := &Browser{t: t, ctx: ctx, cancel: cancel, allocStop: func() { allocCancel(); rootCancel() }, home: home}
	t.Cleanup(b.Close)
	if err := chromedp.Do(ctx); err != nil { // starts the process
		t.Fatalf("browsertest: start %s: %v", path, err)
	}
	if p := chromedp.FromContext(ctx).Browser.Process(); p != nil {
		b.pid = p.Pid
		b.profileDir = flagValue(cmdline(p.Pid), "--user-data-dir=")
	}
	return b
}

// Close stops the browser and waits until its process and the processes it
// started have exited and its profile is removed. It is safe to call more
// than once; [New] registers it as a cleanup.
func (b *Browser) Close() {
	b.closeOnce.Do(func() {
		// A graceful Browser.close lets Chromium shut its children down;
		// bound it so a hung browser cannot hold the test. Its error is of
		// no use: a browser that already died has nothing left to close,
		// and what did not close is killed below.
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		_ = chromedp.Cancel(ctx)
		cancel()
		b.cancel()
		b.allocStop() // waits for the allocator: process reaped, profile gone
		if left := reap(b.processes, 5*time.Second); len(left) > 0 {
			b.t.Errorf("browsertest: browser processes %v survived Close and SIGKILL", left)
		}
	})
}

// processes returns the pids of the processes that belong to this browser:
// those naming its home or its profile on their command line.
func (b *Browser) processes() []int {
	marks := []string{b.home}
	if b.profileDir != "" {
		marks = append(marks, b.profileDir)
	}
	return processesMentioning(marks...)
}

// PID returns the process id of the browser's main process, or 0.
func (b *Browser) PID() int { return b.pid }

// ExecPath returns the Chromium to run or ends the test: skipped loudly
// when none is found, failed when LATCHKEY_TEST_REQUIRE_SERVICES=1.
func ExecPath(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("LATCHKEY_CHROMIUM"); p != "" {
		if _, err := exec.LookPath(p); err != nil {
			t.Fatalf("browsertest: LATCHKEY_CHROMIUM=%s: %v", p, err)
		}
		return p
	}
	if p, err := findChromium(); err == nil {
		return p
	}
	const msg = "no Chromium found (LATCHKEY_CHROMIUM, /usr/bin/chromium, chromium, chromium-browser, " +
		"google-chrome): this browser test was NOT RUN (e.g. apt-get install chromium)"
	if os.Getenv("LATCHKEY_TEST_REQUIRE_SERVICES") == "1" {
		t.Fatal(msg + "; LATCHKEY_TEST_REQUIRE_SERVICES=1 requires it")
	}
	t.Skip("SKIPPING: " + msg)
	return ""
}

// candidates are the browsers findChromium tries, in order: a path, then
// names looked up in PATH.
var candidates = []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"}

// findChromium looks for a browser in the usual places.
func findChromium() (string, error) {
	for _, name := range candidates {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no chromium")
}
