package server_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
	"github.com/lathe-ci/lathe/store"
)

// handBackPipeline's job (for agents with label) in its first attempt says it started and then waits for a
// release file (bounded); later attempts end at once. With
// --infra-retries 0, a lost attempt that counted against the job's retries
// would end the job lost: only a hand-back or a restart loss runs it again.
func handBackPipeline(pids, release, label string) string {
	return `
jobs:
  long:
    runs-on: [` + label + `]
    steps:
      - echo $$ >> ` + pids + `; echo "attempt $LATHE_ATTEMPT started"; if [ "$LATHE_ATTEMPT" = 1 ]; then for i in $(seq 1 600); do [ -e ` + release + ` ] && break; sleep 0.1; done; fi; echo "attempt $LATHE_ATTEMPT done"
`
}

// startedJob triggers the pipeline and waits until its first attempt's step
// has said it started; it returns the job's ID.
func startedJob(t *testing.T, l *lathetest.Lathe) int64 {
	t.Helper()
	run := l.Trigger(t, "drain", "", "")
	jobID := run.Jobs[0].ID
	waitFor(t, 30*time.Second, "attempt 1 started", func() bool {
		return strings.Contains(l.Log(t, jobID), "attempt 1 started")
	})
	return jobID
}

// checkHandedBack checks that the job's attempt 1 ended handed back and
// attempt 2 ran it to success, with no retry used up.
func checkHandedBack(t *testing.T, l *lathetest.Lathe, jobID int64, reason string) {
	t.Helper()
	var j *lathe.Job
	waitFor(t, 30*time.Second, "the job runs again and succeeds", func() bool {
		j = l.Job(t, jobID)
		return j.Status.Terminal()
	})
	first, second := attemptNumbered(j, 1), attemptNumbered(j, 2)
	if j.Status != lathe.StatusSuccess || first == nil || second == nil || len(j.Attempts) != 2 {
		t.Fatalf("job %s with %d attempts; want success on attempt 2 after attempt 1 was handed back", j.Status, len(j.Attempts))
	}
	if first.Status != lathe.StatusLost || first.EndReason != reason {
		t.Errorf("attempt 1: %s (%q); want lost (%q)", first.Status, first.EndReason, reason)
	}
	if !strings.Contains(attemptLog(t, l, jobID, 2), "attempt 2 done") {
		t.Errorf("attempt 2's log: %q", attemptLog(t, l, jobID, 2))
	}
}

// SIGTERM to `lathe server` drains: the embedded agent takes no new job,
// the running step may finish, and the server exits once it has.
func TestSIGTERMLetsRunningJobsFinish(t *testing.T) {
	bin := lathetest.Binary(t)
	addr, dir, tmp := freeAddr(t), t.TempDir(), t.TempDir()
	pids, release := filepath.Join(tmp, "pids"), filepath.Join(tmp, "release")
	killGroupsIn(t, pids)
	srv, l := serverProcess(t, bin, addr, dir, "", "--agents", "1", "--infra-retries", "0")
	l.Project(t, "drain", lathetest.Repo(t, map[string]string{".lathe.yml": handBackPipeline(pids, release, "embedded")}))
	jobID := startedJob(t, l)

	srv.Signal(t, syscall.SIGTERM)
	// Draining: a job triggered now is not taken, and the server stays up.
	queued := l.Trigger(t, "drain", "", "").Jobs[0].ID
	if err := os.WriteFile(release, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if code := srv.Wait(t, 30*time.Second); code != 0 {
		t.Fatalf("server exited %d after draining; output:\n%s", code, srv.Output.String())
	}
	_, l = serverProcess(t, bin, addr, dir, "")
	j := l.Job(t, jobID)
	if j.Status != lathe.StatusSuccess || len(j.Attempts) != 1 || !strings.Contains(l.Log(t, jobID), "attempt 1 done") {
		t.Errorf("drained job: %s with %d attempts; want success in one attempt\n%s", j.Status, len(j.Attempts), l.Log(t, jobID))
	}
	if q := l.Job(t, queued); q.Status != lathe.StatusQueued || len(q.Attempts) != 0 {
		t.Errorf("job triggered while draining: %s with %d attempts; want queued, untouched", q.Status, len(q.Attempts))
	}
}

// A step still running when --drain-timeout ends is stopped and its attempt
// handed back: the job runs again (here after a restart) as attempt 2,
// which does not use up a retry (the server allows none).
func TestDrainTimeoutHandsRunningJobsBack(t *testing.T) {
	bin := lathetest.Binary(t)
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		addr, dir, tmp := freeAddr(t), t.TempDir(), t.TempDir()
		pids, release := filepath.Join(tmp, "pids"), filepath.Join(tmp, "release")
		killGroupsIn(t, pids)
		srv, l := serverProcess(t, bin, addr, dir, o.DatabaseURL, "--agents", "1", "--infra-retries", "0", "--drain-timeout", "1s")
		l.Project(t, "drain", lathetest.Repo(t, map[string]string{".lathe.yml": handBackPipeline(pids, release, "embedded")}))
		jobID := startedJob(t, l)

		srv.Signal(t, syscall.SIGTERM)
		if code := srv.Wait(t, 30*time.Second); code != 0 {
			t.Fatalf("server exited %d; output:\n%s", code, srv.Output.String())
		}
		_, l = serverProcess(t, bin, addr, dir, o.DatabaseURL, "--agents", "1", "--infra-retries", "0")
		checkHandedBack(t, l, jobID, store.ReasonHandedBack)
	})
}

