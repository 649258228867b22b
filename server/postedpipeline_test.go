package server_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/lathetest"
	"github.com/lathe-ci/lathe/pipeline"
	"github.com/lathe-ci/lathe/store"
)

const postedPipeline = `
parameters:
  who: {type: string, default: world}
jobs:
  hello:
    steps: ['echo "hello $PARAM_WHO pw=${DB_PASSWORD:-none} event=$LATHE_EVENT"']
  prod-only:
    when: {branches: [production]}
    steps: [echo prod]
`

// problemOf returns the problem a client error carries.
func problemOf(t *testing.T, err error) (int, *client.Error) {
	t.Helper()
	var ce *client.Error
	if !errors.As(err, &ce) {
		t.Fatalf("want an HTTP error, got %v", err)
	}
	return ce.Status, ce
}

// Posted pipeline YAML is planned without a commit: its plan, or its
// problems with their lines and fields. A run of posted YAML starts only
// when the project's owner allows it, never with secrets, and is marked as
// coming from the API; its failed jobs re-run as such, and it cannot be
// re-run whole from the commit, which does not hold it.
func TestPipelinesFromTheAPI(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		l := lathetest.Start(t, o)
		repo := lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  repo-job:\n    steps: [echo from the repository]\n"})
		l.Project(t, "apip", repo)
		mustCall(t, l, http.StatusCreated, "POST", "/api/v1/projects/apip/secrets", map[string]string{"name": "DB_PASSWORD", "value": "s3cret-db-pw-4711"})

		// The plan of posted YAML, for the ref and parameters given.
		var plan struct {
			Pipeline, File, Commit, Ref string
			Jobs                        []pipeline.JobView
			Skipped                     []pipeline.Skipped
		}
		l.Do(t, http.MethodPost, "/api/v1/projects/apip/pipelines/try/plan",
			map[string]any{"pipeline_yaml": postedPipeline, "ref": "main", "params": map[string]string{"who": "lathe"}}, &plan)
		if plan.Pipeline != "try" || plan.File != ".lathe/try.yml" || plan.Commit != "" || plan.Ref != "refs/heads/main" ||
			len(plan.Jobs) != 1 || plan.Jobs[0].Name != "hello" || len(plan.Skipped) != 1 {
			t.Errorf("plan = %+v", plan)
		}

		// Broken YAML: each problem with its line and field.
		broken := "jobs:\n  a:\n    steps: [echo a]\n    needs: [nope]\n  b:\n    stepz: [echo b]\n"
		err := l.Client.Do(context.Background(), http.MethodPost, "/api/v1/projects/apip/pipelines/try/plan",
			map[string]any{"pipeline_yaml": broken}, nil)
		status, p := problemOf(t, err)
		lines := map[string]int{}
		for _, e := range p.Errors {
			lines[e.Field] = e.Line
			if e.File != ".lathe/try.yml" {
				t.Errorf("problem %+v: file %q", e, e.File)
			}
		}
		if status != http.StatusUnprocessableEntity || lines["jobs.a.needs"] != 4 || lines["jobs.b.stepz"] != 6 {
			t.Errorf("plan of broken YAML = %d %+v; want 422 with jobs.a.needs at line 4 and jobs.b.stepz at line 6", status, p)
		}
		err = l.Client.Do(context.Background(), http.MethodPost, "/api/v1/projects/apip/pipelines/try/plan",
			map[string]any{"pipeline_yaml": "jobs:\n  a: [\n"}, nil)
		if status, p := problemOf(t, err); status != http.StatusUnprocessableEntity || len(p.Errors) == 0 || p.Errors[0].Line < 2 {
			t.Errorf("plan of unparsable YAML = %d %+v; want 422 with a line", status, p)
		}
		err = l.Client.Do(context.Background(), http.MethodPost, "/api/v1/projects/apip/pipelines/try/plan",
			map[string]any{"pipeline_yaml": "name: other\n" + postedPipeline}, nil)
		wantStatus(t, err, http.StatusBadRequest, "posted YAML naming another pipeline")

		// Runs of posted YAML: refused until the owner allows them.
		runPosted := func(yaml string) (*lathe.Run, error) {
			var run lathe.Run
			err := l.Client.Do(context.Background(), http.MethodPost, "/api/v1/projects/apip/runs",
				map[string]any{"pipeline": "try", "pipeline_yaml": yaml, "ref": "main"}, &run)
			return &run, err
		}
		_, err = runPosted(postedPipeline)
		wantStatus(t, err, http.StatusForbidden, "a run of posted YAML in a project that does not allow it")
		var proj lathe.Project
		l.Do(t, http.MethodPatch, "/api/v1/projects/apip", map[string]any{"allow_api_pipelines": true}, &proj)
		if !proj.AllowAPIPipelines {
			t.Fatalf("project = %+v", proj)
		}
		var events lathe.Page[*store.AuditEvent]
		l.Do(t, http.MethodGet, "/api/v1/projects/apip/events?type=project.updated", nil, &events)
		if len(events.Items) != 1 || events.Items[0].Details["allow_api_pipelines"] != true {
			t.Errorf("audit of allowing posted pipelines = %+v", events.Items)
		}
		// Never with secrets: a job naming one refuses the run, naming it.
		_, err = runPosted(postedPipeline + "  steal:\n    secrets: [DB_PASSWORD]\n    steps: [echo $DB_PASSWORD]\n")
		if status, p := problemOf(t, err); status != http.StatusBadRequest || !strings.Contains(p.Detail, "DB_PASSWORD") {
			t.Errorf("posted YAML naming a secret = %d %q; want 400 naming it", status, p.Detail)
		}
		_, err = runPosted(broken)
		wantStatus(t, err, http.StatusUnprocessableEntity, "a run of broken posted YAML")

		run, err := runPosted(postedPipeline)
		if err != nil {
			t.Fatal(err)
		}
		done := l.Wait(t, run.ID, 60*time.Second)
		log := l.Log(t, lathetest.JobByName(t, done, "hello").ID)
		if done.Status != lathe.StatusSuccess || !done.PipelineFromAPI || done.Pipeline != "try" ||
			!strings.Contains(log, "hello world pw=none event=manual") {
			t.Errorf("posted run = %s, from API %v, pipeline %s, log %q", done.Status, done.PipelineFromAPI, done.Pipeline, log)
		}
		head := strings.TrimSpace(lathetest.Git(t, repo, "rev-parse", "main"))
		if done.Commit != head {
			t.Errorf("posted run at %.7s; want main's head %.7s", done.Commit, head)
		}

		// A failing posted run: its failed jobs re-run marked as from the
		// API; a whole re-run is refused.
		failing, err := runPosted("jobs:\n  flaky:\n    steps: [exit 3]\n")
		if err != nil {
			t.Fatal(err)
		}
		failing = l.Wait(t, failing.ID, 60*time.Second)
		err = l.Client.Do(context.Background(), http.MethodPost, fmt.Sprintf("/api/v1/runs/%d/rerun", failing.ID), nil, nil)
		wantStatus(t, err, http.StatusBadRequest, "re-running a posted run whole")
		var again lathe.Run
		l.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/runs/%d/rerun-failed", failing.ID), nil, &again)
		if again := l.Wait(t, again.ID, 60*time.Second); !again.PipelineFromAPI || again.Status != lathe.StatusFailed {
			t.Errorf("re-run of a posted run's failed jobs = %s, from API %v", again.Status, again.PipelineFromAPI)
		}

		// The repository's own pipeline is untouched and unmarked.
		repoRun := l.Wait(t, l.Trigger(t, "apip", "", "").ID, 60*time.Second)
		if repoRun.PipelineFromAPI || repoRun.Status != lathe.StatusSuccess {
			t.Errorf("repository run = %s, from API %v", repoRun.Status, repoRun.PipelineFromAPI)
		}
	})
}
