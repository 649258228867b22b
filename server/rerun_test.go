package server_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/cli"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/executor"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// flakyPipeline has a job that fails the first time it runs and succeeds
// after (a marker file outside the workspace remembers), a job that needs
// it, and an independent job.
func flakyPipeline(marker string) string {
	return fmt.Sprintf(`
jobs:
  flaky:
    steps:
      - echo "try $LATHE_ATTEMPT"
      - if [ -f %[1]q ]; then echo recovered; else touch %[1]q; echo broken; exit 1; fi
  after:
    needs: [flaky]
    steps: [echo after ran]
  alone:
    needs: []
    steps: [echo alone ran]
`, marker)
}

func wantStatus(t *testing.T, err error, status int, what string) {
	t.Helper()
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != status {
		t.Errorf("%s: %v; want HTTP %d", what, err, status)
	}
}

// Re-running the failed jobs of a finished run queues them as new attempts
// in the same run, with their skipped dependents pending behind them; the
// first attempt's log stays readable. One job re-runs as a new attempt, and
// a whole run re-runs as a new run linked to its parent at the same commit.
func TestRerunFailedJobsOneJobAndAWholeRun(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		// The marker file outside the workspace that remembers across
		// attempts and runs needs the shell executor (a sandbox hides it).
		o.Executor = executor.Options{Kind: executor.KindShell}
		l := lathetest.Start(t, o)
		repo := lathetest.Repo(t, map[string]string{".lathe.yml": flakyPipeline(filepath.Join(t.TempDir(), "marker"))})
		l.Project(t, "flaky", repo)
		run := l.Wait(t, l.Trigger(t, "flaky", "", "").ID, 60*time.Second)
		if run.Status != lathe.StatusFailed || lathetest.JobByName(t, run, "after").Status != lathe.StatusSkipped {
			t.Fatalf("first run = %s, after = %s; want failed, skipped", run.Status, lathetest.JobByName(t, run, "after").Status)
		}
		ctx := context.Background()
		wantStatus(t, l.Client.Do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/jobs/%d/rerun", lathetest.JobByName(t, run, "after").ID), nil, nil),
			http.StatusConflict, "re-run of a skipped job")

		var again lathe.Run
		l.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/runs/%d/rerun-failed", run.ID), nil, &again)
		if again.ID != run.ID || again.Status.Terminal() {
			t.Errorf("rerun-failed answered run %d %s; want run %d not finished", again.ID, again.Status, run.ID)
		}
		run = l.Wait(t, run.ID, 60*time.Second)
		if run.Status != lathe.StatusSuccess {
			t.Fatalf("run after rerun-failed = %s; want success", run.Status)
		}
		attempts := map[string]int{"flaky": 2, "after": 1, "alone": 1}
		for name, n := range attempts {
			j := l.Job(t, lathetest.JobByName(t, run, name).ID)
			if j.Status != lathe.StatusSuccess || len(j.Attempts) != n {
				t.Errorf("job %s = %s with %d attempts; want success with %d", name, j.Status, len(j.Attempts), n)
			}
		}
		flaky := lathetest.JobByName(t, run, "flaky")
		if first := attemptLog(t, l, flaky.ID, 1); !strings.Contains(first, "try 1") || !strings.Contains(first, "broken") {
			t.Errorf("attempt 1 log: %q", first)
		}
		if latest := l.Log(t, flaky.ID); !strings.Contains(latest, "try 2") || !strings.Contains(latest, "recovered") {
			t.Errorf("latest log: %q", latest)
		}
		wantStatus(t, l.Client.Do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/runs/%d/rerun-failed", run.ID), nil, nil),
			http.StatusConflict, "rerun-failed of a successful run")

		alone := lathetest.JobByName(t, run, "alone")
		var j lathe.Job
		l.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/jobs/%d/rerun", alone.ID), nil, &j)
		// An idle agent may claim (or even finish) it before the answer is
		// read; what must not be is the old attempt, finished, as the answer.
		if j.Status.Terminal() && len(j.Attempts) < 2 {
			t.Errorf("re-run job answered %s with %d attempts; want it queued again", j.Status, len(j.Attempts))
		}
		run = l.Wait(t, run.ID, 60*time.Second)
		if j := l.Job(t, alone.ID); j.Status != lathe.StatusSuccess || len(j.Attempts) != 2 || run.Status != lathe.StatusSuccess {
			t.Errorf("after re-running alone: job %s with %d attempts, run %s", j.Status, len(j.Attempts), run.Status)
		}

		var child lathe.Run
		l.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/runs/%d/rerun", run.ID), nil, &child)
		if child.ID == run.ID || child.ParentID == nil || *child.ParentID != run.ID || child.Event != "rerun" ||
			child.Commit != run.Commit || child.Ref != run.Ref || child.Number != run.Number+1 {
			t.Errorf("rerun = %+v; want a new run of the same commit and ref, parent %d, event rerun, number %d", child, run.ID, run.Number+1)
		}
		if done := l.Wait(t, child.ID, 60*time.Second); done.Status != lathe.StatusSuccess || len(done.Jobs) != 3 {
			t.Errorf("re-run run = %s with %d jobs; want success with 3", done.Status, len(done.Jobs))
		}
		wantStatus(t, l.Client.Do(ctx, http.MethodPost, "/api/v1/runs/999999/rerun", nil, nil), http.StatusNotFound, "re-run of an unknown run")
	})
}

