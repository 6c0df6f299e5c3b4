package main

import (
	"fmt"
	"runtime"
)

// version is the release version. Builds set it with
// -ldflags "-X main.version=v1.2.3".
var version = "dev"

// versionCommand is "latchkey version".
var versionCommand = subcommand{name: "version", summary: "Print the version of latchkey.", examples: "  latchkey version"}

// runVersion prints the version, the Go version and the platform.
func runVersion(c *cli, args []string) error {
	f := c.flags("version", versionCommand)
	if _, err := c.parse(f, args); err != nil {
		return err
	}
	if f.json {
		return c.printJSON(map[string]string{"version": version, "go": runtime.Version(), "platform": runtime.GOOS + "/" + runtime.GOARCH})
	}
	_, err := fmt.Fprintf(c.stdout, "latchkey %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return err
}
