package local

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/lathe-ci/lathe/executor"
	"github.com/lathe-ci/lathe/internal/rmtree"
)

// jobDirs are one attempt's directories: its workspace, the steps' HOME
// and the executor's control directory, as on an agent (agent/job_dirs.go).
type jobDirs struct {
	ws, home, control string
	remove            func()
	// fill checks the source out into the empty workspace; nil when the
	// workspace is the run's directory.
	fill func(ctx context.Context) error
}

// jobDirs makes attempt's directories for job i, with an empty workspace
// that fill checks the source out into (the executor does it while the
// sandbox starts: see executor.Spec.Fill). They live in the run's
// temporary directory, not in the user's, so no tool run in the directory
// trips over them; remove deletes them. In a shared workspace the
// workspace is the directory itself. The shell executor needs neither a
// home (steps keep the user's) nor a control directory, and gets none:
// making directories is most of what a one-step run spends before its
// step.
func (r *run) jobDirs(ctx context.Context, i, attempt int) (jobDirs, error) {
	jd := jobDirs{ws: r.dir, remove: func() {}}
	sandboxed := r.ex.Isolation() != executor.IsolationNone
	if r.opts.SharedWorkspace && !sandboxed {
		return jd, nil
	}
	root, err := attemptDir(i, attempt)
	if err != nil {
		return jd, fmt.Errorf("cannot prepare the job: %w", err)
	}
	jd.remove = func() { rmtree.RemoveAll(root) }
	if !r.opts.SharedWorkspace {
		jd.ws = filepath.Join(root, "ws")
	}
	if sandboxed {
		jd.home, jd.control = filepath.Join(root, "home"), filepath.Join(root, "control")
		err := os.Mkdir(jd.home, 0o700)
		if err == nil {
			err = os.Mkdir(jd.control, 0o755)
		}
		if err == nil {
			// The control directory holds the step scripts the steps'
			// user reads, whatever the umask.
			err = os.Chmod(jd.control, 0o755)
		}
		if err != nil {
			jd.remove()
			return jd, fmt.Errorf("cannot prepare the job: %w", err)
		}
	}
	if r.opts.SharedWorkspace {
		return jd, nil
	}
	if err := os.Mkdir(jd.ws, 0o755); err != nil {
		jd.remove()
		return jd, fmt.Errorf("cannot prepare the job: %w", err)
	}
	// The workspace goes first, with git's record of it when it is a
	// worktree.
	jd.remove = func() {
		if src, err := r.src.get(); err == nil && !src.release(jd.ws) {
			src.unreleased.Store(true)
		}
		rmtree.RemoveAll(root)
	}
	jd.fill = func(ctx context.Context) error {
		src, err := r.src.get()
		if err != nil {
			return err
		}
		return src.checkout(ctx, jd.ws)
	}
	return jd, nil
}

// attemptDir makes the temporary directory of job i's attempt, which holds
// its workspace, home and control directory: one directory per attempt
// rather than one per run holding one per attempt, as every directory made
// counts (about 1 ms each on a busy ext4 without a journal). The job user
// of a sandbox started as root reaches its workspace through it, so it may
// be traversed (but not listed) by anyone.
func attemptDir(i, attempt int) (string, error) {
	d, err := os.MkdirTemp("", "lathe-exec-"+strconv.Itoa(i)+"-"+strconv.Itoa(attempt)+"-")
	if err != nil {
		return "", err
	}
	if err := os.Chmod(d, 0o711); err != nil {
		os.Remove(d)
		return "", err
	}
	return d, nil
}

// start starts an attempt's executor job. The shell executor's job is
// made here without its record of process groups, which only an agent
// that restarts reads: steps still run, and are stopped, the same way.
func (r *run) start(ctx context.Context, spec executor.Spec) (executor.Job, error) {
	if r.ex.Isolation() == executor.IsolationNone {
		if spec.Fill != nil {
			if err := spec.Fill(); err != nil {
				return nil, err
			}
		}
		return &executor.Shell{Grace: r.opts.Grace, Dir: spec.Workspace, Env: spec.Env}, nil
	}
	return r.ex.Start(ctx, spec)
}

// baseEnv is where a job's environment starts. lathe exec runs on the
// user's own machine, so it is the user's own environment, as for the
// commands they type; in the sandbox, where only the workspace and home
// are writable, HOME is the job's own and TMPDIR the sandbox's /tmp.
func (r *run) baseEnv(home string) []string {
	env := os.Environ()
	if r.ex.Isolation() == executor.IsolationNone {
		return env
	}
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "HOME=") && !strings.HasPrefix(kv, "TMPDIR=") {
			out = append(out, kv)
		}
	}
	return append(out, "HOME="+home)
}
