package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/executor"
	"github.com/lathe-ci/lathe/internal/lathetest"
	"github.com/lathe-ci/lathe/internal/pgtest"
)

// quietPipeline's step says it started, then prints nothing for ten minutes.
const quietPipeline = `
jobs:
  quiet:
    steps:
      - echo started; sleep 600
`

// A cancel reaches a step that prints nothing at once, not with the answer
// to the agent's next report: the agents here report only every ten minutes
// when they have nothing to say, and the run still ends canceled well within
// the test's two minutes. On PostgreSQL the cancel goes through one replica
// and the agent waits on the other.
func TestACancelReachesAQuietStep(t *testing.T) {
	const heartbeat = 10 * time.Minute
	shell := executor.Options{Kind: executor.KindShell} // starts fastest
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		l := lathetest.Start(t, lathetest.Options{Agents: 1, Heartbeat: heartbeat, Executor: shell})
		cancelQuietJob(t, l, l)
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		dsn := pgtest.Shared(t).NewDatabase(t)
		a := lathetest.Start(t, lathetest.Options{DatabaseURL: dsn, Agents: -1})
		b := lathetest.Start(t, lathetest.Options{DataDir: replicaDir(t, a), DatabaseURL: dsn, Agents: 1, Heartbeat: heartbeat, Executor: shell})
		cancelQuietJob(t, a, b)
	})
}

// cancelQuietJob starts quietPipeline through at, whose agent runs on ran,
// cancels its job once the step has started, and checks the run ends
// canceled.
func cancelQuietJob(t *testing.T, at, ran *lathetest.Lathe) {
	at.Project(t, "quiet", lathetest.Repo(t, map[string]string{".lathe.yml": quietPipeline}))
	run := at.Trigger(t, "quiet", "", "")
	job := run.Jobs[0]
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(at.Log(t, job.ID), "started") {
		if time.Now().After(deadline) {
			t.Fatal("the step did not start")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The reports of the step's start go out within its first second; a
	// cancel after them has no report to ride on but the next heartbeat's.
	time.Sleep(3 * time.Second)
	at.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/jobs/%d/cancel", job.ID), nil, nil)
	done := ran.Wait(t, run.ID, 2*time.Minute)
	if done.Status != lathe.StatusCanceled {
		t.Fatalf("run %s, want canceled", done.Status)
	}
	if j := lathetest.JobByName(t, done, "quiet"); j.Status != lathe.StatusCanceled {
		t.Errorf("job %s, want canceled", j.Status)
	}
}
