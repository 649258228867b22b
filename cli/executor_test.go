package cli_test

import (
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// Without bubblewrap, `lathe up` and `lathe agent` refuse to start and say
// how to install it or how to run without isolation on purpose.
func TestNoBubblewrapRefusesToStart(t *testing.T) {
	bin := lathetest.Binary(t)
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	for name, args := range map[string][]string{
		"up":    {"up", "--data", t.TempDir(), "--addr", "127.0.0.1:0"},
		"agent": agentArgs(l, t.TempDir(), "--token", l.RegistrationToken(t)),
	} {
		cmd := exec.Command(bin, args...)
		cmd.Env = []string{"PATH=" + t.TempDir(), "HOME=" + t.TempDir()} // no bwrap on this PATH
		out, err := cmd.CombinedOutput()
		if err == nil || cmd.ProcessState.ExitCode() == 0 {
			t.Errorf("lathe %s without bwrap exited 0:\n%s", name, out)
		}
		for _, want := range []string{"bubblewrap (bwrap) is not installed", "apt-get install bubblewrap", "--executor shell"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("lathe %s without bwrap says %q; want it to say %q", name, out, want)
			}
		}
	}
}

// The executor an agent runs shows in its record: sandbox by default,
// none for the shell executor, which also warns at start.
func TestAgentsShowTheirIsolation(t *testing.T) {
	bin := lathetest.Binary(t)
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	reg := l.RegistrationToken(t)
	want := map[string]string{"shell": "none"}
	shell := lathetest.StartProcess(t, bin, "agent", "--server", l.URL, "--name", "shell", "--labels", "x",
		"--work-dir", t.TempDir(), "--token", reg, "--executor", "shell")
	if _, err := exec.LookPath("bwrap"); err == nil {
		lathetest.StartProcess(t, bin, "agent", "--server", l.URL, "--name", "sandbox", "--labels", "x",
			"--work-dir", t.TempDir(), "--token", reg)
		want["sandbox"] = "sandbox"
	} else {
		lathetest.NeedSandbox(t) // fails in CI
	}
	waitFor(t, "the agents' host info", 30*time.Second, func() bool {
		for name, isolation := range want {
			var a lathe.Agent
			if err := l.Client.Do(t.Context(), http.MethodGet, "/api/v1/agents/"+name, nil, &a); err != nil || a.Host.Isolation != isolation {
				return false
			}
		}
		return true
	})
	if !strings.Contains(shell.Output.String(), "WARNING: --executor shell: steps run with no isolation") {
		t.Errorf("the shell agent did not warn:\n%s", shell.Output.String())
	}
}

// A job's environment holds none of the agent's own variables but those
// the operator passes through with --pass-env.
func TestAgentPassesOnlyTheNamedEnvironment(t *testing.T) {
	bin := lathetest.Binary(t)
	t.Setenv("LATHE_TEST_PASSED", "passed-through-value")
	t.Setenv("LATHE_TEST_KEPT", "agent-only-value")
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	l.Project(t, "envs", lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  env:\n    runs-on: [proc]\n    steps: [env]\n"}))
	p := lathetest.StartProcess(t, bin, agentArgs(l, t.TempDir(), "--token", l.RegistrationToken(t), "--pass-env", "LATHE_TEST_PASSED")...)
	r := l.Wait(t, l.Trigger(t, "envs", "", "").ID, time.Minute)
	if r.Status != lathe.StatusSuccess {
		t.Fatalf("run %s; agent:\n%s", r.Status, p.Output.String())
	}
	log := l.Log(t, r.Jobs[0].ID)
	if !strings.Contains(log, "LATHE_TEST_PASSED=passed-through-value") {
		t.Errorf("the passed variable is missing from the job's environment:\n%s", log)
	}
	if strings.Contains(log, "agent-only-value") {
		t.Errorf("the job got a variable of the agent's own environment:\n%s", log)
	}
}

// `lathe up --executor shell` says at start that its jobs run unisolated.
func TestUpWarnsOfTheShellExecutor(t *testing.T) {
	bin := lathetest.Binary(t)
	p := lathetest.StartProcess(t, bin, "up", "--executor", "shell", "--addr", "127.0.0.1:0", "--data", t.TempDir())
	waitFor(t, "lathe up to start", 30*time.Second, func() bool { return strings.Contains(p.Output.String(), "Try: lathe") })
	if !strings.Contains(p.Output.String(), "WARNING: --executor shell: steps run with no isolation") {
		t.Errorf("lathe up --executor shell did not warn:\n%s", p.Output.String())
	}
	p.Signal(t, syscall.SIGINT)
	p.Wait(t, 30*time.Second)
}
