package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/auth"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/lathetest"
	"github.com/lathe-ci/lathe/server"
)

// The lifecycle tests run real `lathe agent` processes and kill or stop
// them; the server runs in the test with short leases and a fast sweeper.

// startLifecycle starts a server with cfg's lifecycle settings (and no
// embedded agents unless cfg asks) and stops it when the test ends.
func startLifecycle(t *testing.T, o lathetest.Options, cfg server.Config) *lathetest.Lathe {
	t.Helper()
	cfg.DatabaseURL = o.DatabaseURL
	cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return lathetest.StartConfig(t, cfg)
}

// agentProcess starts `lathe agent` with labels; the test's cleanup kills it.
func agentProcess(t *testing.T, l *lathetest.Lathe, bin, regToken, name string, labels ...string) *lathetest.Process {
	t.Helper()
	return agentProcessIn(t, l, bin, regToken, name, t.TempDir(), labels...)
}

// agentProcessIn is agentProcess with workDir as the agent's work directory.
func agentProcessIn(t *testing.T, l *lathetest.Lathe, bin, regToken, name, workDir string, labels ...string) *lathetest.Process {
	t.Helper()
	return lathetest.StartProcess(t, bin, "agent", "--server", l.URL, "--token", regToken, "--name", name,
		"--labels", strings.Join(labels, ","), "--work-dir", workDir, "--heartbeat", "300ms", "--grace", "1s",
		"--poll-wait", "1", "--log-level", "warn")
}

// waitFor polls cond every 50 ms for at most timeout and fails the test
// with what if it never holds.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func attemptNumbered(j *lathe.Job, n int) *lathe.Attempt {
	for _, a := range j.Attempts {
		if a.Number == n {
			return a
		}
	}
	return nil
}

