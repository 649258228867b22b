package cli_test

import (
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/lathe-ci/lathe/internal/lathetest"
)

// kill -9 of a `lathe agent` mid-step does not leave the step running
// beside the retry the server will make: a sandboxed step dies with its
// agent; the shell executor's step dies when its agent starts again,
// before that agent takes any work.
func TestAKilledAgentsStepDoesNotRunOn(t *testing.T) {
	bin := lathetest.Binary(t)
	for i, executor := range []string{"sandbox", "shell"} {
		t.Run(executor, func(t *testing.T) {
			if executor == "sandbox" {
				lathetest.NeedSandbox(t)
			}
			l := lathetest.Start(t, lathetest.Options{Agents: -1})
			marker := "31" + strconv.Itoa(i) + "7"
			repo := lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  long:\n    runs-on: [proc]\n    steps: ['echo started; sleep " + marker + "']\n"})
			l.Project(t, "kill", repo)
			dir := t.TempDir()
			p := lathetest.StartProcess(t, bin, agentArgs(l, dir, "--token", l.RegistrationToken(t), "--executor", executor)...)
			run := l.Trigger(t, "kill", "", "")
			jobStarted(t, l, run.ID)
			// The log says "started" just before the shell starts sleep.
			waitFor(t, "the step's one `sleep "+marker+"` process", 10*time.Second, func() bool {
				return len(lathetest.Processes("sleep", marker)) == 1
			})
			p.Signal(t, syscall.SIGKILL)
			p.Wait(t, 10*time.Second)
			if executor == "shell" {
				// Its shell died with the agent; what it started waits for the agent's return.
				lathetest.StartProcess(t, bin, agentArgs(l, dir, "--executor", executor)...)
			}
			waitFor(t, "the step's processes to end", 10*time.Second, func() bool { return len(lathetest.Processes("sleep", marker)) == 0 })
		})
	}
}
