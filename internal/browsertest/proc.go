package browsertest

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cmdline returns the arguments of process pid, or nil when it is gone.
// Chromium rewrites the command line of its child processes into one
// space-separated string, so callers match by substring.
func cmdline(pid int) []string {
	raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil || len(raw) == 0 {
		return nil
	}
	return strings.Split(string(bytes.TrimRight(raw, "\x00")), "\x00")
}

// flagValue returns the value of the first argument with prefix, or "".
func flagValue(args []string, prefix string) string {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, prefix); ok {
			return v
		}
	}
	return ""
}

// processesMentioning returns the pids of the live processes whose command
// line contains one of marks.
func processesMentioning(marks ...string) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		line := strings.Join(cmdline(pid), " ")
		for _, m := range marks {
			if m != "" && strings.Contains(line, m) {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// reap waits up to grace for the processes list returns to exit (the crash
// handler leaves a moment after the browser), then kills what is left and
// returns the pids that still live after that.
func reap(list func() []int, grace time.Duration) []int {
	deadline := time.Now().Add(grace)
	for len(list()) > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // polling /proc; there is no exit event for a non-child
	}
	left := list()
	for _, pid := range left {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	if len(left) == 0 {
		return nil
	}
	deadline = time.Now().Add(time.Second)
	for len(list()) > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	return list()
}
