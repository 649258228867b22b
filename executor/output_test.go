package executor_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lathe-ci/lathe/executor"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// pipeSteps open their output again by name, and the second one leaves it
// non-blocking (as Node.js does) before the third writes more than a pipe
// holds while its reader is slow to start.
var pipeSteps = []string{
	"echo one; echo two > /dev/stdout; echo three | tee /dev/stderr",
	"perl -e 'use Fcntl; fcntl(STDOUT, F_SETFL, fcntl(STDOUT, F_GETFL, 0) | O_NONBLOCK) or die'; echo nonblocking",
	"head -c 1000000 /dev/zero | tr '\\0' x; echo",
}

var pipeOutput = "one\ntwo\nthree\nthree\nnonblocking\n" + strings.Repeat("x", 1000000) + "\n"

// A job whose log is a pipe: every step may open its output again
// (/dev/stdout, /dev/stderr), as the shell's user and as the sandbox's job
// user, and a step that leaves the pipe non-blocking does not make a later
// step's writes fail.
func TestStepsOpenTheirPipeOutputAgain(t *testing.T) {
	for name, kind := range map[string]string{"shell": executor.KindShell, "sandbox": executor.KindSandbox} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if kind == executor.KindSandbox {
				lathetest.NeedSandbox(t)
			}
			runPipeSteps(t, t.TempDir(), executor.Options{Kind: kind, Grace: time.Second})
		})
	}
}

// The same in the sandbox of an agent that is not root, whose steps run as
// its own user in a user namespace.
func TestStepsOpenTheirPipeOutputAgainInTheSandboxOfANormalUser(t *testing.T) {
	lathetest.NeedSandbox(t)
	if dir := lathetest.AsNobody(t, "LATHE_TEST_PIPE_USER_DIR"); dir != "" {
		runPipeSteps(t, dir, executor.Options{Grace: time.Second})
	}
}

func runPipeSteps(t *testing.T, dir string, opts executor.Options) {
	t.Helper()
	ws, home, ctl := filepath.Join(dir, "ws"), filepath.Join(dir, "home"), filepath.Join(dir, "ctl")
	for _, d := range []string{ws, home, ctl} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	ex, err := executor.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	last := make(chan struct{})
	got := make(chan string, 1)
	go func() {
		<-last
		time.Sleep(300 * time.Millisecond) // the last step fills the pipe meanwhile
		b, _ := io.ReadAll(r)
		got <- string(b)
	}()
	job, err := ex.Start(context.Background(), executor.Spec{Workspace: ws, Home: home, Control: ctl,
		Env: executor.BaseEnv(home, nil), Log: w})
	if err != nil {
		t.Fatal(err)
	}
	for i, step := range pipeSteps {
		if i == len(pipeSteps)-1 {
			close(last)
		}
		if code, err := job.Run(context.Background(), executor.Step{Script: step, Output: w}); err != nil || code != 0 {
			t.Errorf("step %d: exit %d, %v", i+1, code, err)
		}
	}
	job.Close()
	w.Close()
	if out := <-got; out != pipeOutput {
		t.Errorf("output (%d bytes) = %.200q…; want %.200q… (%d bytes)", len(out), out, pipeOutput, len(pipeOutput))
	}
}
