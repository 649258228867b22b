// Package cli is the lathe command: the server (`up`, `server`) and the
// client commands that talk to a server's REST API. Every command is a
// cobra command whose body is a function of a context, its arguments and
// its writers, so tests run them in-process.
package cli

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// Env is what a command may touch.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Getenv reads configuration fallbacks (LATHE_*).
	Getenv func(string) string

	lines *bufio.Reader             // Stdin, buffered once for line reads
	lazy  map[*cobra.Command]func() // the flag declarations not made yet
}

// commandTree is every top-level command.
func commandTree(env *Env) []*cobra.Command {
	return []*cobra.Command{
		ownsSignals(upCmd(env)),
		ownsSignals(serverCmd(env)),
		ownsSignals(agentCmd(env)),
		projectCmd(env),
		pipelinesCmd(env),
		storedPipelineCmd(env),
		rolesCmd(env),
		ownsSignals(runCmd(env)),
		runsCmd(env),
		jobsCmd(env),
		statusCmd(env),
		historyCmd(env),
		ownsSignals(logsCmd(env)),
		cancelCmd(env),
		rerunCmd(env),
		gateCmd(env, "approve", "approve a job waiting at its approval gate, so it runs", "approved: queued"),
		gateCmd(env, "reject", "reject a job waiting at its approval gate: it is canceled and its dependents skipped", "rejected: canceled"),
		hooksCmd(env),
		forgeCmd(env),
		loginCmd(env),
		logoutCmd(env),
		userCmd(env),
		tokenCmd(env),
		teamCmd(env),
		agentsCmd(env),
		secretsCmd(env),
		encryptCmd(env),
		sshKeyCmd(env),
		execCmd(env),
		lintCmd(env),
		planCmd(env),
		artifactsCmd(env),
		toolCmd(env),
		semaphoresCmd(env),
		holdCmd(env),
		promoteCmd(env),
		dequeueCmd(env),
		sequenceCmd(env),
		testsCmd(env),
		issuesCmd(env),
		buildsCmd(env),
		statsCmd(env),
		stageCmd(env),
		releaseCmd(env),
		deployCmd(env),
		rollbackCmd(env),
		environmentsCmd(env),
		deploymentsCmd(env),
		envVarsCmd(env),
		versionCmd(env),
	}
}

// Main runs the lathe command and returns its exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	env := &Env{Stdin: stdin, Stdout: stdout, Stderr: stderr, Getenv: os.Getenv}
	root := newRoot(env)
	ctx := context.Background()
	if cmd, _, err := root.Find(args[1:]); err != nil || cmd.Annotations["signals"] != "own" {
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
	}
	return execute(ctx, root, args[1:], env)
}

// Run runs one command line (without the program name).
func Run(ctx context.Context, args []string, env *Env) int {
	return execute(ctx, newRoot(env), args, env)
}

// stdinLines is env.Stdin buffered for reading lines, the same reader for
// every read of one command.
func (env *Env) stdinLines() *bufio.Reader {
	if env.lines == nil {
		env.lines = bufio.NewReader(env.Stdin)
	}
	return env.lines
}
