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

// Re-running the failed jobs of a finished run makes a new run: the failed
// job and the job that needs it run again (the retry's attempt number goes
// on from the first try), the job that succeeded is carried over with its
// result and its log, and the first run stays failed. One job re-runs as a
// new run too, and a whole run re-runs as a new run of the same commit.
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
		if again.ID == run.ID || again.ParentID == nil || *again.ParentID != run.ID || again.Event != lathe.EventRerun ||
			again.Commit != run.Commit || again.Status.Terminal() {
			t.Errorf("rerun-failed answered %+v; want a new unfinished run of the same commit, parent %d, event rerun", again, run.ID)
		}
		second := l.Wait(t, again.ID, 60*time.Second)
		if second.Status != lathe.StatusSuccess {
			t.Fatalf("run after rerun-failed = %s; want success", second.Status)
		}
		if first := l.Run(t, run.ID); first.Status != lathe.StatusFailed ||
			lathetest.JobByName(t, first, "flaky").Status != lathe.StatusFailed || lathetest.JobByName(t, first, "after").Status != lathe.StatusSkipped {
			t.Errorf("the first run changed after its re-run: %s", first.Status)
		}
		for name, want := range map[string]struct {
			attempt int  // the number of the job's latest attempt
			carried bool // carried over from the first run
		}{"flaky": {2, false}, "after": {1, false}, "alone": {1, true}} {
			j := l.Job(t, lathetest.JobByName(t, second, name).ID)
			first := lathetest.JobByName(t, run, name)
			switch {
			case j.Status != lathe.StatusSuccess || len(j.Attempts) != 1 || j.Attempts[0].Number != want.attempt:
				t.Errorf("job %s = %s with %d attempts; want success with one attempt numbered %d", name, j.Status, len(j.Attempts), want.attempt)
			case want.carried && (j.CarriedFrom == nil || *j.CarriedFrom != first.ID || j.Attempts[0].JobID != first.ID):
				t.Errorf("job %s carried_from = %v, attempt of job %d; want carried from job %d", name, j.CarriedFrom, j.Attempts[0].JobID, first.ID)
			case !want.carried && j.CarriedFrom != nil:
				t.Errorf("job %s ran again but says it was carried from %d", name, *j.CarriedFrom)
			}
		}
		flaky := lathetest.JobByName(t, second, "flaky")
		if first := attemptLog(t, l, lathetest.JobByName(t, run, "flaky").ID, 1); !strings.Contains(first, "try 1") || !strings.Contains(first, "broken") {
			t.Errorf("first run's log: %q", first)
		}
		if latest := l.Log(t, flaky.ID); !strings.Contains(latest, "try 2") || !strings.Contains(latest, "recovered") {
			t.Errorf("re-run's log: %q", latest)
		}
		if carried := l.Log(t, lathetest.JobByName(t, second, "alone").ID); !strings.Contains(carried, "alone ran") {
			t.Errorf("carried job's log: %q", carried)
		}
		wantStatus(t, l.Client.Do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/runs/%d/rerun-failed", second.ID), nil, nil),
			http.StatusConflict, "rerun-failed of a successful run")

		alone := lathetest.JobByName(t, second, "alone")
		var third lathe.Run
		l.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/jobs/%d/rerun", alone.ID), nil, &third)
		if third.ID == second.ID || third.ParentID == nil || *third.ParentID != second.ID {
			t.Errorf("job re-run answered run %d (parent %v); want a new run of run %d", third.ID, third.ParentID, second.ID)
		}
		ended := l.Wait(t, third.ID, 60*time.Second)
		a3 := l.Job(t, lathetest.JobByName(t, ended, "alone").ID)
		f3 := l.Job(t, lathetest.JobByName(t, ended, "flaky").ID)
		if ended.Status != lathe.StatusSuccess || a3.CarriedFrom != nil || len(a3.Attempts) != 1 || a3.Attempts[0].Number != 2 ||
			f3.CarriedFrom == nil || *f3.CarriedFrom != flaky.ID {
			t.Errorf("after re-running alone: run %s, alone carried %v with %d attempts, flaky carried from %v (want %d)",
				ended.Status, a3.CarriedFrom, len(a3.Attempts), f3.CarriedFrom, flaky.ID)
		}

		var child lathe.Run
		l.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/runs/%d/rerun", third.ID), nil, &child)
		if child.ID == third.ID || child.ParentID == nil || *child.ParentID != third.ID || child.Event != lathe.EventRerun ||
			child.Commit != third.Commit || child.Ref != third.Ref || child.Number != third.Number+1 {
			t.Errorf("rerun = %+v; want a new run of the same commit and ref, parent %d, event rerun, number %d", child, third.ID, third.Number+1)
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
	if code, out := lathecli("rerun", "--job", fmt.Sprint(job.ID)); code != 0 || !strings.Contains(out, fmt.Sprintf("re-running job %d", job.ID)) {
		t.Errorf("lathe rerun --job: exit %d\n%s", code, out)
	}
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
	if len(page.Items) != 3 {
		t.Errorf("runs of slow = %d; want 3 (the original, its job's re-run and its re-run)", len(page.Items))
	}
}

