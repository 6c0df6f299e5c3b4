package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"
)

// terminalPassword returns a function that prints a prompt to prompts and
// reads a line from in without echo, or nil when in is not a terminal. An
// interrupt while it reads restores the terminal's echo before the process
// exits.
func terminalPassword(in *os.File, prompts io.Writer) func(string) (string, error) {
	fd := int(in.Fd())
	if !term.IsTerminal(fd) {
		return nil
	}
	return func(prompt string) (string, error) {
		state, err := term.GetState(fd)
		if err != nil {
			return "", err
		}
		sig := make(chan os.Signal, 1)
		done := make(chan struct{})
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		go func() {
			select {
			case <-sig:
				term.Restore(fd, state)
				fmt.Fprintln(prompts)
				os.Exit(exitFailure)
			case <-done:
			}
		}()
		defer func() {
			signal.Stop(sig)
			close(done)
		}()
		fmt.Fprint(prompts, prompt)
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(prompts) // the Enter was not echoed
		return string(b), err
	}
}
