package agent_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/executor"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// afterTimeoutPipeline's jobs write a file, then outlive their time
// (timed) or wait to be canceled (canceled); the file is an artifact
// kept whatever happens, and a report too for the timed-out one.
const afterTimeoutPipeline = `
jobs:
  timed:
    timeout: 5s
    steps:
      - echo e > e.txt; echo started; sleep 60
    artifacts:
      paths: [e.txt]
      when: always
  failing:
    timeout: 5s
    steps:
      - echo f > f.txt; sleep 60
    artifacts:
      paths: [f.txt]
      when: on_failure
  canceled:
    steps:
      - echo c > c.txt; echo started; sleep 30
    artifacts:
      paths: [c.txt]
      when: always
`

// A job that times out still stores its artifacts `when: always` and
// `when: on_failure`, and its log says so; a job a user cancels stores
// none.
func TestArtifactsAfterATimeoutAreStored(t *testing.T) {
	t.Parallel()
	// The shell executor starts fastest: the steps start well within
	// their time on a loaded machine too.
	l := lathetest.Start(t, lathetest.Options{Agents: 3, Executor: executor.Options{Kind: executor.KindShell}})
	l.Project(t, "late", lathetest.Repo(t, map[string]string{".lathe.yml": afterTimeoutPipeline}))
	run := l.Trigger(t, "late", "", "")
	deadline := time.Now().Add(time.Minute)
	for {
		r := l.Run(t, run.ID)
		if j := lathetest.JobByName(t, r, "canceled"); j.Status == lathe.StatusRunning && strings.Contains(l.Log(t, j.ID), "started") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the job to cancel did not start")
		}
		time.Sleep(100 * time.Millisecond)
	}
	canceled := lathetest.JobByName(t, l.Run(t, run.ID), "canceled")
	l.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/jobs/%d/cancel", canceled.ID), nil, nil)
	done := l.Wait(t, run.ID, 2*time.Minute)

	var list struct{ Items []*lathe.Artifact }
	l.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d/artifacts", run.ID), nil, &list)
	var got []string
	for _, a := range list.Items {
		got = append(got, a.Job+":"+a.Path)
	}
	if want := "failing:f.txt timed:e.txt"; strings.Join(got, " ") != want {
		t.Errorf("artifacts stored: %q, want %q", got, want)
	}
	for job, want := range map[string]lathe.Status{"timed": lathe.StatusTimedOut, "failing": lathe.StatusTimedOut, "canceled": lathe.StatusCanceled} {
		j := lathetest.JobByName(t, done, job)
		log := l.Log(t, j.ID)
		if j.Status != want {
			t.Errorf("job %s: %s, want %s; log:\n%s", job, j.Status, want, log)
		}
		if job != "canceled" && (!strings.Contains(log, "job timed out: running the steps that run after a failure (artifacts)") ||
			!strings.Contains(log, "artifacts: 1 file stored")) {
			t.Errorf("job %s's log does not say what was stored after its timeout:\n%s", job, log)
		}
	}
}
