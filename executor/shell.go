package executor

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/lathe-ci/lathe/internal/childwait"
)

// ShellExecutor runs steps as the agent's own user, with the agent's view
// of the machine: no isolation at all. Operators choose it explicitly.
type ShellExecutor struct {
	// Grace is how long a canceled step's process group has between SIGTERM and SIGKILL.
	Grace time.Duration
}

// Start returns a Shell for the job.
func (e ShellExecutor) Start(_ context.Context, spec Spec) (Job, error) {
	if err := fill(spec); err != nil {
		return nil, err
	}
	return &Shell{Grace: e.Grace, Dir: spec.Workspace, Env: spec.Env, Record: filepath.Join(spec.Control, groupsFile)}, nil
}

// Isolation is "none".
func (ShellExecutor) Isolation() string { return IsolationNone }

// Shell runs a job's steps with /bin/sh -e -c in Dir. Each step gets its
// own process group, so stopping a step stops everything it started; the
// group is signalled with SIGTERM, given a grace period, then killed.
type Shell struct {
	// Grace is how long a canceled step's process group has between SIGTERM and SIGKILL.
	Grace time.Duration
	// Dir is where steps run, Env their whole environment.
	Dir string
	Env []string
	// Record, when set, is a file the process groups of steps are
	// written to, for KillRecorded after the agent was killed.
	Record string

	mu     sync.Mutex
	groups []int // process groups started, killed by Close
}

// Run runs the step and returns its exit code. When ctx ends first, the
// step's process group is stopped and Run returns ctx's error with exit code -1.
func (s *Shell) Run(ctx context.Context, st Step) (int, error) {
	out, closeOut, err := stepOutput(st.Output)
	if err != nil {
		return -1, err
	}
	defer closeOut() // the step's processes hold their own copies
	cmd := exec.Command("/bin/sh", "-e", "-c", st.Script)
	cmd.Dir, cmd.Env = s.Dir, s.Env
	// The log (its pipe, or the file) is the step's stdout and stderr: no
	// copying here, and output from processes the step leaves in the
	// background still lands in the log until the job ends.
	cmd.Stdout, cmd.Stderr = out, out
	// A step dies with the agent's thread that started it; its group is
	// also killed by Close, and by an agent that restarts (see Groups).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return -1, fmt.Errorf("start step: %w", err)
	}
	pgid := cmd.Process.Pid
	if s.Record != "" {
		if err := recordGroup(s.Record, pgid); err != nil {
			syscall.Kill(-pgid, syscall.SIGKILL)
			cmd.Wait()
			return -1, fmt.Errorf("record the step's process group: %w", err)
		}
	}
	s.mu.Lock()
	s.groups = append(s.groups, pgid)
	s.mu.Unlock()

	done := make(chan error, 1)
	go func() { done <- childwait.Wait(cmd) }()
	select {
	case err := <-done:
		return exitCode(err)
	case <-ctx.Done():
		s.stopGroup(pgid, done)
		return -1, ctx.Err()
	}
}

// stopGroup sends SIGTERM to the group, waits for the step's shell to exit
// or the grace period to pass, then SIGKILLs the whole group. It returns
// once the shell and every process left in its group are gone (processes
// the step orphaned are reaped by init), or after a bounded wait, so a
// caller that sees Run return can rely on nothing of the step running.
func (s *Shell) stopGroup(pgid int, done <-chan error) {
	syscall.Kill(-pgid, syscall.SIGTERM)
	t := time.NewTimer(s.grace())
	defer t.Stop()
	exited := false
	select {
	case <-done:
		exited = true
	case <-t.C:
	}
	syscall.Kill(-pgid, syscall.SIGKILL)
	deadline := time.NewTimer(5 * time.Second)
	defer deadline.Stop()
	// done delivers once: wait on it only if the shell has not exited.
	if !exited {
		select {
		case <-done:
		case <-deadline.C:
			return
		}
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for syscall.Kill(-pgid, 0) == nil {
		select {
		case <-tick.C:
		case <-deadline.C:
			return
		}
	}
}

// Own does nothing: steps run as the agent's user.
func (s *Shell) Own(string) error { return nil }

func (s *Shell) grace() time.Duration {
	if s.Grace > 0 {
		return s.Grace
	}
	return 10 * time.Second
}

// Close kills every process group the job's steps started (processes
// steps left running in the background live until the job ends).
func (s *Shell) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.groups {
		syscall.Kill(-g, syscall.SIGKILL)
	}
	s.groups = nil
}

func exitCode(err error) (int, error) {
	if err == nil {
		return 0, nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return ee.ExitCode(), nil
	}
	return -1, err
}