// adminCLI runs a lathe command against l as the admin and returns its exit
// code and output.
func adminCLI(l *lathetest.Lathe, args ...string) (int, string) {
	var out bytes.Buffer
	e := &cli.Env{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }}
	return cli.Run(context.Background(), append(args, "--server", l.URL, "--token", l.AdminToken), e), out.String()
}

// A job still running cannot be re-run; `lathe rerun` drives the same API.
func TestRerunRefusedWhileRunningAndCLI(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{})
	l.Project(t, "slow", lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  slow:\n    steps: [sleep 1]\n"}))
	run := l.Trigger(t, "slow", "", "")
	job := l.Run(t, run.ID).Jobs[0]
	wantStatus(t, l.Client.Do(context.Background(), http.MethodPost, fmt.Sprintf("/api/v1/jobs/%d/rerun", job.ID), nil, nil),
		http.StatusConflict, "re-run of an unfinished job")
	wantStatus(t, l.Client.Do(context.Background(), http.MethodPost, fmt.Sprintf("/api/v1/runs/%d/rerun-failed", run.ID), nil, nil),
		http.StatusConflict, "rerun-failed of an unfinished run")
	l.Wait(t, run.ID, 60*time.Second)

	lathecli := func(args ...string) (int, string) { return adminCLI(l, args...) }
	if code, out := lathecli("rerun", "--job", fmt.Sprint(job.ID)); code != 0 || !strings.Contains(out, "queued again") {
		t.Errorf("lathe rerun --job: exit %d\n%s", code, out)
	}
	l.Wait(t, run.ID, 60*time.Second)
	code, out := lathecli("rerun", fmt.Sprint(run.ID))
	if code != 0 || !strings.Contains(out, fmt.Sprintf("re-running run %d", run.ID)) {
		t.Errorf("lathe rerun RUN: exit %d\n%s", code, out)
	}
	if code, out := lathecli("rerun", fmt.Sprint(run.ID), "--failed"); code == 0 || !strings.Contains(out, "no failed") {
		t.Errorf("lathe rerun --failed of a successful run: exit %d\n%s", code, out)
	}
	var page lathe.Page[*lathe.Run]
	l.Do(t, http.MethodGet, "/api/v1/runs?project=slow", nil, &page)
	for _, r := range page.Items {
		l.Wait(t, r.ID, 60*time.Second)
	}
	if len(page.Items) != 2 {
		t.Errorf("runs of slow = %d; want 2 (the original and its re-run)", len(page.Items))
	}
}
