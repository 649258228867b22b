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

// handBackPipeline's job (for agents with label) says in its first attempt
// that it started, and where (its workspace), then waits (bounded) for a
// file named release in its workspace; later attempts end at once. With
// --infra-retries 0, a lost attempt that counted against the job's retries
// would end the job lost: only a hand-back or a restart loss runs it again.
func handBackPipeline(label string) string {
	return `
jobs:
  long:
    runs-on: [` + label + `]
    steps:
      - echo "attempt $LATHE_ATTEMPT started in $PWD."; if [ "$LATHE_ATTEMPT" = 1 ]; then for i in $(seq 1 600); do [ -e release ] && break; sleep 0.1; done; fi; echo "attempt $LATHE_ATTEMPT done"
`
}

// startedJob triggers the pipeline and waits until its first attempt's step
// has said it started; it returns the job's ID and the attempt's workspace.
func startedJob(t *testing.T, l *lathetest.Lathe) (int64, string) {
	t.Helper()
	run := l.Trigger(t, "drain", "", "")
	jobID := run.Jobs[0].ID
	var ws string
	waitFor(t, 30*time.Second, "attempt 1 started", func() bool {
		log := l.Log(t, jobID)
		_, rest, ok := strings.Cut(log, "attempt 1 started in ")
		ws, _, ok = strings.Cut(rest, ".\n")
		return ok
	})
	return jobID, ws
}

// release lets attempt 1's step, working in ws, end.
func release(t *testing.T, ws string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(ws, "release"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
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

// longJob is a `lathe server` process with one embedded agent, running
// handBackPipeline's job in its first attempt (in workspace ws).
type longJob struct {
	srv                   *lathetest.Process
	l                     *lathetest.Lathe
	bin, addr, dir, dbURL string
	id                    int64
	ws                    string
}

// startLongJob starts the server with flags (after one embedded agent and
// no infrastructure retries) and waits until the job's step runs.
func startLongJob(t *testing.T, bin, dbURL string, flags ...string) *longJob {
	t.Helper()
	j := &longJob{bin: bin, addr: lathetest.FreeAddr(t), dir: t.TempDir(), dbURL: dbURL}
	j.srv, j.l = serverProcess(t, bin, j.addr, j.dir, dbURL, append([]string{"--agents", "1", "--infra-retries", "0"}, flags...)...)
	j.l.Project(t, "drain", lathetest.Repo(t, map[string]string{".lathe.yml": handBackPipeline("embedded")}))
	j.id, j.ws = startedJob(t, j.l)
	return j
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
	release(t, j.ws)
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
		start := time.Now()
		checkHandedBack(t, j.restart(t, "--lease-ttl", "60s"), j.id, store.ReasonRestarted)
		if took := time.Since(start); took > 30*time.Second {
			t.Errorf("the job ran again %v after the restart; want well before its 60 s lease ends", took)
		}
	})
}
