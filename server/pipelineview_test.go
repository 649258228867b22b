package server_test

import (
	"net/http"
	"reflect"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

const viewedPipeline = `
name: ci
on:
  push:
    branches: [main, "feature/*"]
  pull_request:
  manual: {}
  schedule:
    - cron: "0 3 * * *"
parameters:
  level:
    default: "1"
templates:
  base:
    runs-on: [linux]
jobs:
  test:
    extends: [base]
    matrix:
      go: ["1.22", "1.23"]
      os: [linux]
    steps: [echo test]
  lint:
    steps: [echo lint $PARAM_LEVEL]
`

// pipelineDoc is the pipeline view as a client reads it.
type pipelineDoc struct {
	Name     string `json:"name"`
	Triggers struct {
		Push *struct {
			Branches []string `json:"branches"`
		} `json:"push"`
		PullRequest *struct{} `json:"pull_request"`
		Schedules   []struct {
			Cron string `json:"cron"`
		} `json:"schedules"`
		Manual  bool     `json:"manual"`
		Webhook bool     `json:"webhook"`
		After   []string `json:"after"`
	} `json:"triggers"`
	Params []struct {
		Name    string  `json:"name"`
		Default *string `json:"default"`
	} `json:"params"`
	Branches []struct {
		Branch string       `json:"branch"`
		RunID  int64        `json:"run_id"`
		Number int64        `json:"number"`
		Status lathe.Status `json:"status"`
	} `json:"branches"`
	Jobs []struct {
		Name    string   `json:"name"`
		Extends []string `json:"extends"`
		Matrix  *struct {
			Axes []struct {
				Name   string   `json:"name"`
				Values []string `json:"values"`
			} `json:"axes"`
			Combinations [][]struct {
				Name  string `json:"name"`
				Value string `json:"value"`
			} `json:"combinations"`
		} `json:"matrix"`
	} `json:"jobs"`
}

// A pipeline's view carries its triggers, its parameters, the newest run
// on each branch, and each job's extends parents and matrix.
func TestPipelineViewCarriesTriggersBranchesExtendsAndMatrix(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{})
	repo := lathetest.Repo(t, map[string]string{".lathe.yml": viewedPipeline})
	lathetest.Git(t, repo, "branch", "feature/x")
	l.Project(t, "pv", repo)

	var empty pipelineDoc
	l.Do(t, http.MethodGet, "/api/v1/projects/pv/pipelines/ci", nil, &empty)
	if len(empty.Branches) != 0 {
		t.Errorf("branches before any run: %+v", empty.Branches)
	}
	first := l.Wait(t, l.Trigger(t, "pv", "main", "ci").ID, time.Minute)
	second := l.Wait(t, l.Trigger(t, "pv", "main", "ci").ID, time.Minute)
	feature := l.Wait(t, l.Trigger(t, "pv", "feature/x", "ci").ID, time.Minute)
	if second.Status != lathe.StatusSuccess || feature.Status != lathe.StatusSuccess {
		t.Fatalf("runs: %s %s", second.Status, feature.Status)
	}

	var v pipelineDoc
	l.Do(t, http.MethodGet, "/api/v1/projects/pv/pipelines/ci", nil, &v)
	tr := v.Triggers
	if tr.Push == nil || !reflect.DeepEqual(tr.Push.Branches, []string{"main", "feature/*"}) || tr.PullRequest == nil ||
		!tr.Manual || tr.Webhook || len(tr.Schedules) != 1 || tr.Schedules[0].Cron != "0 3 * * *" || len(tr.After) != 0 {
		t.Errorf("triggers: %+v", tr)
	}
	if len(v.Params) != 1 || v.Params[0].Name != "level" || v.Params[0].Default == nil || *v.Params[0].Default != "1" {
		t.Errorf("params: %+v", v.Params)
	}
	if len(v.Branches) != 2 || v.Branches[0].Branch != "feature/x" || v.Branches[0].RunID != feature.ID ||
		v.Branches[1].Branch != "main" || v.Branches[1].RunID != second.ID || v.Branches[1].Number != second.Number ||
		v.Branches[1].Status != lathe.StatusSuccess {
		t.Errorf("branches: %+v (runs %d, %d, %d)", v.Branches, first.ID, second.ID, feature.ID)
	}
	if len(v.Jobs) != 2 {
		t.Fatalf("jobs: %+v", v.Jobs)
	}
	test, lint := v.Jobs[0], v.Jobs[1]
	if !reflect.DeepEqual(test.Extends, []string{"base"}) || test.Matrix == nil || len(test.Matrix.Axes) != 2 ||
		len(test.Matrix.Combinations) != 2 || test.Matrix.Combinations[1][0].Value != "1.23" || test.Matrix.Combinations[1][1].Value != "linux" {
		t.Errorf("test job: %+v", test)
	}
	if len(lint.Extends) != 0 || lint.Extends == nil || lint.Matrix != nil {
		t.Errorf("lint job: %+v", lint)
	}

	var list struct {
		Items []pipelineDoc `json:"items"`
	}
	l.Do(t, http.MethodGet, "/api/v1/projects/pv/pipelines", nil, &list)
	if len(list.Items) != 1 || !reflect.DeepEqual(list.Items[0], v) {
		t.Errorf("the list's view differs from the pipeline's:\n%+v\n%+v", list.Items, v)
	}
}
