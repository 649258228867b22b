// Package cli is the lathe command: the server (`up`, `server`) and the
// client commands that talk to a server's REST API. Every command is a
// function of a context, its arguments and its writers, so tests run them
// in-process.
package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, env *Env) int
}

// Env is what a command may touch.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Getenv reads configuration fallbacks (LATHE_*).
	Getenv func(string) string
}

var commands = map[string]command{
	"up":        {"run a server on SQLite with embedded agents (the quickstart)", cmdUp},
	"server":    {"run a server (SQLite or PostgreSQL)", cmdServer},
	"project":   {"manage projects: create, list, get, update, delete", cmdProject},
	"pipelines": {"show the pipelines of a project at a ref", cmdPipelines},
	"run":       {"trigger a run of a project's pipeline (--follow to watch it)", cmdRun},
	"runs":      {"list runs", cmdRuns},
	"status":    {"show a run with its stages and jobs", cmdStatus},
	"logs":      {"print a run's logs (-f to follow live)", cmdLogs},
	"cancel":    {"cancel a run (or a job with --job)", cmdCancel},
	"rerun":     {"re-run a run as a new run (--failed: only its failed jobs; --job: one job)", cmdRerun},
	"approve":   {"approve a job waiting at its approval gate, so it runs", cmdApprove},
	"hooks":     {"manage a project's webhook tokens (POST /api/v1/hooks/TOKEN starts push and webhook runs)", cmdHooks},
	"reject":    {"reject a job waiting at its approval gate: it is canceled and its dependents skipped", cmdReject},
	"login":     {"log in with a username and password; later commands use the session", cmdLogin},
	"user":      {"manage users and service accounts: create, list, update, passwd", cmdUser},
	"agent":     {"run an agent for a server: registers with --token, then runs jobs (SIGTERM drains)", cmdAgent},
	"agents":    {"manage agents, agent groups and registration tokens", cmdAgents},
	"secrets":   {"manage secrets (set, list, get, delete; reencrypt after a key rotation)", cmdSecrets},
	"encrypt":   {"encrypt a value with a project's public key for its pipeline file", cmdEncrypt},
	"exec":      {"run a pipeline from this directory on this machine, with no server", cmdExec},
	"lint":      {"check pipeline files (.lathe.yml, .lathe/*.yml or FILE...) and report errors and warnings", cmdLint},
	"plan":      {"show the jobs a run of a pipeline would get, after matrix, conditions and extends, without running it", cmdPlan},
	"artifacts": {"list a run's artifacts, or download them (get RUN [PATH] [-o DIR])", cmdArtifacts},
	// Kraken's tools: reusable, versioned steps (`uses: NAME@VERSION`).
	"tool": {"publish (push DIR), list or delete reusable tools that steps run with uses: NAME@VERSION", cmdTool},

	// Zuul's semaphores and autohold.
	"semaphores": {"show a project's semaphores: their limits, holders and waiters", cmdSemaphores},
	"hold":       {"keep the workspaces of a job's next failures for inspection: create, list, get, delete", cmdHold},
	// Zuul's queue control (enqueue is `run --pr`) and Kraken's sequences.
	"promote":  {"move a run to the front of its pipeline's queue", cmdPromote},
	"dequeue":  {"cancel the queued and running runs of a ref (--ref) or a pull request (--pr)", cmdDequeue},
	"sequence": {"show or set (--next) the number a pipeline's next run takes (--branch: a branch's)", cmdSequence},

	// Results: Kraken's test results and run issues, Zuul's builds search and build times.
	"tests":  {"show a run's test results: totals, new failures, fixes, instability (filters as flags)", cmdTests},
	"issues": {"show a run's issues (SARIF or compiler findings), new ones marked +", cmdIssues},
	"builds": {"search finished jobs across runs by project, pipeline, job, branch, result, agent, duration, time", cmdBuilds},
	"stats":  {"show a project's run counts and durations (--job: that job's build times and percentiles)", cmdStats},
	"stage":  {"set an external stage's status (set STAGE STATUS) or delete a finished run's stage", cmdStage},

	// Releases and deployments (Aviator's release API, the CD half).
	"release":      {"manage release candidates: create, list, get, final; promote what runs in an environment to the next", cmdRelease},
	"deploy":       {"deploy a release candidate to an environment (PROJECT ENV VERSION-rcN)", cmdDeploy},
	"rollback":     {"deploy an environment's previous successful candidate again (PROJECT ENV)", cmdRollback},
	"environments": {"show what runs where: each environment of a project with its current version", cmdEnvironments},
	"envvars":      {"manage an environment's variables and secrets (list, set, delete): only its deploy jobs get them", cmdEnvVars},
}

// ownSignals names the commands that handle SIGINT and SIGTERM themselves
// (agents and servers drain on the first and hand running jobs back on the
// second), so Main does not turn the first signal into a canceled context for them.
var ownSignals = map[string]bool{"agent": true, "up": true, "server": true}

// Main runs the lathe command and returns its exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx := context.Background()
	if len(args) < 2 || !ownSignals[args[1]] {
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
	}
	return Run(ctx, args[1:], &Env{Stdin: stdin, Stdout: stdout, Stderr: stderr, Getenv: os.Getenv})
}

// Run runs one command line (without the program name).
func Run(ctx context.Context, args []string, env *Env) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(env.Stdout)
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(env.Stderr, "lathe: unknown command %q\n\n", args[0])
		usage(env.Stderr)
		return 2
	}
	return c.run(ctx, args[1:], env)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Lathe — CI/CD server\n\nUsage: lathe COMMAND [flags] [args]\n\nCommands:")
	var names []string
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'lathe COMMAND -h' for a command's flags.")
}
