package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

const externalPipeline = `
stages: [build, {name: scan, external: true}, deploy]
jobs:
  build:
    stage: build
    steps: [echo built]
  deploy:
    stage: deploy
    steps: [echo deployed]
`

// waitRun polls a run (at most 600 times, 100 ms apart) until ok holds.
func waitRun(t *testing.T, l *lathetest.Lathe, runID int64, what string, ok func(*lathe.Run) bool) *lathe.Run {
	t.Helper()
	for range 600 {
		r := l.Run(t, runID)
		if ok(r) {
			return r
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("run %d: never %s", runID, what)
	return nil
}

func stageByName(t *testing.T, r *lathe.Run, name string) *lathe.Stage {
	t.Helper()
	for _, s := range r.Stages {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("run %d has no stage %s", r.ID, name)
	return nil
}

// An external stage is driven from outside: the deploy stage waits for it
// after build succeeded, runs once it is set to success, and is skipped
// when it is set to failed. Only an external stage can be set, only while
// unfinished; a finished run's stage can be deleted with its jobs' logs,
// an unfinished run's cannot.
func TestExternalStageGatesLaterStages(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		l := lathetest.Start(t, o)
		l.Project(t, "ext", lathetest.Repo(t, map[string]string{".lathe.yml": externalPipeline}))
		ctx := context.Background()
		builtOK := func(r *lathe.Run) bool { return lathetest.JobByName(t, r, "build").Status == lathe.StatusSuccess }

		run := waitRun(t, l, l.Trigger(t, "ext", "", "").ID, "built", builtOK)
		scan := stageByName(t, run, "scan")
		if !scan.External || scan.Status != lathe.StatusPending || run.Status.Terminal() ||
			lathetest.JobByName(t, run, "deploy").Status != lathe.StatusPending || stageByName(t, run, "build").External {
			t.Fatalf("after build: run %s, scan %+v, deploy %s", run.Status, scan, lathetest.JobByName(t, run, "deploy").Status)
		}
		if deps := lathetest.JobByName(t, run, "deploy").Deps; strings.Join(deps, ",") != "build,stage:scan" {
			t.Errorf("deploy deps = %v", deps)
		}
		var st lathe.Stage
		path := fmt.Sprintf("/api/v1/stages/%d", scan.ID)
		// The stage-tracking API's own words (seed 004) work as Lathe's.
		l.Do(t, http.MethodPatch, path, map[string]string{"status": "IN_PROGRESS"}, &st)
		if st.Status != lathe.StatusRunning || st.StartedAt == nil || st.FinishedAt != nil {
			t.Errorf("scan after running = %+v", st)
		}
		// A stage whose jobs decide, a status an outside tool cannot set.
		buildPath := fmt.Sprintf("/api/v1/stages/%d", stageByName(t, run, "build").ID)
		if err := l.Client.Do(ctx, http.MethodPatch, buildPath, map[string]string{"status": "success"}, nil); !isStatus(err, http.StatusConflict) {
			t.Errorf("PATCH a job stage: %v, want 409", err)
		}
		if err := l.Client.Do(ctx, http.MethodPatch, path, map[string]string{"status": "skipped"}, nil); err == nil {
			t.Errorf("PATCH to skipped was accepted")
		}
		// Deleting a stage of an unfinished run is refused.
		if err := l.Client.Do(ctx, http.MethodDelete, buildPath, nil, nil); !isStatus(err, http.StatusConflict) {
			t.Errorf("DELETE a stage of a running run: %v, want 409", err)
		}
		l.Do(t, http.MethodPatch, path, map[string]string{"status": "success"}, &st)
		if st.Status != lathe.StatusSuccess || st.FinishedAt == nil || st.DurationMS == nil {
			t.Errorf("scan after success = %+v", st)
		}
		done := l.Wait(t, run.ID, 60*time.Second)
		if done.Status != lathe.StatusSuccess || lathetest.JobByName(t, done, "deploy").Status != lathe.StatusSuccess {
			t.Errorf("after scan success: run %s, deploy %s", done.Status, lathetest.JobByName(t, done, "deploy").Status)
		}
		if err := l.Client.Do(ctx, http.MethodPatch, path, map[string]string{"status": "failed"}, nil); !isStatus(err, http.StatusConflict) {
			t.Errorf("PATCH a finished stage: %v, want 409", err)
		}

		// A failure skips what waits for it and fails the run.
		run2 := waitRun(t, l, l.Trigger(t, "ext", "", "").ID, "built", builtOK)
		l.Do(t, http.MethodPatch, fmt.Sprintf("/api/v1/stages/%d", stageByName(t, run2, "scan").ID), map[string]string{"status": "FAILED"}, &st)
		done2 := l.Wait(t, run2.ID, 60*time.Second)
		if done2.Status != lathe.StatusFailed || lathetest.JobByName(t, done2, "deploy").Status != lathe.StatusSkipped ||
			stageByName(t, done2, "deploy").Status != lathe.StatusSkipped {
			t.Errorf("after scan failed: run %s, deploy %s", done2.Status, lathetest.JobByName(t, done2, "deploy").Status)
		}

		// A re-run meets the external stage afresh: it must be set again.
		var rerun lathe.Run
		l.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/runs/%d/rerun", run2.ID), nil, &rerun)
		again := waitRun(t, l, rerun.ID, "built", builtOK)
		if s := stageByName(t, again, "scan"); !s.External || s.Status != lathe.StatusPending ||
			lathetest.JobByName(t, again, "deploy").Status != lathe.StatusPending {
			t.Fatalf("re-run: scan %+v, deploy %s", s, lathetest.JobByName(t, again, "deploy").Status)
		}
		l.Do(t, http.MethodPatch, fmt.Sprintf("/api/v1/stages/%d", stageByName(t, again, "scan").ID), map[string]string{"status": "success"}, &st)
		if done := l.Wait(t, again.ID, 60*time.Second); done.Status != lathe.StatusSuccess {
			t.Errorf("re-run after scan success: %s", done.Status)
		}

		// A canceled run cancels its external stage.
		run3 := waitRun(t, l, l.Trigger(t, "ext", "", "").ID, "built", builtOK)
		l.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/runs/%d/cancel", run3.ID), nil, nil)
		done3 := l.Wait(t, run3.ID, 60*time.Second)
		if done3.Status != lathe.StatusCanceled || stageByName(t, done3, "scan").Status != lathe.StatusCanceled {
			t.Errorf("canceled run %s, scan %s", done3.Status, stageByName(t, done3, "scan").Status)
		}

		// Deleting the build stage of the finished run takes its job and log.
		build := lathetest.JobByName(t, done, "build")
		if log := l.Log(t, build.ID); !strings.Contains(log, "built") {
			t.Fatalf("build log = %q", log)
		}
		var gone lathe.Stage
		l.Do(t, http.MethodDelete, fmt.Sprintf("/api/v1/stages/%d", build.StageID), nil, &gone)
		if gone.Name != "build" || gone.Status != lathe.StatusSuccess {
			t.Errorf("deleted stage = %+v", gone)
		}
		for _, p := range []string{fmt.Sprintf("/api/v1/stages/%d", build.StageID), fmt.Sprintf("/api/v1/jobs/%d", build.ID),
			fmt.Sprintf("/api/v1/jobs/%d/log", build.ID)} {
			if err := l.Client.Do(ctx, http.MethodGet, p, nil, nil); !isStatus(err, http.StatusNotFound) {
				t.Errorf("GET %s after delete: %v, want 404", p, err)
			}
		}
		var stages struct {
			Items []*lathe.Stage `json:"items"`
		}
		l.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d/stages", done.ID), nil, &stages)
		if len(stages.Items) != 2 || stages.Items[0].Name != "scan" {
			t.Errorf("stages after delete = %+v", stages.Items)
		}
	})
}

// A public project's badge needs no login and says its result in words; a
// private project's is refused to anonymous callers like the project.
func TestBadgePublicAndPrivate(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{})
	repo := lathetest.Repo(t, map[string]string{".lathe.yml": "jobs: {ok: {steps: [echo ok]}}\n"})
	l.Project(t, "pub", repo)
	l.Project(t, "priv", repo)
	anon := lathetest.HTTPClient(t)
	get := func(path string) (int, string, string) {
		resp, err := anon.Get(l.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}
	l.Do(t, http.MethodPatch, "/api/v1/projects/pub", map[string]string{"visibility": "public"}, nil)
	if code, _, body := get("/api/v1/projects/pub/badge.svg"); code != http.StatusOK || !strings.Contains(body, ">no runs<") {
		t.Errorf("badge before any run = %d %s", code, body)
	}
	for _, p := range []string{"pub", "priv"} {
		if r := l.Wait(t, l.Trigger(t, p, "", "").ID, 60*time.Second); r.Status != lathe.StatusSuccess {
			t.Fatalf("%s run %s", p, r.Status)
		}
	}
	code, ctype, body := get("/api/v1/projects/pub/badge.svg?pipeline=main&branch=main")
	if code != http.StatusOK || ctype != "image/svg+xml" || !strings.Contains(body, `aria-label="main: passing"`) ||
		!strings.Contains(body, ">passing</text>") || !strings.HasPrefix(body, "<svg") {
		t.Errorf("public badge = %d %s %s", code, ctype, body)
	}
	if code, _, body := get("/api/v1/projects/pub/badge.svg?branch=nope"); code != http.StatusOK || !strings.Contains(body, ">no runs<") {
		t.Errorf("badge of a branch without runs = %d %s", code, body)
	}
	if code, _, _ := get("/api/v1/projects/priv/badge.svg"); code != http.StatusUnauthorized {
		t.Errorf("anonymous private badge = %d, want 401", code)
	}
	if code, _, _ := get("/api/v1/projects/nosuch/badge.svg"); code != http.StatusUnauthorized {
		t.Errorf("anonymous badge of a missing project = %d, want 401 (as a private one)", code)
	}
	// With a token, the private one.
	resp, err := l.Client.Request(context.Background(), http.MethodGet, "/api/v1/projects/priv/badge.svg", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), ">passing</text>") {
		t.Errorf("private badge with a token = %s", b)
	}
}
