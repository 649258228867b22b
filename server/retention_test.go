package server_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/clock"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

const retentionPipeline = `
jobs:
  build:
    cache: {key: tools-1, paths: [~/tools]}
    steps:
      - echo build output > out.txt && echo keep me > short.txt && mkdir -p ~/tools && echo t > ~/tools/t
    artifacts: [out.txt]
  notes:
    steps:
      - echo notes > notes.txt
    artifacts: {paths: [notes.txt], expire_in: 2d}
`

// Retention with a clock the test moves: a branch's policy in days applies
// to its manual runs or its CI runs as it says, the job's expire_in to its
// artifacts, and the cache idle time to caches. The sweep removes the
// content (blobs, log chunks) and the API says so, while runs, jobs and
// artifact records stay.
func TestRetentionExpiresContentButKeepsRecords(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		clk := clock.NewManual(time.Now().UTC())
		o.Clock = clk
		l := lathetest.Start(t, o)
		l.Project(t, "kept", lathetest.Repo(t, map[string]string{".lathe.yml": retentionPipeline}))
		run := l.Wait(t, l.Trigger(t, "kept", "main", "").ID, 90*time.Second)
		if run.Status != lathe.StatusSuccess || run.Event != "manual" {
			t.Fatalf("run = %s (%s); want a successful manual run", run.Status, run.Event)
		}
		build, notes := lathetest.JobByName(t, run, "build"), lathetest.JobByName(t, run, "notes")
		var list struct{ Items []*lathe.Artifact }
		l.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d/artifacts", run.ID), nil, &list)
		if len(list.Items) != 2 || list.Items[1].Path != "notes.txt" || list.Items[1].ExpiresAt == nil || list.Items[0].ExpiresAt != nil {
			t.Fatalf("artifacts = %+v %+v; want out.txt kept and notes.txt expiring (expire_in)", list.Items[0], list.Items[1])
		}
		outArt, notesArt := list.Items[0], list.Items[1]
		if want := notesArt.CreatedAt.Add(48 * time.Hour); !notesArt.ExpiresAt.Equal(want) {
			t.Errorf("notes.txt expires at %s; want %s", notesArt.ExpiresAt, want)
		}
		sweep := func() {
			t.Helper()
			if _, err := l.API.SweepRetention(context.Background()); err != nil {
				t.Fatalf("sweep: %v", err)
			}
		}
		setRetention := func(r map[string]any) {
			t.Helper()
			var b lathe.Branch
			l.Do(t, http.MethodPatch, "/api/v1/projects/kept/branches/main", map[string]any{"retention": r}, &b)
		}
		status := func(id int64) (int, string) {
			t.Helper()
			resp, err := l.Client.Send(context.Background(), http.MethodGet, fmt.Sprintf("/api/v1/artifacts/%d/content", id), nil, 0, nil)
			if err != nil {
				if e, ok := err.(*client.Error); ok {
					return e.Status, e.Detail
				}
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode, ""
		}
		logStatus := func(jobID int64) int {
			t.Helper()
			resp, err := l.Client.Send(context.Background(), http.MethodGet, fmt.Sprintf("/api/v1/jobs/%d/log", jobID), nil, 0, nil)
			if err != nil {
				return client.StatusOf(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}

		// A CI policy does not touch a manual run.
		setRetention(map[string]any{"ci_artifacts": 1, "ci_logs": 1})
		clk.Advance(25 * time.Hour)
		sweep()
		if code, _ := status(outArt.ID); code != http.StatusOK {
			t.Errorf("out.txt after a day under a CI-only policy = %d; want 200", code)
		}
		// The manual policy does.
		setRetention(map[string]any{"manual_artifacts": 1, "manual_logs": 3})
		var b lathe.Branch
		l.Do(t, http.MethodGet, "/api/v1/projects/kept/branches/main", nil, &b)
		if rt := b.Settings.Retention; rt.CILogs == nil || *rt.CILogs != 1 || rt.ManualArtifacts == nil || *rt.ManualArtifacts != 1 || rt.ManualLogs == nil || *rt.ManualLogs != 3 {
			t.Errorf("branch retention = %+v", rt)
		}
		sweep()
		code, detail := status(outArt.ID)
		if code != http.StatusGone || !strings.Contains(detail, "expired") {
			t.Errorf("out.txt after the manual policy = %d %q; want 410 saying it expired", code, detail)
		}
		var meta lathe.Artifact
		l.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/artifacts/%d", outArt.ID), nil, &meta)
		if !meta.Expired || meta.Path != "out.txt" || meta.SHA256 != outArt.SHA256 {
			t.Errorf("expired artifact's record = %+v; want it kept, marked expired", meta)
		}
		if code, _ := status(notesArt.ID); code != http.StatusOK {
			t.Errorf("notes.txt (expire_in 2d) after 25h = %d; want 200", code)
		}
		if logStatus(build.ID) != http.StatusOK {
			t.Errorf("log after 25h under a 3-day policy is gone")
		}
		blobs := func() int {
			n := 0
			filepath.Walk(filepath.Join(l.DataDir, "artifacts"), func(_ string, fi os.FileInfo, err error) error {
				if err == nil && !fi.IsDir() {
					n++
				}
				return nil
			})
			return n
		}
		if n := blobs(); n != 1 {
			t.Errorf("artifact blobs on disk = %d; want 1 (notes.txt)", n)
		}

		clk.Advance(48 * time.Hour) // 73h
		sweep()
		if code, _ := status(notesArt.ID); code != http.StatusGone {
			t.Errorf("notes.txt after its expire_in = %d; want 410", code)
		}
		if n := blobs(); n != 0 {
			t.Errorf("artifact blobs on disk = %d; want none", n)
		}
		for _, j := range []*lathe.Job{build, notes} {
			if code := logStatus(j.ID); code != http.StatusGone {
				t.Errorf("log of %s after 73h under a 3-day policy = %d; want 410", j.Name, code)
			}
			if a := l.Job(t, j.ID).Attempts[0]; a.LogExpiredAt == nil || a.LogSize == 0 || a.Status != lathe.StatusSuccess {
				t.Errorf("attempt of %s = %+v; want its record with log_expired_at", j.Name, a)
			}
		}
		if r := l.Run(t, run.ID); r.Status != lathe.StatusSuccess || len(r.Jobs) != 2 {
			t.Errorf("run after the sweep = %s with %d jobs; want it kept", r.Status, len(r.Jobs))
		}

		// Caches go after a week without a restore.
		var caches struct{ Items []*lathe.Cache }
		l.Do(t, http.MethodGet, "/api/v1/projects/kept/caches", nil, &caches)
		if len(caches.Items) != 1 {
			t.Fatalf("caches = %+v; want tools-1", caches.Items)
		}
		clk.Advance(5 * 24 * time.Hour)
		sweep()
		l.Do(t, http.MethodGet, "/api/v1/projects/kept/caches", nil, &caches)
		if len(caches.Items) != 0 {
			t.Errorf("caches after 8 idle days = %+v; want none", caches.Items)
		}
		if left, _ := filepath.Glob(filepath.Join(l.DataDir, "caches", "*", "*", "*")); len(left) != 0 {
			t.Errorf("cache blobs left: %q", left)
		}
	})
}