// A job that runs again in a re-run downloads what a job carried over from
// the first run uploaded there, and the re-run lists that upload.
func TestRerunDownloadsWhatACarriedJobUploaded(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "marker")
	pipeline := fmt.Sprintf(`
jobs:
  build:
    steps:
      - mkdir -p dist && echo app > dist/app.txt
      - upload: {name: dist, paths: ["dist/**"]}
  test:
    needs: [build]
    steps:
      - download: {name: dist}
      - test "$(cat dist/app.txt)" = app
      - if [ -f %[1]q ]; then echo passed; else touch %[1]q; exit 1; fi
`, marker)
	o := lathetest.Options{Executor: executor.Options{Kind: executor.KindShell}} // the marker lives outside the workspace
	l := lathetest.Start(t, o)
	l.Project(t, "handoff", lathetest.Repo(t, map[string]string{".lathe.yml": pipeline}))
	run := l.Wait(t, l.Trigger(t, "handoff", "", "").ID, 60*time.Second)
	if run.Status != lathe.StatusFailed {
		t.Fatalf("first run = %s; want failed", run.Status)
	}
	var again lathe.Run
	l.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/runs/%d/rerun-failed", run.ID), nil, &again)
	done := l.Wait(t, again.ID, 60*time.Second)
	test := lathetest.JobByName(t, done, "test")
	if log := l.Log(t, test.ID); done.Status != lathe.StatusSuccess || !strings.Contains(log, "passed") {
		t.Fatalf("re-run = %s; test log:\n%s", done.Status, log)
	}
	if b := lathetest.JobByName(t, done, "build"); b.CarriedFrom == nil {
		t.Errorf("build ran again; want it carried over")
	}
	var list lathe.Page[*lathe.Upload]
	l.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d/uploads", again.ID), nil, &list)
	if len(list.Items) != 1 || list.Items[0].Name != "dist" || list.Items[0].RunID != run.ID {
		t.Errorf("re-run's uploads = %+v; want the carried build's dist from run %d", list.Items, run.ID)
	}
}

// A job carried over into a re-run keeps its test results, its reports
// and their warnings in the new run, as it keeps its uploads; its results
// count once more in no test's history.
func TestRerunKeepsWhatACarriedJobReported(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "marker")
	pipeline := fmt.Sprintf(`
jobs:
  unit:
    steps:
      - printf '<testsuite name="s"><testcase name="a"/><testcase name="b"><failure message="no"/></testcase></testsuite>' > r.xml
      - printf '<testsuite' > broken.xml
    reports:
      junit: [r.xml, broken.xml]
    allow_failure: true
  flaky:
    steps:
      - if [ -f %[1]q ]; then echo passed; else touch %[1]q; exit 1; fi
`, marker)
	l := lathetest.Start(t, lathetest.Options{Executor: executor.Options{Kind: executor.KindShell}}) // the marker lives outside the workspace
	l.Project(t, "carry", lathetest.Repo(t, map[string]string{".lathe.yml": pipeline}))
	run := l.Wait(t, l.Trigger(t, "carry", "", "").ID, 60*time.Second)
	var first lathe.RunTests
	l.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d/tests", run.ID), nil, &first)
	if run.Status != lathe.StatusFailed || first.Totals.Passed != 1 || first.Totals.Failed != 1 || len(first.Warnings) != 1 {
		t.Fatalf("first run = %s, tests %+v, %d warnings; want failed, 1 passed, 1 failed, 1 warning", run.Status, first.Totals, len(first.Warnings))
	}
	var again lathe.Run
	l.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/runs/%d/rerun-failed", run.ID), nil, &again)
	done := l.Wait(t, again.ID, 60*time.Second)
	if unit := lathetest.JobByName(t, done, "unit"); done.Status != lathe.StatusSuccess || unit.CarriedFrom == nil {
		t.Fatalf("re-run = %s, unit carried from %v; want success with unit carried", done.Status, unit.CarriedFrom)
	}
	var carried lathe.RunTests
	l.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d/tests", again.ID), nil, &carried)
	if carried.Totals != first.Totals || len(carried.Items) != 2 || len(carried.Warnings) != 1 {
		t.Errorf("re-run's tests = %+v, %d results, %d warnings; want the carried job's: %+v, 2, 1",
			carried.Totals, len(carried.Items), len(carried.Warnings), first.Totals)
	}
	var hist lathe.TestHistory
	l.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/test-cases/%d/history", carried.Items[0].ID), nil, &hist)
	if len(hist.Items) != 1 {
		t.Errorf("the carried test's history has %d results; want the one run it ran in", len(hist.Items))
	}
}
