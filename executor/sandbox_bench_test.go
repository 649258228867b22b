package executor_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/lathe-ci/lathe/executor"
)

// What a job's sandbox costs to start and end (the step runner up and
// answering, then everything torn down), beside its floor: bwrap, with the
// same namespaces and mounts, running `true`. Compare the two with
// benchstat; the difference is the runner and the teardown's wait.
func BenchmarkSandboxJobStartClose(b *testing.B) {
	ex, spec := benchSandbox(b)
	for b.Loop() {
		job, err := ex.Start(context.Background(), spec)
		if err != nil {
			b.Fatal(err)
		}
		job.Close()
	}
}

func BenchmarkBwrapTrueFloor(b *testing.B) {
	_, spec := benchSandbox(b)
	args := []string{"--die-with-parent", "--new-session", "--unshare-pid", "--unshare-ipc",
		"--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
		"--bind", spec.Workspace, spec.Workspace, "--chdir", spec.Workspace, "/bin/sh", "-c", "true"}
	if os.Geteuid() != 0 {
		args = append([]string{"--unshare-user"}, args...)
	}
	for b.Loop() {
		if out, err := exec.Command("bwrap", args...).CombinedOutput(); err != nil {
			b.Fatalf("%v: %s", err, out)
		}
	}
}

func benchSandbox(b *testing.B) (executor.Executor, executor.Spec) {
	if _, err := executor.FindBwrap(); err != nil {
		b.Skip(err)
	}
	root := b.TempDir()
	os.Chmod(root, 0o755)
	spec := executor.Spec{Workspace: filepath.Join(root, "ws"), Home: filepath.Join(root, "home"), Control: filepath.Join(root, "ctl")}
	for _, d := range []string{spec.Workspace, spec.Home, spec.Control} {
		if err := os.Mkdir(d, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	spec.Env = executor.BaseEnv(spec.Home, nil)
	ex, err := executor.New(executor.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return ex, spec
}
