package cli_test

import (
	"strings"
	"syscall"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
	"github.com/lathe-ci/lathe/store"
)

// agentArgs are the flags of a `lathe agent` process for the test server.
func agentArgs(l *lathetest.Lathe, dir string, extra ...string) []string {
	return append([]string{"agent", "--server", l.URL, "--name", "proc", "--labels", "proc", "--work-dir", dir,
		"--heartbeat", "300ms", "--grace", "2s", "--poll-wait", "5", "--log-level", "debug"}, extra...)
}

// waitFor polls cond every 50ms for at most timeout.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// jobStarted waits until the run's only job has printed "started".
func jobStarted(t *testing.T, l *lathetest.Lathe, runID int64) *lathe.Job {
	t.Helper()
	var j *lathe.Job
	waitFor(t, "the job to start", 30*time.Second, func() bool {
		r := l.Run(t, runID)
		if len(r.Jobs) == 0 || r.Jobs[0].Status != lathe.StatusRunning {
			return false
		}
		j = r.Jobs[0]
		return strings.Contains(l.Log(t, j.ID), "started")
	})
	return j
}

// SIGTERM drains a `lathe agent` process: the running job finishes and
// succeeds, the queued one is left for others, and the process exits 0. A
// restarted agent reuses its stored credential (no registration token) and
// takes the job that was left.
func TestAgentProcessDrainsOnSIGTERM(t *testing.T) {
	bin := lathetest.Binary(t)
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	repo := lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  slow:\n    runs-on: [proc]\n    steps: ['echo started; sleep 2; echo finished']\n"})
	l.Project(t, "drain", repo)
	dir := t.TempDir()
	p := lathetest.StartProcess(t, bin, agentArgs(l, dir, "--token", l.RegistrationToken(t))...)

	first := l.Trigger(t, "drain", "", "")
	jobStarted(t, l, first.ID)
	second := l.Trigger(t, "drain", "", "")
	p.Signal(t, syscall.SIGTERM)

	if r := l.Wait(t, first.ID, 30*time.Second); r.Status != lathe.StatusSuccess {
		t.Fatalf("drained job: %s, want success; agent output:\n%s", r.Status, p.Output.String())
	}
	if code := p.Wait(t, 20*time.Second); code != 0 {
		t.Errorf("drained agent exited %d, want 0; output:\n%s", code, p.Output.String())
	}
	if log := l.Log(t, l.Run(t, first.ID).Jobs[0].ID); !strings.Contains(log, "finished") {
		t.Errorf("drained job's log lacks its end: %q", log)
	}
	if r := l.Run(t, second.ID); r.Status != lathe.StatusQueued {
		t.Errorf("queued run after the drain: %s, want queued (the draining agent must not take it)", r.Status)
	}

	again := lathetest.StartProcess(t, bin, agentArgs(l, dir)...)
	if r := l.Wait(t, second.ID, 30*time.Second); r.Status != lathe.StatusSuccess {
		t.Fatalf("run on the restarted agent: %s; output:\n%s", r.Status, again.Output.String())
	}
	var agents lathe.Page[*lathe.Agent]
	l.Do(t, "GET", "/api/v1/agents", nil, &agents)
	if len(agents.Items) != 1 || agents.Items[0].Host.Version != lathe.Version || agents.Items[0].Host.CPUs == 0 || agents.Items[0].Host.MemoryBytes == 0 {
		t.Errorf("agents after restart = %+v; want the one agent, with host info", agents.Items)
	}
	// Idle, a drain ends the long-poll at once.
	again.Signal(t, syscall.SIGTERM)
	if code := again.Wait(t, 5*time.Second); code != 0 {
		t.Errorf("idle agent exited %d on SIGTERM, want 0", code)
	}
}

// A second signal stops the running job and hands it back: its attempt ends
// lost (handed back), the job waits in the queue for a new attempt, and the
// process exits.
func TestAgentProcessSecondSignalHandsTheJobBack(t *testing.T) {
	bin := lathetest.Binary(t)
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	repo := lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  stuck:\n    runs-on: [proc]\n    steps: ['echo started; sleep 60']\n"})
	l.Project(t, "cancel", repo)
	p := lathetest.StartProcess(t, bin, agentArgs(l, t.TempDir(), "--token", l.RegistrationToken(t))...)
	run := l.Trigger(t, "cancel", "", "")
	jobStarted(t, l, run.ID)

	p.Signal(t, syscall.SIGTERM)
	waitFor(t, "the agent to start draining", 10*time.Second, func() bool { return strings.Contains(p.Output.String(), "draining") })
	if p.Exited() {
		t.Fatalf("agent exited on the first signal with a job running; output:\n%s", p.Output.String())
	}
	p.Signal(t, syscall.SIGINT)
	start := time.Now()
	p.Wait(t, 20*time.Second)
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("agent took %v to stop after the second signal", d)
	}
	j := l.Job(t, run.Jobs[0].ID)
	if j.Status != lathe.StatusQueued || len(j.Attempts) != 1 || j.Attempts[0].Status != lathe.StatusLost || j.Attempts[0].EndReason != store.ReasonHandedBack {
		t.Errorf("job after the second signal: %s with attempts %+v; want queued, attempt 1 lost (handed back)", j.Status, j.Attempts)
	}
}
