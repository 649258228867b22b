// Command lathe is the Lathe CI/CD server, agent and client in one binary.
package main

import (
	"os"

	"github.com/lathe-ci/lathe/cli"
)

func main() { os.Exit(cli.Main(os.Args, os.Stdin, os.Stdout, os.Stderr)) }
