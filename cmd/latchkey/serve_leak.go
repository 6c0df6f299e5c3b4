package main

import (
	"flag"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/leak"
	"github.com/latchkey/latchkey/server"
)

// leakFlags are serve's settings for the worker of public leak reports.
type leakFlags struct {
	poll  *time.Duration
	delay time.Duration
}

// addLeakFlags adds --leak-poll. LATCHKEY_TEST_LEAK_WORKER_DELAY (tests
// only, no flag) holds the worker after the start, so that a test can kill
// the process while its reports are still pending.
func addLeakFlags(fs *flag.FlagSet, env func(string) string) (*leakFlags, error) {
	var err error
	parse := func(name, def string) time.Duration {
		v := envOr(env, name, def)
		d, perr := time.ParseDuration(v)
		if perr != nil && err == nil {
			err = fmt.Errorf("%s: %q is not a duration (e.g. 3s)", name, v)
		}
		return d
	}
	f := &leakFlags{}
	f.poll = fs.Duration("leak-poll", parse("LATCHKEY_LEAK_POLL", leak.DefaultPoll.String()),
		"how often each node looks for leak reports kept but not handled by another node, e.g. one that crashed (env LATCHKEY_LEAK_POLL)")
	f.delay = parse("LATCHKEY_TEST_LEAK_WORKER_DELAY", "0s")
	return f, err
}

func (f *leakFlags) apply(cfg *server.Config) error {
	if *f.poll < 10*time.Millisecond {
		return fmt.Errorf("--leak-poll must be at least 10ms")
	}
	cfg.Leaks = server.LeaksConfig{Poll: *f.poll, WorkerDelay: f.delay}
	return nil
}
