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

// topLevel is every top-level command, by the name a command line gives
// it, with how to build it: Main builds only the one a line names (see
// newRoot), the whole tree when the line names none of them (help,
// completion, a typo that needs "did you mean").
var topLevel = []struct {
	name string
	make func(env *Env) *cobra.Command
}{
	{"up", func(env *Env) *cobra.Command { return ownsSignals(upCmd(env)) }},
	{"server", func(env *Env) *cobra.Command { return ownsSignals(serverCmd(env)) }},
	{"agent", func(env *Env) *cobra.Command { return ownsSignals(agentCmd(env)) }},
	{"project", func(env *Env) *cobra.Command { return projectCmd(env) }},
	{"pipelines", func(env *Env) *cobra.Command { return pipelinesCmd(env) }},
	{"stored-pipeline", func(env *Env) *cobra.Command { return storedPipelineCmd(env) }},
	{"roles", func(env *Env) *cobra.Command { return rolesCmd(env) }},
	{"run", func(env *Env) *cobra.Command { return ownsSignals(runCmd(env)) }},
	{"runs", func(env *Env) *cobra.Command { return runsCmd(env) }},
	{"jobs", func(env *Env) *cobra.Command { return jobsCmd(env) }},
	{"status", func(env *Env) *cobra.Command { return statusCmd(env) }},
	{"job", func(env *Env) *cobra.Command { return jobCmd(env) }},
	{"whoami", func(env *Env) *cobra.Command { return whoamiCmd(env) }},
	{"history", func(env *Env) *cobra.Command { return historyCmd(env) }},
	{"logs", func(env *Env) *cobra.Command { return ownsSignals(logsCmd(env)) }},
	{"cancel", func(env *Env) *cobra.Command { return cancelCmd(env) }},
	{"rerun", func(env *Env) *cobra.Command { return rerunCmd(env) }},
	{"approve", func(env *Env) *cobra.Command {
		return gateCmd(env, "approve", "approve a job waiting at its approval gate, so it runs", "approved: queued")
	}},
	{"reject", func(env *Env) *cobra.Command {
		return gateCmd(env, "reject", "reject a job waiting at its approval gate: it is canceled and its dependents skipped", "rejected: canceled")
	}},
	{"hooks", func(env *Env) *cobra.Command { return hooksCmd(env) }},
	{"forge", func(env *Env) *cobra.Command { return forgeCmd(env) }},
	{"login", func(env *Env) *cobra.Command { return loginCmd(env) }},
	{"logout", func(env *Env) *cobra.Command { return logoutCmd(env) }},
	{"user", func(env *Env) *cobra.Command { return userCmd(env) }},
	{"token", func(env *Env) *cobra.Command { return tokenCmd(env) }},
	{"team", func(env *Env) *cobra.Command { return teamCmd(env) }},
	{"agents", func(env *Env) *cobra.Command { return agentsCmd(env) }},
	{"secrets", func(env *Env) *cobra.Command { return secretsCmd(env) }},
	{"encrypt", func(env *Env) *cobra.Command { return encryptCmd(env) }},
	{"ssh-key", func(env *Env) *cobra.Command { return sshKeyCmd(env) }},
	{"exec", func(env *Env) *cobra.Command { return execCmd(env) }},
	{"lint", func(env *Env) *cobra.Command { return lintCmd(env) }},
	{"plan", func(env *Env) *cobra.Command { return planCmd(env) }},
	{"artifacts", func(env *Env) *cobra.Command { return artifactsCmd(env) }},
	{"tool", func(env *Env) *cobra.Command { return toolCmd(env) }},
	{"semaphores", func(env *Env) *cobra.Command { return semaphoresCmd(env) }},
	{"hold", func(env *Env) *cobra.Command { return holdCmd(env) }},
	{"promote", func(env *Env) *cobra.Command { return promoteCmd(env) }},
	{"dequeue", func(env *Env) *cobra.Command { return dequeueCmd(env) }},
	{"sequence", func(env *Env) *cobra.Command { return sequenceCmd(env) }},
	{"tests", func(env *Env) *cobra.Command { return testsCmd(env) }},
	{"issues", func(env *Env) *cobra.Command { return issuesCmd(env) }},
	{"builds", func(env *Env) *cobra.Command { return buildsCmd(env) }},
	{"stats", func(env *Env) *cobra.Command { return statsCmd(env) }},
	{"stage", func(env *Env) *cobra.Command { return stageCmd(env) }},
	{"release", func(env *Env) *cobra.Command { return releaseCmd(env) }},
	{"deploy", func(env *Env) *cobra.Command { return deployCmd(env) }},
	{"rollback", func(env *Env) *cobra.Command { return rollbackCmd(env) }},
	{"environments", func(env *Env) *cobra.Command { return environmentsCmd(env) }},
	{"deployments", func(env *Env) *cobra.Command { return deploymentsCmd(env) }},
	{"envvars", func(env *Env) *cobra.Command { return envVarsCmd(env) }},
	{"environment", func(env *Env) *cobra.Command { return environmentCmd(env) }},
	{"webhook", func(env *Env) *cobra.Command { return webhookCmd(env) }},
	{"statuses", func(env *Env) *cobra.Command { return statusesCmd(env) }},
	{"branch", func(env *Env) *cobra.Command { return branchCmd(env) }},
	{"schedule", func(env *Env) *cobra.Command { return scheduleCmd(env) }},
	{"events", func(env *Env) *cobra.Command { return eventsCmd(env) }},
	{"config-errors", func(env *Env) *cobra.Command { return configErrorsCmd(env) }},
	{"caches", func(env *Env) *cobra.Command { return cachesCmd(env) }},
	{"test-case", func(env *Env) *cobra.Command { return testCaseCmd(env) }},
	{"version", func(env *Env) *cobra.Command { return versionCmd(env) }},
}

// commandTree is every top-level command.
func commandTree(env *Env) []*cobra.Command {
	cmds := make([]*cobra.Command, len(topLevel))
	for i, c := range topLevel {
		cmds[i] = c.make(env)
	}
	return cmds
}

// commandFor is the top-level command args[0] names, alone; nil when it
// names none (a flag, help, a typo).
func commandFor(env *Env, args []string) *cobra.Command {
	if len(args) == 0 {
		return nil
	}
	for _, c := range topLevel {
		if c.name == args[0] {
			return c.make(env)
		}
	}
	return nil
}

// Main runs the lathe command and returns its exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	env := &Env{Stdin: stdin, Stdout: stdout, Stderr: stderr, Getenv: os.Getenv}
	args = append(args[:1:1], versionAsCommand(args[1:])...)
	root := newRoot(env, args[1:])
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
	args = versionAsCommand(args)
	return execute(ctx, newRoot(env, args), args, env)
}

// stdinLines is env.Stdin buffered for reading lines, the same reader for
// every read of one command.
func (env *Env) stdinLines() *bufio.Reader {
	if env.lines == nil {
		env.lines = bufio.NewReader(env.Stdin)
	}
	return env.lines
}

// versionAsCommand reads `lathe --version FLAGS…` as `lathe version FLAGS…`,
// so that the flags `version` takes (--server, --token) work after either.
func versionAsCommand(args []string) []string {
	if len(args) > 1 && args[0] == "--version" {
		return append([]string{"version"}, args[1:]...)
	}
	return args
}
