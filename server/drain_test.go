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

// releaseFiles returns where handBackPipeline's steps write their PIDs
// (killed when the test ends) and the file that releases attempt 1.
func releaseFiles(t *testing.T) (pids, release string) {
	tmp := t.TempDir()
	pids, release = filepath.Join(tmp, "pids"), filepath.Join(tmp, "release")
	killGroupsIn(t, pids)
	return pids, release
}

// longJob is a `lathe server` process with one embedded agent, running
// handBackPipeline's job in its first attempt.
type longJob struct {
	srv                            *lathetest.Process
	l                              *lathetest.Lathe
	bin, addr, dir, dbURL, relFile string
	id                             int64
}

// startLongJob starts the server with flags (after one embedded agent and
// no infrastructure retries) and waits until the job's step runs.
func startLongJob(t *testing.T, bin, dbURL string, flags ...string) *longJob {
	t.Helper()
	pids, release := releaseFiles(t)
	j := &longJob{bin: bin, addr: freeAddr(t), dir: t.TempDir(), dbURL: dbURL, relFile: release}
	j.srv, j.l = serverProcess(t, bin, j.addr, j.dir, dbURL, append([]string{"--agents", "1", "--infra-retries", "0"}, flags...)...)
	j.l.Project(t, "drain", lathetest.Repo(t, map[string]string{".lathe.yml": handBackPipeline(pids, release, "embedded")}))
	j.id = startedJob(t, j.l)
	return j
}

// release lets attempt 1's step end.
func (j *longJob) release(t *testing.T) {
	t.Helper()
	if err := os.WriteFile(j.relFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
}

// exited waits for the server to exit 0.
func (j *longJob) exited(t *testing.T) {
	t.Helper()
	if code := j.srv.Wait(t, 30*time.Second); code != 0 {
		t.Fatalf("server exited %d; output:\n%s", code, j.srv.Output.String())
	}
}

// restart starts the server again on the same address and data.
func (j *longJob) restart(t *testing.T, flags ...string) *lathetest.Lathe {
	t.Helper()
	_, l := serverProcess(t, j.bin, j.addr, j.dir, j.dbURL, append([]string{"--agents", "1", "--infra-retries", "0"}, flags...)...)
	return l
}

// SIGTERM to `lathe server` drains: the embedded agent takes no new job,
// the running step may finish, and the server exits once it has.
func TestSIGTERMLetsRunningJobsFinish(t *testing.T) {
	j := startLongJob(t, lathetest.Binary(t), "")
	j.srv.Signal(t, syscall.SIGTERM)
	// Draining: a job triggered now is not taken, and the server stays up.
	queued := j.l.Trigger(t, "drain", "", "").Jobs[0].ID
	j.release(t)
	j.exited(t)
	l := j.restart(t, "--agents", "0")
	job := l.Job(t, j.id)
	if job.Status != lathe.StatusSuccess || len(job.Attempts) != 1 || !strings.Contains(l.Log(t, j.id), "attempt 1 done") {
		t.Errorf("drained job: %s with %d attempts; want success in one attempt\n%s", job.Status, len(job.Attempts), l.Log(t, j.id))
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
		j := startLongJob(t, bin, o.DatabaseURL, "--drain-timeout", "1s")
		j.srv.Signal(t, syscall.SIGTERM)
		j.exited(t)
		checkHandedBack(t, j.restart(t), j.id, store.ReasonHandedBack)
	})
}

// A second SIGTERM ends the drain at once, with the same hand-back.
func TestSecondSIGTERMStopsAtOnceAndHandsBack(t *testing.T) {
	j := startLongJob(t, lathetest.Binary(t), "", "--log-level", "info")
	j.srv.Signal(t, syscall.SIGTERM)
	waitFor(t, 10*time.Second, "the server says it drains", func() bool {
		return strings.Contains(j.srv.Output.String(), "draining")
	})
	j.srv.Signal(t, syscall.SIGTERM)
	j.exited(t)
	checkHandedBack(t, j.restart(t), j.id, store.ReasonHandedBack)
}

// A server killed with SIGKILL finds, when it starts again, what its
// embedded agents were running: those attempts end lost at once (not after
// the 60 s lease) and their jobs run again without using up a retry.
func TestRestartedServerRequeuesItsEmbeddedAgentsJobsAtOnce(t *testing.T) {
	bin := lathetest.Binary(t)
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		j := startLongJob(t, bin, o.DatabaseURL, "--lease-ttl", "60s")
		j.srv.Signal(t, syscall.SIGKILL)
		j.srv.Wait(t, 10*time.Second)
		// The step outlives the killed server (the sandbox's die-with-parent is
		// another item's); end it so only the restart is tested here.
		j.release(t)
		start := time.Now()
		checkHandedBack(t, j.restart(t, "--lease-ttl", "60s"), j.id, store.ReasonRestarted)
		if took := time.Since(start); took > 30*time.Second {
			t.Errorf("the job ran again %v after the restart; want well before its 60 s lease ends", took)
		}
	})
}
