package executor_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lathe-ci/lathe/executor"
)

// A canceled step returns once its shell and everything it started are
// gone: without waiting out the grace period when the shell exits on
// SIGTERM, and with nothing left behind, not even a zombie for init to
// reap (which can take init a moment).
func TestCanceledStepReturnsOnceItsProcessesAreGone(t *testing.T) {
	dir := t.TempDir()
	out, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	sh := &executor.Shell{Grace: 20 * time.Second, Dir: dir, Env: os.Environ()}
	defer sh.Close()
	pidFile := filepath.Join(dir, "sleep.pid")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			if b, err := os.ReadFile(pidFile); err == nil && strings.HasSuffix(string(b), "\n") {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
	}()
	start := time.Now()
	code, err := sh.Run(ctx, executor.Step{Script: "sleep 300 & echo $! > sleep.pid; wait", Output: out})
	if !errors.Is(err, context.Canceled) || code != -1 {
		t.Errorf("Run = %d, %v; want -1 and the context's error", code, err)
	}
	if d := time.Since(start); d > 6*time.Second {
		t.Errorf("Run took %v; the step's shell exited on SIGTERM, the grace period is 20s", d)
	}
	b, _ := os.ReadFile(pidFile)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if pid <= 0 {
		t.Fatalf("no pid in %q", b)
	}
	if syscall.Kill(pid, 0) == nil {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Errorf("the step's background sleep (pid %d) was still there when Run returned", pid)
	}
}
