package server_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
	"github.com/lathe-ci/lathe/server"
)

// A pipeline that names another in `on: pipeline: after` runs at the same
// commit when that one succeeds (Kraken's parent trigger), linked to it; a
// failed upstream starts nothing. A pipeline that does not run on manual
// events cannot be started by hand.
func TestPipelineAfterAnotherSucceeds(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		l := startLifecycle(t, o, server.Config{Agents: 2, ChainInterval: 100 * time.Millisecond})
		repo := lathetest.Repo(t, map[string]string{
			".lathe/build.yml":  "jobs:\n  compile:\n    steps: [echo built]\n",
			".lathe/broken.yml": "jobs:\n  oops:\n    steps: [exit 1]\n",
			".lathe/deploy.yml": "on:\n  pipeline: {after: [build, broken]}\njobs:\n  ship:\n    steps: [echo shipped after $LATHE_EVENT]\n",
		})
		l.Project(t, "chain", repo)
		err := l.Client.Do(context.Background(), http.MethodPost, "/api/v1/projects/chain/runs", map[string]string{"pipeline": "deploy"}, nil)
		wantStatus(t, err, http.StatusBadRequest, "manual run of a pipeline that runs only after another")

		broken := l.Wait(t, l.Trigger(t, "chain", "", "broken").ID, 60*time.Second)
		build := l.Wait(t, l.Trigger(t, "chain", "", "build").ID, 60*time.Second)
		if broken.Status != lathe.StatusFailed || build.Status != lathe.StatusSuccess {
			t.Fatalf("upstream runs = %s, %s", broken.Status, build.Status)
		}
		deploy := l.Wait(t, waitForRun(t, l, "chain", "deploy").ID, 60*time.Second)
		if deploy.Status != lathe.StatusSuccess || deploy.Event != "pipeline" || deploy.Commit != build.Commit ||
			deploy.ParentID == nil || *deploy.ParentID != build.ID {
			t.Errorf("deploy run = %s, event %s, commit %.7s, parent %v; want success after run %d at %.7s",
				deploy.Status, deploy.Event, deploy.Commit, deploy.ParentID, build.ID, build.Commit)
		}
		// One downstream run per successful upstream, however many ticks
		// pass (the failed upstream started none): once a second build's
		// deploy has started, the loop has passed over the first many times.
		build2 := l.Wait(t, l.Trigger(t, "chain", "", "build").ID, 60*time.Second)
		waitFor(t, 30*time.Second, "the second build's deploy", func() bool {
			r := waitForRun(t, l, "chain", "deploy")
			return r.ParentID != nil && *r.ParentID == build2.ID
		})
		var page lathe.Page[*lathe.Run]
		l.Do(t, http.MethodGet, "/api/v1/runs?project=chain&pipeline=deploy", nil, &page)
		if len(page.Items) != 2 {
			t.Errorf("deploy runs after two successful builds = %d; want 2", len(page.Items))
		}
	})
}

// waitForRun waits for a run of pipeline in project that nobody started by
// hand (a downstream or scheduled run) and returns the newest.
func waitForRun(t *testing.T, l *lathetest.Lathe, project, pipeline string) *lathe.Run {
	t.Helper()
	var run *lathe.Run
	waitFor(t, 30*time.Second, "a run of "+pipeline+" to start", func() bool {
		var page lathe.Page[*lathe.Run]
		l.Do(t, http.MethodGet, "/api/v1/runs?project="+project+"&pipeline="+pipeline, nil, &page)
		if len(page.Items) > 0 {
			run = page.Items[0]
		}
		return run != nil
	})
	return run
}

// A cron schedule starts runs with event schedule on the default branch;
// the schedule is first seen without firing for the past.
func TestScheduleFires(t *testing.T) {
	l := startLifecycle(t, lathetest.Options{}, server.Config{Agents: 1, ScheduleInterval: 200 * time.Millisecond})
	repo := lathetest.Repo(t, map[string]string{
		".lathe.yml": "on:\n  schedule:\n    - cron: '@every 1s'\njobs:\n  nightly:\n    steps: [echo tick]\n",
	})
	l.Project(t, "cron", repo)
	var runs []*lathe.Run
	waitFor(t, 30*time.Second, "two scheduled runs", func() bool {
		var page lathe.Page[*lathe.Run]
		l.Do(t, http.MethodGet, "/api/v1/runs?project=cron", nil, &page)
		runs = page.Items
		return len(runs) >= 2
	})
	for _, r := range runs {
		if r.Event != "schedule" || r.Branch != "main" {
			t.Errorf("scheduled run %d: event %s on %s; want schedule on main", r.ID, r.Event, r.Branch)
		}
	}
	for _, r := range runs {
		if done := l.Wait(t, r.ID, 60*time.Second); done.Status != lathe.StatusSuccess {
			t.Errorf("scheduled run %d = %s", r.ID, done.Status)
		}
	}
}
