package cli_test

import (
	"net/http"
	"os/exec"
	"strings"
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
