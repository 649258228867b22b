package executor_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lathe-ci/lathe/executor"
)

// fillSpec is a sandbox job's spec in a fresh directory, with an empty
// workspace, and a log steps write into.
func fillSpec(t *testing.T) (executor.Executor, executor.Spec, *os.File) {
	t.Helper()
	if _, err := executor.FindBwrap(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	root := t.TempDir()
	os.Chmod(root, 0o755)
	spec := executor.Spec{Workspace: filepath.Join(root, "ws"), Home: filepath.Join(root, "home"), Control: filepath.Join(root, "ctl")}
	for _, d := range []string{spec.Workspace, spec.Home, spec.Control} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	spec.Env = executor.BaseEnv(spec.Home, nil)
	log, err := os.OpenFile(filepath.Join(root, "log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	spec.Log = log
	ex, err := executor.New(executor.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return ex, spec, log
}

// What Fill writes into the workspace while the sandbox starts is there
// for the first step, and the steps own it (they may change and delete it,
// also when the agent runs as root and steps as the job user).
func TestSandboxStepsSeeAndOwnWhatFillWrote(t *testing.T) {
	ex, spec, log := fillSpec(t)
	spec.Fill = func() error {
		if err := os.MkdirAll(filepath.Join(spec.Workspace, "src"), 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(spec.Workspace, "src", "main.txt"), []byte("checked out\n"), 0o644)
	}
	job, err := ex.Start(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	defer job.Close()
	code, out := run(t, job, log, "cat src/main.txt && echo more >> src/main.txt && rm -r src && echo owned")
	if code != 0 || !strings.Contains(out, "checked out") || !strings.Contains(out, "owned") {
		t.Errorf("step = %d\n%s", code, out)
	}
}

// A Fill that fails fails Start with its error, once Fill has returned.
func TestSandboxFillFailureFailsStart(t *testing.T) {
	ex, spec, _ := fillSpec(t)
	boom := errors.New("no such commit")
	spec.Fill = func() error { return boom }
	job, err := ex.Start(context.Background(), spec)
	if !errors.Is(err, boom) {
		if job != nil {
			job.Close()
		}
		t.Fatalf("Start = %v; want %v", err, boom)
	}
}
