// Command lathe is the Lathe CI/CD server, agent and client in one binary.
package main

import (
	"os"

	"github.com/lathe-ci/lathe/cli"
	"github.com/lathe-ci/lathe/internal/initproc"
)

func main() {
	// As a container's first process, lathe runs as its own child and
	// reaps what is orphaned (see initproc).
	if code, ok := initproc.Supervise(os.Args); ok {
		os.Exit(code)
	}
	os.Exit(cli.Main(os.Args, os.Stdin, os.Stdout, os.Stderr))
}
