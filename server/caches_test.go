package server_test

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

const cachePipeline = `
jobs:
  build:
    cache:
      - key: "deps-{{ hashFiles('lock.txt') }}"
        restore_keys: [deps-]
        paths: [~/.cache/thing, vendor/dl]
    steps:
      - |
        if [ -f ~/.cache/thing/data ]; then echo "WARM $(cat ~/.cache/thing/data) $(cat vendor/dl/x)"
        else echo COLD; mkdir -p ~/.cache/thing vendor/dl && cat lock.txt > ~/.cache/thing/data && echo vendored > vendor/dl/x; fi
        echo more >> ~/.cache/thing/log
  fails:
    cache: {key: never-saved, paths: [out]}
    steps:
      - mkdir out && echo x > out/x && exit 1
`

// A job's cache is saved after its first success, restored by its exact
// key into the next run's job (in its HOME and workspace, owned by the
// job's user) and then not saved again, restored through a restore key
// when the key changes (and saved under the new key), and never saved by
// a job that failed.
func TestCachesThroughTheAgent(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{})
	repo := lathetest.Repo(t, map[string]string{".lathe.yml": cachePipeline, "lock.txt": "v1"})
	l.Project(t, "cached", repo)
	logOf := func(wantStatus lathe.Status) string {
		t.Helper()
		run := l.Wait(t, l.Trigger(t, "cached", "main", "").ID, 90*time.Second)
		build := lathetest.JobByName(t, run, "build")
		log := l.Log(t, build.ID)
		if build.Status != wantStatus {
			t.Fatalf("build = %s, want %s:\n%s", build.Status, wantStatus, log)
		}
		if fails := lathetest.JobByName(t, run, "fails"); fails.Status != lathe.StatusFailed {
			t.Fatalf("fails = %s", fails.Status)
		}
		return log
	}
	first := logOf(lathe.StatusSuccess)
	for _, want := range []string{"» restore cache deps-{{ hashFiles('lock.txt') }}", "no cache matches", "COLD", "cache deps-", "saved 3 files"} {
		if !strings.Contains(first, want) {
			t.Errorf("first run's log lacks %q:\n%s", want, first)
		}
	}
	second := logOf(lathe.StatusSuccess)
	for _, want := range []string{"restored 3 files", "(exact key)", "WARM v1 vendored", "restored with its exact key; not saved again"} {
		if !strings.Contains(second, want) {
			t.Errorf("second run's log lacks %q:\n%s", want, second)
		}
	}
	lathetest.Commit(t, repo, map[string]string{"lock.txt": "v2"})
	third := logOf(lathe.StatusSuccess)
	for _, want := range []string{"(restore key; it is saved as deps-", "WARM v1 vendored", "saved 3 files"} {
		if !strings.Contains(third, want) {
			t.Errorf("third run's log lacks %q:\n%s", want, third)
		}
	}
	var caches struct{ Items []*lathe.Cache }
	l.Do(t, http.MethodGet, "/api/v1/projects/cached/caches", nil, &caches)
	if len(caches.Items) != 2 {
		t.Fatalf("caches = %+v; want the v1 and v2 keys only (the failed job saved none)", caches.Items)
	}
	for _, c := range caches.Items {
		if !strings.HasPrefix(c.Key, "deps-") || len(c.Key) != len("deps-")+64 || c.Untrusted || c.Size <= 0 {
			t.Errorf("cache = %+v", c)
		}
	}
	// Caches go with their project.
	if left, _ := filepath.Glob(filepath.Join(l.DataDir, "caches", "*", "*", "*")); len(left) != 2 {
		t.Fatalf("cache archives = %q; want 2", left)
	}
	l.Do(t, http.MethodDelete, "/api/v1/projects/cached", nil, nil)
	if left, _ := filepath.Glob(filepath.Join(l.DataDir, "caches", "*", "*", "*")); len(left) != 0 {
		t.Errorf("cache archives left after the project was deleted: %q", left)
	}
}
