package initproc_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lathe-ci/lathe/internal/lathetest"
)

// asPID1 returns a command that runs the lathe binary with args as the
// first process of a PID namespace of its own (with its own /proc).
func asPID1(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("a PID namespace of its own needs root")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI: unshare (util-linux) is needed: %v", err)
		}
		t.Skip("unshare (util-linux) is not installed")
	}
	return exec.Command(unshare, append([]string{"--pid", "--fork", "--mount-proc", lathetest.Binary(t)}, args...)...)
}

func pipelineDir(t *testing.T, yaml string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ".lathe.yml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// As PID 1, lathe reaps what its steps orphan: the second step finds no
// zombie in the namespace. Without it, the backgrounded sleep, handed to
// PID 1 when its shell ended, stays a zombie. A failing pipeline's exit
// code comes out of PID 1 as lathe gave it.
func TestAsPID1LatheReapsOrphansAndExitsAsItsChild(t *testing.T) {
	dir := pipelineDir(t, `jobs:
  orphan:
    steps:
      - (sleep 0.1 &)
      - sleep 0.5; if grep -l '^[0-9]* ([^)]*) Z' /proc/[0-9]*/stat; then echo zombies; exit 1; fi
`)
	cmd := asPID1(t, "exec", "--dir", dir, "--shared-workspace")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("lathe exec as PID 1: %v\n%s", err, out)
	}

	failing := pipelineDir(t, "jobs:\n  fails:\n    steps: [exit 3]\n")
	out, err := asPID1(t, "exec", "--dir", failing, "--shared-workspace").CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("a failing pipeline as PID 1: %v; want exit status 1\n%s", err, out)
	}
}

// A signal sent to PID 1, as `docker stop` sends SIGTERM, reaches lathe:
// the running step is stopped and lathe exits.
func TestAsPID1LathePassesSignalsOn(t *testing.T) {
	dir := pipelineDir(t, "jobs:\n  long:\n    steps: [echo started; sleep 30]\n")
	cmd := asPID1(t, "exec", "--dir", dir, "--shared-workspace", "--grace", "1s")
	out := &lathetest.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	pid1 := 0
	for deadline := time.Now().Add(10 * time.Second); pid1 == 0 || !strings.Contains(out.String(), "started"); {
		if time.Now().After(deadline) {
			t.Fatalf("the step did not start in 10 s:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/task/" + strconv.Itoa(cmd.Process.Pid) + "/children")
		pid1, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	if err := syscall.Kill(pid1, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	ended := make(chan error, 1)
	go func() { ended <- cmd.Wait() }()
	select {
	case err := <-ended:
		if err == nil {
			t.Fatalf("lathe exec succeeded after SIGTERM:\n%s", out.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("lathe exec still runs 15 s after SIGTERM to PID 1:\n%s", out.String())
	}
}
