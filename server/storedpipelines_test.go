package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

const storedNightly = `name: nightly
on:
  manual: {}
  push:
    branches: [main]
jobs:
  check:
    secrets: [DB_PASS]
    steps:
      - test "$DB_PASS" = "s3cret-value" && echo stored-pipeline-ran-with-secret
`

// A pipeline an owner stores through the API runs beside the repository's
// at the project's commits, with the project's secrets, on the events its
// on: names; broken YAML is refused with its line and nothing changes; a
// repository file of the same name wins; deleting it stops its runs.
func TestStoredPipelines(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{})
	l.Project(t, "shop", lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  build:\n    steps: [echo built]\n"}))
	l.Do(t, http.MethodPut, "/api/v1/projects/shop/secrets/DB_PASS", map[string]string{"value": "s3cret-value"}, nil)

	var sp lathe.StoredPipeline
	resp, err := l.Client.Request(t.Context(), http.MethodPut, "/api/v1/projects/shop/stored-pipelines/nightly",
		map[string]string{"pipeline_yaml": storedNightly}, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("Location") != "/api/v1/projects/shop/stored-pipelines/nightly" {
		t.Fatalf("store: %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	l.Do(t, http.MethodGet, "/api/v1/projects/shop/stored-pipelines/nightly", nil, &sp)
	if sp.Name != "nightly" || sp.YAML != storedNightly || sp.UpdatedBy != "admin" {
		t.Errorf("stored: %+v", sp)
	}

	var files struct {
		Items []struct {
			Name string `json:"name"`
			File string `json:"file"`
		} `json:"items"`
	}
	l.Do(t, http.MethodGet, "/api/v1/projects/shop/pipelines", nil, &files)
	if len(files.Items) != 2 || files.Items[0].Name != "main" || files.Items[1].Name != "nightly" || files.Items[1].File != "stored:nightly" {
		t.Errorf("pipelines with the stored one: %+v", files.Items)
	}

	// A manual run of the stored pipeline gets the project's secret.
	run := l.Wait(t, l.Trigger(t, "shop", "main", "nightly").ID, time.Minute)
	if run.Status != lathe.StatusSuccess || !strings.Contains(l.Log(t, run.Jobs[0].ID), "stored-pipeline-ran-with-secret") {
		t.Fatalf("stored pipeline's run: %s\n%s", run.Status, l.Log(t, run.Jobs[0].ID))
	}
	// A push to main starts it as well as the repository's pipeline.
	var tok struct {
		Token string `json:"token"`
	}
	l.Do(t, http.MethodPost, "/api/v1/projects/shop/hook-tokens", map[string]string{"name": "push"}, &tok)
	if got := strings.Join(hookRuns(t, l, tok.Token, map[string]string{"ref": "main", "event": "push"}), " "); got != "main:build nightly:check" {
		t.Errorf("a push started %q, want main:build and nightly:check", got)
	}

	// Broken YAML: 422 naming the line, and the stored YAML is unchanged.
	err = l.Client.Do(t.Context(), http.MethodPut, "/api/v1/projects/shop/stored-pipelines/nightly",
		map[string]string{"pipeline_yaml": "jobs:\n  check:\n    stepz: [true]\n"}, nil)
	if client.StatusOf(err) != http.StatusUnprocessableEntity || !strings.Contains(err.Error(), "stepz") {
		t.Errorf("broken YAML: %v, want 422 naming stepz", err)
	}
	err = l.Client.Do(t.Context(), http.MethodPut, "/api/v1/projects/shop/stored-pipelines/nightly",
		map[string]string{"pipeline_yaml": "name: other\njobs:\n  a:\n    steps: [true]\n"}, nil)
	if client.StatusOf(err) != http.StatusBadRequest {
		t.Errorf("YAML naming another pipeline: %v, want 400", err)
	}
	l.Do(t, http.MethodGet, "/api/v1/projects/shop/stored-pipelines/nightly", nil, &sp)
	if sp.YAML != storedNightly {
		t.Errorf("a refused PUT changed the stored YAML to %q", sp.YAML)
	}
	// Replacing answers 200.
	replaced := strings.Replace(storedNightly, "stored-pipeline-ran", "replaced-pipeline-ran", 1)
	if err := l.Client.Do(t.Context(), http.MethodPut, "/api/v1/projects/shop/stored-pipelines/nightly",
		map[string]string{"pipeline_yaml": replaced}, &sp); err != nil || sp.YAML != replaced || !sp.UpdatedAt.After(sp.CreatedAt) && !sp.UpdatedAt.Equal(sp.CreatedAt) {
		t.Errorf("replace: %v %+v", err, sp)
	}

	// A repository file of the same name wins over a stored pipeline.
	l.Do(t, http.MethodPut, "/api/v1/projects/shop/stored-pipelines/main", map[string]string{"pipeline_yaml": "jobs:\n  shadow:\n    steps: [true]\n"}, nil)
	var mainView pipelineDoc
	l.Do(t, http.MethodGet, "/api/v1/projects/shop/pipelines/main", nil, &mainView)
	if len(mainView.Jobs) != 1 || mainView.Jobs[0].Name != "build" {
		t.Errorf("main with a stored pipeline of that name: %+v, want the repository's", mainView.Jobs)
	}

	// Deleted: gone from the views, and a run of it is refused.
	l.Do(t, http.MethodDelete, "/api/v1/projects/shop/stored-pipelines/nightly", nil, nil)
	if err := l.Client.Do(t.Context(), http.MethodGet, "/api/v1/projects/shop/stored-pipelines/nightly", nil, nil); client.StatusOf(err) != http.StatusNotFound {
		t.Errorf("after delete: %v, want 404", err)
	}
	if err := l.Client.Do(t.Context(), http.MethodDelete, "/api/v1/projects/shop/stored-pipelines/nightly", nil, nil); client.StatusOf(err) != http.StatusNotFound {
		t.Errorf("deleting again: %v, want 404", err)
	}
	if err := l.Client.Do(t.Context(), http.MethodPost, "/api/v1/projects/shop/runs", map[string]any{"ref": "main", "pipeline": "nightly"}, nil); err == nil {
		t.Error("a run of the deleted stored pipeline started")
	}
	run = l.Run(t, run.ID)
	if run.Status != lathe.StatusSuccess {
		t.Errorf("the stored pipeline's old run: %s", run.Status)
	}
}

// A project whose repository has no pipeline files runs its stored ones.
func TestStoredPipelinesNeedNoFiles(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{})
	l.Project(t, "bare", lathetest.Repo(t, map[string]string{"README": "no pipelines here\n"}))
	if err := l.Client.Do(t.Context(), http.MethodPost, "/api/v1/projects/bare/runs", map[string]any{"ref": "main"}, nil); client.StatusOf(err) != http.StatusBadRequest ||
		!strings.Contains(err.Error(), "stores no pipelines") {
		t.Errorf("a run with no files and nothing stored: %v, want 400 saying so", err)
	}
	l.Do(t, http.MethodPut, "/api/v1/projects/bare/stored-pipelines/ci", map[string]string{"pipeline_yaml": "jobs:\n  a:\n    steps: [echo from-the-server]\n"}, nil)
	run := l.Wait(t, l.Trigger(t, "bare", "main", "ci").ID, time.Minute)
	if run.Status != lathe.StatusSuccess || !strings.Contains(l.Log(t, run.Jobs[0].ID), "from-the-server") {
		t.Errorf("stored pipeline on a repository without files: %s", run.Status)
	}
}
