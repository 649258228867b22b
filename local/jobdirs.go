package local

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/lathe-ci/lathe/executor"
)

// jobDirs are one attempt's directories: its workspace, the steps' HOME
// and the executor's control directory, as on an agent (agent/job_dirs.go).
type jobDirs struct {
	ws, home, control string
	remove            func()
}

// jobDirs makes attempt's directories for job i, checking the source out
// into its workspace. They live in the run's temporary directory, not in
// the user's, so no tool run in the directory trips over them; remove
// deletes them. In a shared workspace the workspace is the directory
// itself.
func (r *run) jobDirs(ctx context.Context, i, attempt int) (jobDirs, error) {
	root := filepath.Join(r.tmp, strconv.Itoa(i)+"-"+strconv.Itoa(attempt))
	jd := jobDirs{ws: filepath.Join(root, "ws"), home: filepath.Join(root, "home"), control: filepath.Join(root, "control")}
	jd.remove = func() { os.RemoveAll(root) }
	for _, d := range []string{jd.home, jd.control} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return jd, fmt.Errorf("cannot prepare the job: %w", err)
		}
	}
	// The control directory holds the step scripts the steps' user reads.
	if err := os.Chmod(jd.control, 0o755); err != nil {
		return jd, fmt.Errorf("cannot prepare the job: %w", err)
	}
	if r.opts.SharedWorkspace {
		jd.ws = r.dir
		return jd, nil
	}
	if err := r.src.checkout(ctx, jd.ws); err != nil {
		jd.remove()
		return jd, fmt.Errorf("cannot prepare the job's workspace: %w", err)
	}
	return jd, nil
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
