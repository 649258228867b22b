package cli_test

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lathe-ci/lathe/executor"
	"github.com/lathe-ci/lathe/internal/dockerapi"
	"github.com/lathe-ci/lathe/internal/enginetest"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// A restarted `lathe agent` is the agent the server registered, whatever
// its flags say: started again without --name (its default, the host name,
// is not its name) and with other --labels, it runs under its registered
// name, so it finds and removes the container its killed earlier life left
// (labelled with that name), and it warns that the server does not have
// the labels it was given (an agent cannot change its own).
func TestARestartedAgentKeepsItsRegisteredIdentity(t *testing.T) {
	bin := lathetest.Binary(t)
	engine := enginetest.Engine(t)
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	repo := lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  boxed:\n    runs-on: [proc]\n    image: " + enginetest.Image +
		"\n    steps: ['echo started; sleep 3434']\n"})
	l.Project(t, "identity", repo)
	dir := t.TempDir()
	common := []string{"agent", "--server", l.URL, "--work-dir", dir, "--executor", "shell", "--container-host", engine.Host,
		"--heartbeat", "300ms", "--grace", "2s", "--poll-wait", "5", "--log-level", "debug"}
	p := lathetest.StartProcess(t, bin, append(common, "--name", "proc", "--labels", "proc", "--token", l.RegistrationToken(t))...)
	run := l.Trigger(t, "identity", "", "")
	jobStarted(t, l, run.ID)
	p.Signal(t, syscall.SIGKILL)
	p.Wait(t, 10*time.Second)
	f := dockerapi.Filters{"label": {executor.LabelAgent + "=proc", executor.LabelAgentDir + "=" + dir}}
	t.Cleanup(func() { engine.RemoveLabelled(context.Background(), f["label"]...) })
	left := func() int {
		cs, err := engine.Client().ContainerList(context.Background(), true, f)
		if err != nil {
			t.Fatal(err)
		}
		return len(cs)
	}
	if left() == 0 {
		t.Fatal("the killed agent left no container labelled with its name")
	}

	again := lathetest.StartProcess(t, bin, append(common, "--labels", "linux,gpu")...)
	waitFor(t, "the restarted agent to remove its earlier life's container", 60*time.Second, func() bool { return left() == 0 })
	waitFor(t, "the restarted agent to run", 30*time.Second, func() bool { return strings.Contains(again.Output.String(), "agent running") })
	out := again.Output.String()
	for _, want := range []string{"THE SERVER DOES NOT HAVE THESE LABELS", "lathe agents update proc --labels linux,gpu", `msg="agent running" agent=proc `} {
		if !strings.Contains(out, want) {
			t.Errorf("the restarted agent's output lacks %q:\n%s", want, out)
		}
	}
}
