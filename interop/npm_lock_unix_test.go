//go:build unix

package interop_test

import (
	"os"
	"syscall"
)

// lockFile takes an exclusive flock on f, so that two test binaries (go
// test -count, or two checkouts' runs sharing nothing but this directory)
// never run npm ci into the same node_modules at once. The kernel drops
// the lock if the process dies.
func lockFile(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_EX) }

func unlockFile(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
