// Package executor runs a job's steps as real processes. The shell executor
// gives each step its own process group, so stopping a step stops everything
// it started; the group is signalled with SIGTERM, given a grace period, then
// killed.
package executor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Shell runs steps with /bin/sh -e -c in the job's workspace.
type Shell struct {
	// Grace is how long a canceled step's process group has between SIGTERM and SIGKILL.
	Grace time.Duration

	mu     sync.Mutex
	groups []int // process groups started, killed by Cleanup
}

// Step is one command to run.
type Step struct {
	Script string
	Dir    string
	Env    []string
	// Output receives stdout and stderr, interleaved as written. It is a
	// file (opened for appending) rather than a writer so the step's
	// processes write to it directly.
	Output *os.File
}

// Run runs the step and returns its exit code. When ctx ends first, the
// step's process group is stopped and Run returns ctx's error with exit code -1.
func (s *Shell) Run(ctx context.Context, st Step) (int, error) {
	cmd := exec.Command("/bin/sh", "-e", "-c", st.Script)
	cmd.Dir, cmd.Env = st.Dir, st.Env
	// The log file itself is the step's stdout and stderr: no pipe to drain,
	// and output from processes the step leaves in the background still
	// lands in the log until the job ends.
	cmd.Stdout, cmd.Stderr = st.Output, st.Output
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return -1, fmt.Errorf("start step: %w", err)
	}
	pgid := cmd.Process.Pid
	s.mu.Lock()
	s.groups = append(s.groups, pgid)
	s.mu.Unlock()

	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
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

func (s *Shell) grace() time.Duration {
	if s.Grace > 0 {
		return s.Grace
	}
	return 10 * time.Second
}

// Cleanup kills every process group the job's steps started (processes
// steps left running in the background live until the job ends).
func (s *Shell) Cleanup() {
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
