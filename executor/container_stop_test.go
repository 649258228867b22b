package executor_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lathe-ci/lathe/executor"
)

// Stopping a container step takes the time its processes take to end on
// SIGTERM, at most the grace period, plus a few execs: neither the
// container's init nor its sleep counts as the step's, so the wait for the
// step's processes to be gone ends as soon as they are. A step that
// ignores SIGTERM is killed once the grace is over.
func TestContainerStopIsBoundedByTheGrace(t *testing.T) {
	const grace = 5 * time.Second
	for _, c := range []struct {
		name, script string
		max          time.Duration
	}{
		{"ends on SIGTERM", "sleep 4141 &\ntouch started\nsleep 4141\n", grace / 2},
		{"ignores SIGTERM", "trap '' TERM\nsleep 4242 &\ntouch started\nsleep 4242\n", grace + 3*time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			ce := newContainerEnv(t)
			ce.c.Grace = grace
			job := ce.start(t, never())
			// A step that ran before leaves the container as a job's is.
			if code, out := run(t, job, ce.log, "echo ready"); code != 0 {
				t.Fatalf("exit %d: %s", code, out)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() {
				_, err := job.Run(ctx, executor.Step{Script: c.script, Output: ce.log})
				done <- err
			}()
			for i := 0; ; i++ {
				if _, err := os.Stat(filepath.Join(ce.ws, "started")); err == nil {
					break
				}
				if i > 2000 {
					t.Fatal("the step never started")
				}
				time.Sleep(10 * time.Millisecond)
			}
			time.Sleep(200 * time.Millisecond)
			start := time.Now()
			cancel()
			err := <-done
			took := time.Since(start)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Run: %v", err)
			}
			if took > c.max {
				t.Errorf("stopping the step took %v, want at most %v", took.Round(time.Millisecond), c.max)
			}
			t.Logf("stopped in %v", took.Round(time.Millisecond))
			// The job goes on: its next step runs in the same container.
			if code, out := run(t, job, ce.log, "echo after"); code != 0 {
				t.Errorf("a step after the stop: exit %d: %s", code, out)
			}
		})
	}
}
