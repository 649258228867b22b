// Package executor runs a job's steps as real processes. An Executor starts
// a Job for one attempt (its workspace, home and environment); the job's
// steps run in order inside it, and Close ends whatever they left running.
//
// Three executors exist: Sandbox (the default on agents: every job in its
// own bubblewrap sandbox, as an unprivileged user, seeing only its
// workspace), ShellExecutor (steps run as the agent's user with the agent's
// view of the machine; chosen explicitly by an operator, and reported as
// isolation "none"), and Containers (jobs that name an image run in a
// container of it, through a container engine's API: see Engine). The
// package depends on the domain, the standard library and the engine's
// API client.
package executor

import (
	"context"
	"fmt"
	"os"

	lathe "github.com/lathe-ci/lathe"
)

// Executor starts jobs.
type Executor interface {
	// Start prepares a job whose steps run in spec.Workspace with spec.Env.
	Start(ctx context.Context, spec Spec) (Job, error)
	// Isolation names what keeps a job from the rest of the machine:
	// "sandbox", "container", or "none" for the shell executor.
	Isolation() string
}

// Job runs one attempt's steps, one at a time.
type Job interface {
	// Run runs one step and returns its exit code. When ctx ends first,
	// the step is stopped (SIGTERM, a grace period, SIGKILL) and Run
	// returns ctx's error with exit code -1.
	Run(ctx context.Context, st Step) (int, error)
	// Own gives the job's steps what the agent itself wrote at path
	// (a step action's files), as they own the rest of the workspace.
	Own(path string) error
	// Close ends every process the job's steps started.
	Close()
}

// Spec describes the job an executor starts.
type Spec struct {
	// Workspace is the job's checkout: the only host path a step may write.
	Workspace string
	// Home is a private, empty directory that is the steps' HOME.
	Home string
	// Control is a directory only the executor uses (not the steps).
	Control string
	// ReadOnly lists host paths the steps may read and not change, even
	// inside a directory hidden from them: the git repository the
	// workspace is a worktree of, so git works in the workspace.
	ReadOnly []string
	// Env is the steps' whole environment (see JobEnv).
	Env []string
	// Log, when set, is where the job's output goes: a pipe whose reader
	// keeps the log (the agent's), or a file opened for appending. A step
	// whose Output is this very file writes into it directly; a pipe is
	// made one the steps may open again by name, as /dev/stdout (see
	// output.go).
	Log *os.File
	// Container is the job's image and services (the Containers executor
	// needs it; the others ignore it).
	Container *lathe.JobContainer
	// Attempt is the attempt's ID, which labels what the job makes.
	Attempt int64
	// Fill, when set, fills the empty Workspace (a checkout) during Start.
	// The sandbox runs it while bwrap builds the job's namespaces, which
	// takes about as long as a git checkout; the others run it first.
	// Start returns only once Fill has returned, with the steps owning
	// what it wrote, and fails when it fails (wrapping its error).
	Fill func() error
}

// fill runs spec.Fill, when set, for executors that cannot overlap it.
func fill(spec Spec) error {
	if spec.Fill == nil {
		return nil
	}
	if err := spec.Fill(); err != nil {
		return fmt.Errorf("fill the workspace: %w", err)
	}
	return nil
}

// Step is one command to run.
type Step struct {
	Script string
	// Output receives stdout and stderr, interleaved as written. It is a
	// pipe or a file (opened for appending) rather than a writer so the
	// step's processes write to it directly.
	Output *os.File
}

// Isolation values.
const (
	IsolationSandbox = "sandbox"
	IsolationNone    = "none"
)
