package server_test

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// triggered is the answer to a trigger that names no pipeline.
type triggered struct {
	Items  []*lathe.Run `json:"items"`
	Errors []string     `json:"errors"`
}

// A trigger that names no pipeline starts every pipeline whose on: takes
// a manual request at the ref, in one call, and answers with the list;
// naming a pipeline starts that one, as before.
func TestTriggerWithoutPipelineStartsEveryPipelineTheEventSelects(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{})
	l.Project(t, "many", lathetest.Repo(t, map[string]string{
		".lathe/build.yml":   "jobs:\n  b:\n    steps: [echo build]\n",
		".lathe/pushed.yml":  "on: [push]\njobs:\n  p:\n    steps: [echo push]\n",
		".lathe/release.yml": "jobs:\n  r:\n    when: {branches: [release]}\n    steps: [echo release]\n",
		".lathe/deploy.yml":  "parameters:\n  target: {default: staging}\njobs:\n  d:\n    steps: [echo to $PARAM_TARGET]\n",
	}))
	l.Project(t, "pushonly", lathetest.Repo(t, map[string]string{".lathe.yml": "on: [push]\njobs:\n  p:\n    steps: [true]\n"}))
	ctx := context.Background()

	var all triggered
	l.Do(t, http.MethodPost, "/api/v1/projects/many/runs", map[string]any{"params": map[string]string{"target": "prod"}}, &all)
	var names []string
	for _, r := range all.Items {
		names = append(names, r.Pipeline)
		if len(r.Jobs) == 0 || r.Event != "manual" || r.Branch != "main" {
			t.Errorf("run %d of %s: %d jobs, event %s, branch %s", r.ID, r.Pipeline, len(r.Jobs), r.Event, r.Branch)
		}
	}
	sort.Strings(names)
	if strings.Join(names, ",") != "build,deploy" {
		t.Errorf("started %v, want build and deploy (pushed takes no manual request, release's job runs only on release)", names)
	}
	if len(all.Errors) != 1 || !strings.Contains(all.Errors[0], "pipeline release") {
		t.Errorf("errors %q, want one naming release", all.Errors)
	}
	for _, r := range all.Items {
		done := l.Wait(t, r.ID, time.Minute)
		if done.Status != lathe.StatusSuccess {
			t.Errorf("run of %s: %s", r.Pipeline, done.Status)
		}
		if r.Pipeline == "deploy" && !strings.Contains(l.Log(t, done.Jobs[0].ID), "to prod") {
			t.Errorf("deploy did not get its parameter:\n%s", l.Log(t, done.Jobs[0].ID))
		}
	}

	var one lathe.Run
	l.Do(t, http.MethodPost, "/api/v1/projects/many/runs", map[string]any{"pipeline": "build"}, &one)
	if one.ID == 0 || one.Pipeline != "build" {
		t.Errorf("trigger naming build: %+v", one)
	}
	for _, tc := range []struct {
		project string
		body    map[string]any
		want    string
	}{
		{"many", map[string]any{"params": map[string]string{"nope": "1"}}, `"nope" is a parameter of none`},
		{"pushonly", map[string]any{}, "no pipeline at refs/heads/main runs on manual requests"},
	} {
		err := l.Client.Do(ctx, http.MethodPost, "/api/v1/projects/"+tc.project+"/runs", tc.body, nil)
		if client.StatusOf(err) != http.StatusBadRequest || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %v: %v, want 400 saying %s", tc.project, tc.body, err, tc.want)
		}
	}
}
