package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/cli"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/lathetest"
	"github.com/lathe-ci/lathe/pipeline"
)

const matrixPipeline = `
parameters:
  greeting: {type: string, default: hello}
jobs:
  test:
    matrix: {os: [linux, bsd], size: [s, m]}
    steps: [echo "$PARAM_GREETING $MATRIX_OS $MATRIX_SIZE"]
  soak:
    when: {events: [schedule]}
    steps: [echo soak]
  report:
    needs: [test]
    steps: [echo report]
`

// The plan of a pipeline at a ref is served without running it, a triggered
// run gets exactly the planned jobs with their matrix values and parameters,
// and the pipeline schema is public.
func TestPlanMatrixAndParamsOnTheServer(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{})
	l.Project(t, "mx", lathetest.Repo(t, map[string]string{".lathe.yml": matrixPipeline}))

	var plan struct {
		Commit  string
		Jobs    []pipeline.JobView
		Skipped []pipeline.Skipped
	}
	l.Do(t, http.MethodGet, "/api/v1/projects/mx/pipelines/main/plan?param=greeting=hi", nil, &plan)
	var names []string
	for _, j := range plan.Jobs {
		names = append(names, j.Name)
	}
	want := "test (os=linux, size=s),test (os=linux, size=m),test (os=bsd, size=s),test (os=bsd, size=m),report"
	if strings.Join(names, ",") != want || len(plan.Skipped) != 1 || plan.Skipped[0].Job != "soak" || len(plan.Commit) != 40 {
		t.Errorf("plan = %s, skipped %+v, commit %q; want %s and soak left out", strings.Join(names, ","), plan.Skipped, plan.Commit, want)
	}
	// One job frozen (Zuul's freeze-job): by name, or a matrix's by its base.
	for job, want := range map[string]int{"report": 1, "test": 4, "test (os=bsd, size=m)": 1} {
		l.Do(t, http.MethodGet, "/api/v1/projects/mx/pipelines/main/plan?job="+url.QueryEscape(job), nil, &plan)
		if len(plan.Jobs) != want || plan.Jobs[0].Name != job && plan.Jobs[0].Base != job {
			t.Errorf("plan ?job=%s: %d jobs %+v, want %d", job, len(plan.Jobs), plan.Jobs, want)
		}
	}
	if err := l.Client.Do(context.Background(), http.MethodGet, "/api/v1/projects/mx/pipelines/main/plan?job=soak", nil, nil); client.StatusOf(err) != http.StatusNotFound {
		t.Errorf("plan ?job=soak (not planned on a manual run): %v, want 404", err)
	}
	err := l.Client.Do(context.Background(), http.MethodGet, "/api/v1/projects/mx/pipelines/main/plan?param=nope=1", nil, nil)
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != http.StatusBadRequest || !strings.Contains(ce.Error(), "nope") {
		t.Errorf("plan with an unknown parameter: %v; want 400 naming it", err)
	}

	var run lathe.Run
	l.Do(t, http.MethodPost, "/api/v1/projects/mx/runs", map[string]any{"pipeline": "main", "params": map[string]string{"greeting": "hi"}}, &run)
	done := l.Wait(t, run.ID, 60*time.Second)
	if done.Status != lathe.StatusSuccess || len(done.Jobs) != 5 {
		t.Fatalf("run = %s with %d jobs; want success with 5", done.Status, len(done.Jobs))
	}
	if log := l.Log(t, lathetest.JobByName(t, done, "test (os=bsd, size=m)").ID); !strings.Contains(log, "hi bsd m\n") {
		t.Errorf("log of test (os=bsd, size=m) = %q; want the parameter and matrix values", log)
	}
	if fmt.Sprint(done.Params) != "[{greeting hi}]" {
		t.Errorf("run params = %v; want [{greeting hi}]", done.Params)
	}
	// A re-run is planned with its parent's parameter values.
	var child lathe.Run
	l.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/runs/%d/rerun", run.ID), nil, &child)
	child = *l.Wait(t, child.ID, 60*time.Second)
	if fmt.Sprint(child.Params) != "[{greeting hi}]" || !strings.Contains(l.Log(t, lathetest.JobByName(t, &child, "report").ID), "report") {
		t.Errorf("re-run params = %v; want the parent's", child.Params)
	}

	var out bytes.Buffer
	env := &cli.Env{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }}
	args := []string{"run", "mx", "--param", "greeting=yo", "--follow", "--server", l.URL, "--token", l.AdminToken}
	if code := cli.Run(context.Background(), args, env); code != 0 || !strings.Contains(out.String(), "yo linux s\n") {
		t.Errorf("lathe run --param --follow: exit %d\n%s", code, out.String())
	}

	resp, err := lathetest.HTTPClient(t).Get(l.URL + "/api/v1/pipeline-schema")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var schema map[string]any
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &schema) != nil || schema["$schema"] == nil {
		t.Errorf("pipeline schema without a token: %d %.200s", resp.StatusCode, body)
	}
}
