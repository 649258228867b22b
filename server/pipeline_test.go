package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

const dagPipeline = `
name: ci
env:
  GREETING: hello
  SHARED: pipeline
stages: [build, test, deploy]
jobs:
  compile:
    stage: build
    env:
      SHARED: job
    steps:
      - echo "$GREETING $SHARED $LATHE_PROJECT $LATHE_PIPELINE $LATHE_RUN_NUMBER $LATHE_JOB $LATHE_COMMIT $LATHE_REF"
      - name: workspace
        run: test "$PWD" = "$LATHE_WORKSPACE" && test -f .lathe.yml && echo "checked out"
  unit:
    stage: test
    needs: [compile]
    steps:
      - sleep 0.2; echo unit done
  lint:
    stage: test
    needs: []
    steps:
      - echo lint done
  ship:
    stage: deploy
    steps:
      - echo shipped
`

// A pipeline runs end to end: stages in order, needs respected, every job
// succeeds, environment and workspace are right, and statuses and timings
// roll up into stages and the run.
func TestPipelineRunsEndToEnd(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		l := lathetest.Start(t, o)
		repo := lathetest.Repo(t, map[string]string{".lathe.yml": dagPipeline})
		commit := strings.TrimSpace(lathetest.Git(t, repo, "rev-parse", "HEAD"))
		l.Project(t, "demo", repo)
		run := l.Wait(t, l.Trigger(t, "demo", "main", "").ID, 60*time.Second)

		if run.Status != lathe.StatusSuccess {
			t.Fatalf("run status = %s, want success", run.Status)
		}
		if run.Commit != commit || run.Ref != "refs/heads/main" || run.Branch != "main" || run.Number != 1 {
			t.Errorf("run = commit %s ref %s branch %s number %d; want %s refs/heads/main main 1", run.Commit, run.Ref, run.Branch, run.Number, commit)
		}
		var names []string
		for _, st := range run.Stages {
			names = append(names, st.Name)
			if st.Status != lathe.StatusSuccess || st.StartedAt == nil || st.FinishedAt == nil || st.DurationMS == nil {
				t.Errorf("stage %s: status %s started %v finished %v", st.Name, st.Status, st.StartedAt, st.FinishedAt)
			}
		}
		if got := strings.Join(names, ","); got != "build,test,deploy" {
			t.Errorf("stages = %s, want build,test,deploy", got)
		}
		compile, unit := lathetest.JobByName(t, run, "compile"), lathetest.JobByName(t, run, "unit")
		lint, ship := lathetest.JobByName(t, run, "lint"), lathetest.JobByName(t, run, "ship")
		for _, j := range []*lathe.Job{compile, unit, lint, ship} {
			if j.Status != lathe.StatusSuccess {
				t.Errorf("job %s = %s, want success", j.Name, j.Status)
			}
		}
		after := func(later, earlier *lathe.Job) {
			t.Helper()
			if later.StartedAt.Before(*earlier.FinishedAt) {
				t.Errorf("%s started %v, before %s finished %v", later.Name, later.StartedAt, earlier.Name, earlier.FinishedAt)
			}
		}
		after(unit, compile) // needs
		after(ship, unit)    // later stage waits for every earlier job
		after(ship, lint)
		if !lint.StartedAt.Before(*unit.StartedAt) {
			t.Errorf("lint (needs: []) should start before unit, which waits for compile")
		}

		log := l.Log(t, compile.ID)
		want := "hello job demo ci 1 compile " + commit + " refs/heads/main"
		if !strings.Contains(log, want) || !strings.Contains(log, "checked out") {
			t.Errorf("compile log lacks %q or the workspace check:\n%s", want, log)
		}
		j := l.Job(t, compile.ID)
		if len(j.Attempts) != 1 || len(j.Attempts[0].Steps) != 3 {
			t.Fatalf("compile: want 1 attempt with 3 steps (checkout + 2), got %+v", j.Attempts)
		}
		for i, st := range j.Attempts[0].Steps {
			if st.Status != lathe.StatusSuccess || st.ExitCode == nil || *st.ExitCode != 0 || st.LogEnd == nil {
				t.Errorf("step %d (%s): status %s exit %v", i, st.Name, st.Status, st.ExitCode)
			}
			if i > 0 && st.LogStart != *j.Attempts[0].Steps[i-1].LogEnd {
				t.Errorf("step %d log starts at %d, previous ended at %d", i, st.LogStart, *j.Attempts[0].Steps[i-1].LogEnd)
			}
		}
		if second := l.Wait(t, l.Trigger(t, "demo", "", "ci").ID, 60*time.Second); second.Number != 2 {
			t.Errorf("second run number = %d, want 2", second.Number)
		}
	})
}