func attemptLog(t *testing.T, l *lathetest.Lathe, jobID int64, n int) string {
	t.Helper()
	resp, err := l.Client.Request(context.Background(), http.MethodGet, fmt.Sprintf("/api/v1/jobs/%d/log?attempt=%d", jobID, n), nil, nil)
	if err != nil {
		t.Fatalf("log of attempt %d: %v", n, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// An agent killed with SIGKILL mid-job stops renewing its attempt's lease:
// the attempt is marked lost within TTL + sweep interval, the job runs again
// as attempt 2 on another agent, and attempt 1's log stays readable. When
// every allowed retry is lost too, the job ends lost and the run fails.
func TestKilledAgentsAttemptIsLostAndRetriedElsewhere(t *testing.T) {
	bin := lathetest.Binary(t)
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		const ttl, sweep = 2 * time.Second, 200 * time.Millisecond
		l := startLifecycle(t, o, server.Config{LeaseTTL: ttl, SweepInterval: sweep, InfraRetries: 1})
		// A killed agent's sandbox dies with it, and the step with the sandbox.
		l.Project(t, "lease", lathetest.Repo(t, map[string]string{
			".lathe/flaky.yml": `
jobs:
  flaky:
    runs-on: [lease]
    steps:
      - echo "attempt $LATHE_ATTEMPT"; if [ "$LATHE_ATTEMPT" = 1 ]; then sleep 300; fi; echo done
  after:
    needs: [flaky]
    runs-on: [lease]
    steps: [echo after]
`,
			".lathe/hang.yml": `
jobs:
  hang:
    runs-on: [lease]
    steps:
      - echo "attempt $LATHE_ATTEMPT"; sleep 300
  after:
    needs: [hang]
    runs-on: [lease]
    steps: [echo never]
`,
		}))
		reg := l.RegistrationToken(t)

		run := l.Trigger(t, "lease", "", "flaky")
		jobID := lathetest.JobByName(t, l.Run(t, run.ID), "flaky").ID
		first := agentProcess(t, l, bin, reg, "doomed", "lease")
		waitFor(t, 30*time.Second, "attempt 1 running with its step's line shipped", func() bool {
			a := attemptNumbered(l.Job(t, jobID), 1)
			return a != nil && a.Status == lathe.StatusRunning && strings.Contains(attemptLog(t, l, jobID, 1), "attempt 1\n")
		})
		first.Signal(t, syscall.SIGKILL)
		killed := time.Now()
		waitFor(t, ttl+sweep+5*time.Second, "attempt 1 lost", func() bool {
			return attemptNumbered(l.Job(t, jobID), 1).Status == lathe.StatusLost
		})
		// The lease was renewed at most a heartbeat before the kill.
		if took := time.Since(killed); took > ttl+sweep+time.Second {
			t.Errorf("attempt lost %v after the kill; want within TTL %v + sweep %v", took, ttl, sweep)
		}
		procs := map[string]*lathetest.Process{"survivor": agentProcess(t, l, bin, reg, "survivor", "lease")}
		done := l.Wait(t, run.ID, 60*time.Second)
		if done.Status != lathe.StatusSuccess {
			t.Fatalf("run after a retry = %s; want success", done.Status)
		}
		j := l.Job(t, jobID)
		a1, a2 := attemptNumbered(j, 1), attemptNumbered(j, 2)
		if len(j.Attempts) != 2 || a1.Agent != "doomed" || a1.Status != lathe.StatusLost || a1.LogComplete ||
			a2.Agent != "survivor" || a2.Status != lathe.StatusSuccess || !a2.LogComplete {
			t.Errorf("attempts = %+v, %+v; want 1 lost on doomed, 2 success on survivor with a verified log", a1, a2)
		}
		if log := attemptLog(t, l, jobID, 1); !strings.HasPrefix(log, "$ git checkout") || !strings.Contains(log, "attempt 1\n") {
			t.Errorf("log of the lost attempt = %q", log)
		}
		if log := attemptLog(t, l, jobID, 2); !strings.Contains(log, "attempt 2\ndone\n") {
			t.Errorf("log of attempt 2 = %q", log)
		}

		// Every attempt of hang is lost: after its one retry the job ends
		// lost, its dependent is skipped and the run fails.
		run = l.Trigger(t, "lease", "", "hang")
		jobID = lathetest.JobByName(t, l.Run(t, run.ID), "hang").ID
		for n, name := range []string{"survivor", "third"} {
			if n > 0 {
				procs[name] = agentProcess(t, l, bin, reg, name, "lease")
			}
			waitFor(t, 30*time.Second, fmt.Sprintf("attempt %d running", n+1), func() bool {
				a := attemptNumbered(l.Job(t, jobID), n+1)
				return a != nil && a.Status == lathe.StatusRunning && a.LogSize > 0
			})
			procs[name].Signal(t, syscall.SIGKILL)
		}
		done = l.Wait(t, run.ID, ttl+sweep+30*time.Second)
		j = l.Job(t, jobID)
		if done.Status != lathe.StatusFailed || j.Status != lathe.StatusLost || len(j.Attempts) != 2 ||
			lathetest.JobByName(t, done, "after").Status != lathe.StatusSkipped {
			t.Errorf("after every retry was lost: run %s, job %s with %d attempts, after %s; want failed, lost, 2, skipped",
				done.Status, j.Status, len(j.Attempts), lathetest.JobByName(t, done, "after").Status)
		}
	})
}

// An agent stopped with SIGSTOP cannot enforce its job's timeout: the
// server times the attempt out once the timeout and grace have passed, and
// when the agent resumes, its next report is refused and it kills the step.
func TestServerTimesOutTheJobOfAStoppedAgent(t *testing.T) {
	bin := lathetest.Binary(t)
	l := startLifecycle(t, lathetest.Options{}, server.Config{LeaseTTL: time.Minute, SweepInterval: 200 * time.Millisecond,
		TimeoutGrace: 500 * time.Millisecond})
	l.Project(t, "stop", lathetest.Repo(t, map[string]string{".lathe.yml": `
jobs:
  slow:
    runs-on: [stop]
    timeout: 2
    steps:
      - echo sleeping; sleep 311
`}))
	reg := l.RegistrationToken(t)
	run := l.Trigger(t, "stop", "", "")
	jobID := run.Jobs[0].ID
	p := agentProcess(t, l, bin, reg, "sleepy", "stop")
	// The step runs in a PID namespace of its own: find its sleep from outside.
	var pid int
	waitFor(t, 30*time.Second, "the step running", func() bool {
		pids := lathetest.Processes("sleep", "311")
		if len(pids) == 1 {
			pid = pids[0]
		}
		return pid > 0
	})
	p.Signal(t, syscall.SIGSTOP)
	defer p.Signal(t, syscall.SIGCONT)
	done := l.Wait(t, run.ID, 15*time.Second)
	j := l.Job(t, jobID)
	if done.Status != lathe.StatusFailed || j.Status != lathe.StatusTimedOut || j.Attempts[0].Status != lathe.StatusTimedOut {
		t.Fatalf("run %s, job %s, attempt %s; want failed, timed_out, timed_out", done.Status, j.Status, j.Attempts[0].Status)
	}
	p.Signal(t, syscall.SIGCONT)
	waitFor(t, 15*time.Second, "the resumed agent stopping the timed-out step", func() bool {
		return syscall.Kill(pid, 0) != nil
	})
}

// A queued job no online agent can take shows why within a sweep, and fails
// with that reason after the queue timeout.
func TestUnroutableJobSaysWhyAndFails(t *testing.T) {
	l := startLifecycle(t, lathetest.Options{}, server.Config{Agents: 1, AgentLabels: []string{"linux"},
		SweepInterval: 200 * time.Millisecond, QueueTimeout: 3 * time.Second})
	l.Project(t, "gpu", lathetest.Repo(t, map[string]string{".lathe.yml": `
jobs:
  train:
    runs-on: [linux, gpu]
    steps: [echo never]
`}))
	// The embedded agent is online once it has polled.
	waitFor(t, 10*time.Second, "the embedded agent online", func() bool {
		var page lathe.Page[*lathe.Agent]
		l.Do(t, http.MethodGet, "/api/v1/agents", nil, &page)
		return len(page.Items) == 1 && page.Items[0].LastSeen != nil
	})
	run := l.Trigger(t, "gpu", "", "")
	jobID := run.Jobs[0].ID
	waitFor(t, 2*time.Second, "a wait reason", func() bool {
		return l.Job(t, jobID).WaitReason == "no online agent with labels: gpu"
	})
	done := l.Wait(t, run.ID, 10*time.Second)
	j := l.Job(t, jobID)
	if done.Status != lathe.StatusFailed || j.Status != lathe.StatusFailed || j.WaitReason != "no online agent with labels: gpu" || len(j.Attempts) != 0 {
		t.Errorf("after the queue timeout: run %s, job %s (%q), %d attempts", done.Status, j.Status, j.WaitReason, len(j.Attempts))
	}
}

// startManualAgent starts a server with project "proto" of pipeline and
// an agent the test drives with the client it returns (labels: proto),
// and triggers a run.
func startManualAgent(t *testing.T, o lathetest.Options, pipeline string) (*lathetest.Lathe, *client.Client, *lathe.Run) {
	t.Helper()
	l := startLifecycle(t, o, server.Config{})
	l.Project(t, "proto", lathetest.Repo(t, map[string]string{".lathe.yml": pipeline}))
	token, hash := auth.NewToken(auth.PrefixAgent)
	if err := l.Store.PutAgent(context.Background(), &lathe.Agent{Name: "manual", Labels: []string{"proto"}}, hash); err != nil {
		t.Fatal(err)
	}
	return l, l.ClientAs(t, token), l.Trigger(t, "proto", "", "")
}

// The agent protocol over HTTP: a claim repeated with its claim ID gets the
// same attempt (a lost answer strands no job), and a finish whose checksum
// disagrees with the stored log marks the log incomplete.
func TestClaimIDAndLogChecksumOverHTTP(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		l, c, _ := startManualAgent(t, o, `
jobs:
  a: {runs-on: [proto], steps: [echo a]}
  b: {runs-on: [proto], steps: [echo b]}
`)
		ctx := context.Background()
		first, err := c.Claim(ctx, 5, "lost-answer")
		if err != nil || first == nil {
			t.Fatalf("claim: %+v, %v", first, err)
		}
		again, err := c.Claim(ctx, 5, "lost-answer")
		if err != nil || again == nil || again.AttemptID != first.AttemptID {
			t.Fatalf("claim repeated with its ID = %+v, %v; want attempt %d again", again, err, first.AttemptID)
		}
		second, err := c.Claim(ctx, 5, "next")
		if err != nil || second == nil || second.JobID == first.JobID {
			t.Fatalf("claim with a new ID = %+v, %v; want the other job", second, err)
		}

		log := []byte("exactly this\n")
		sum := sha256.Sum256(log)
		wrong := sha256.Sum256([]byte("not this"))
		for _, f := range []struct {
			as  *lathe.Assignment
			sum []byte
		}{{first, sum[:]}, {second, wrong[:]}} {
			reply, err := c.Report(ctx, f.as.AttemptID, &lathe.Report{Log: log,
				Finish: &lathe.FinishReport{Status: lathe.StatusSuccess, LogSize: int64(len(log)), SHA256: hex.EncodeToString(f.sum)}})
			if err != nil || !reply.Finished {
				t.Fatalf("finish: %+v, %v", reply, err)
			}
		}
		if a := l.Job(t, first.JobID).Attempts[0]; !a.LogComplete {
			t.Errorf("attempt with a matching checksum: log_complete false")
		}
		if a := l.Job(t, second.JobID).Attempts[0]; a.LogComplete || a.Status != lathe.StatusSuccess {
			t.Errorf("attempt with a disagreeing checksum: %+v; want success, log_complete false", a)
		}
		// A finished attempt's writes are refused, and the agent is told to stop.
		reply, err := c.Report(ctx, first.AttemptID, &lathe.Report{LogOffset: int64(len(log)), Log: []byte("late\n")})
		if !errors.Is(err, lathe.ErrFenced) || !reply.Cancel {
			t.Errorf("report after finish: %+v, %v; want fenced with cancel", reply, err)
		}
	})
}
