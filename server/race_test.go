//go:build race

package server_test

// raceEnabled reports whether the race detector instruments this build;
// timing measurements mean nothing then.
const raceEnabled = true
