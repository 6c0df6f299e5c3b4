//go:build !unix

package interop_test

import "os"

// lockFile is a no-op where flock is missing: run one test binary at a time.
func lockFile(*os.File) error { return nil }

func unlockFile(*os.File) error { return nil }