// A failed job fails its run, and every job that needs it, directly or
// through another job, is skipped; jobs that don't need it still run.
func TestFailedJobSkipsDependents(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{})
	repo := lathetest.Repo(t, map[string]string{".lathe.yml": `
jobs:
  broken:
    steps:
      - echo before
      - exit 3
      - echo never
  needs-broken:
    needs: [broken]
    steps: [echo no]
  transitively:
    needs: [needs-broken]
    steps: [echo no]
  independent:
    needs: []
    steps: [echo yes]
`})
	l.Project(t, "fails", repo)
	run := l.Wait(t, l.Trigger(t, "fails", "", "").ID, 60*time.Second)
	if run.Status != lathe.StatusFailed {
		t.Errorf("run = %s, want failed", run.Status)
	}
	want := map[string]lathe.Status{"broken": lathe.StatusFailed, "needs-broken": lathe.StatusSkipped,
		"transitively": lathe.StatusSkipped, "independent": lathe.StatusSuccess}
	for name, st := range want {
		if j := lathetest.JobByName(t, run, name); j.Status != st {
			t.Errorf("job %s = %s, want %s", name, j.Status, st)
		}
	}
	if run.Stages[0].Status != lathe.StatusFailed {
		t.Errorf("stage = %s, want failed", run.Stages[0].Status)
	}
	broken := l.Job(t, lathetest.JobByName(t, run, "broken").ID)
	steps := broken.Attempts[0].Steps
	if len(steps) != 4 || *steps[2].ExitCode != 3 || steps[2].Status != lathe.StatusFailed || steps[3].Status != lathe.StatusSkipped {
		t.Errorf("steps of broken: %+v", steps)
	}
	log := l.Log(t, broken.ID)
	if !strings.Contains(log, "before\n") || strings.Contains(log, "never\n") || !strings.Contains(log, "exit status 3") {
		t.Errorf("log of broken:\n%s", log)
	}
}

// The problems met reading a branch's pipeline files are kept per branch
// (Zuul's config-errors) until a commit of the branch reads cleanly.
func TestConfigErrorsAreKeptPerBranch(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		l := lathetest.Start(t, lathetest.Options{DatabaseURL: o.DatabaseURL, Agents: -1})
		repo := lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  a:\n    steps: [true]\n    neds: [b]\n"})
		l.Project(t, "cfg", repo)
		if err := l.Client.Do(context.Background(), http.MethodPost, "/api/v1/projects/cfg/runs", map[string]string{}, nil); err == nil {
			t.Fatal("trigger of a broken pipeline succeeded")
		}
		var list struct{ Items []*lathe.ConfigErrors }
		l.Do(t, http.MethodGet, "/api/v1/projects/cfg/config-errors", nil, &list)
		if len(list.Items) != 1 || list.Items[0].Branch != "main" || len(list.Items[0].Errors) != 1 {
			t.Fatalf("config errors = %+v; want one problem on main", list.Items)
		}
		e := list.Items[0].Errors[0]
		if e.File != ".lathe.yml" || e.Line != 4 || e.Column != 5 || !strings.Contains(e.Message, "needs") || e.Severity != "error" {
			t.Errorf("problem = %+v; want .lathe.yml:4:5 suggesting needs", e)
		}
		l.Do(t, http.MethodGet, "/api/v1/projects/cfg/config-errors?branch=other", nil, &list)
		if len(list.Items) != 0 {
			t.Errorf("config errors of another branch = %+v; want none", list.Items)
		}
		for severity, want := range map[string]int{"error": 1, "warning": 0} {
			l.Do(t, http.MethodGet, "/api/v1/projects/cfg/config-errors?severity="+severity, nil, &list)
			if len(list.Items) != want {
				t.Errorf("config errors of severity %s = %+v; want %d branches", severity, list.Items, want)
			}
		}
		if err := l.Client.Do(context.Background(), http.MethodGet, "/api/v1/projects/cfg/config-errors?severity=fatal", nil, nil); client.StatusOf(err) != http.StatusBadRequest {
			t.Errorf("severity=fatal: %v, want 400", err)
		}

		lathetest.Commit(t, repo, map[string]string{".lathe.yml": "jobs:\n  a:\n    steps: [true]\n"})
		l.Trigger(t, "cfg", "main", "")
		l.Do(t, http.MethodGet, "/api/v1/projects/cfg/config-errors", nil, &list)
		if len(list.Items) != 0 {
			t.Errorf("config errors after a clean commit = %+v; want none", list.Items)
		}
	})
}