// A second SIGTERM ends the drain at once, with the same hand-back.
func TestSecondSIGTERMStopsAtOnceAndHandsBack(t *testing.T) {
	bin := lathetest.Binary(t)
	addr, dir, tmp := freeAddr(t), t.TempDir(), t.TempDir()
	pids, release := filepath.Join(tmp, "pids"), filepath.Join(tmp, "release")
	killGroupsIn(t, pids)
	srv, l := serverProcess(t, bin, addr, dir, "", "--agents", "1", "--infra-retries", "0", "--log-level", "info")
	l.Project(t, "drain", lathetest.Repo(t, map[string]string{".lathe.yml": handBackPipeline(pids, release, "embedded")}))
	jobID := startedJob(t, l)

	srv.Signal(t, syscall.SIGTERM)
	waitFor(t, 10*time.Second, "the server says it drains", func() bool {
		return strings.Contains(srv.Output.String(), "draining")
	})
	srv.Signal(t, syscall.SIGTERM)
	if code := srv.Wait(t, 30*time.Second); code != 0 {
		t.Fatalf("server exited %d; output:\n%s", code, srv.Output.String())
	}
	_, l = serverProcess(t, bin, addr, dir, "", "--agents", "1", "--infra-retries", "0")
	checkHandedBack(t, l, jobID, store.ReasonHandedBack)
}

// A server killed with SIGKILL finds, when it starts again, what its
// embedded agents were running: those attempts end lost at once (not after
// the 60 s lease) and their jobs run again without using up a retry.
func TestRestartedServerRequeuesItsEmbeddedAgentsJobsAtOnce(t *testing.T) {
	bin := lathetest.Binary(t)
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		addr, dir, tmp := freeAddr(t), t.TempDir(), t.TempDir()
		pids, release := filepath.Join(tmp, "pids"), filepath.Join(tmp, "release")
		killGroupsIn(t, pids)
		flags := []string{"--agents", "1", "--infra-retries", "0", "--lease-ttl", "60s"}
		srv, l := serverProcess(t, bin, addr, dir, o.DatabaseURL, flags...)
		l.Project(t, "drain", lathetest.Repo(t, map[string]string{".lathe.yml": handBackPipeline(pids, release, "embedded")}))
		jobID := startedJob(t, l)

		srv.Signal(t, syscall.SIGKILL)
		srv.Wait(t, 10*time.Second)
		// The step outlives the killed server (the sandbox's die-with-parent is
		// another item's); end it so only the restart is tested here.
		if err := os.WriteFile(release, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, l = serverProcess(t, bin, addr, dir, o.DatabaseURL, flags...)
		checkHandedBack(t, l, jobID, store.ReasonRestarted)
		if took := time.Since(start); took > 30*time.Second {
			t.Errorf("the job ran again %v after the restart; want well before its 60 s lease ends", took)
		}
	})
}
