package server_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// quotaPipeline uploads SIZE random (incompressible) bytes.
const quotaPipeline = `
jobs:
  up:
    steps:
      - head -c SIZE /dev/urandom > blob
      - upload: {name: blob, paths: [blob]}
`

// A project's uploads, all its runs together, stay within its quota: the
// upload that would pass it fails its job, saying why. Uploads go with
// their project, and a restart removes temporary files of uploads it cut
// short, and the leader's sweep archives of runs that no longer exist.
func TestUploadQuotaAndCleanup(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		o.DataDir, o.UploadQuota = t.TempDir(), 24<<10
		l := lathetest.Start(t, o)
		repo := lathetest.Repo(t, map[string]string{".lathe.yml": strings.Replace(quotaPipeline, "SIZE", "12000", 1)})
		l.Project(t, "q", repo)
		first := l.Wait(t, l.Trigger(t, "q", "", "").ID, 60*time.Second)
		if first.Status != lathe.StatusSuccess {
			t.Fatalf("first upload, within the quota: %s\n%s", first.Status, l.Log(t, first.Jobs[0].ID))
		}
		lathetest.Commit(t, repo, map[string]string{".lathe.yml": strings.Replace(quotaPipeline, "SIZE", "16000", 1)})
		second := l.Wait(t, l.Trigger(t, "q", "", "").ID, 60*time.Second)
		if log := l.Log(t, second.Jobs[0].ID); second.Status != lathe.StatusFailed || !strings.Contains(log, "quota of 24576 bytes") {
			t.Errorf("second upload, over the quota: %s; log:\n%s", second.Status, log)
		}
		runDir := func(id int64) string { return filepath.Join(o.DataDir, "uploads", fmt.Sprint(id)) }
		if _, err := os.Stat(runDir(first.ID)); err != nil {
			t.Fatalf("the first run's upload: %v", err)
		}
		if entries, _ := os.ReadDir(runDir(second.ID)); len(entries) != 0 {
			t.Errorf("the refused upload left %d files", len(entries))
		}

		l.Do(t, http.MethodDelete, "/api/v1/projects/q", nil, nil)
		if _, err := os.Stat(runDir(first.ID)); !os.IsNotExist(err) {
			t.Errorf("the deleted project's upload is still on disk: %v", err)
		}

		l.Stop()
		tmp := filepath.Join(o.DataDir, "uploads", "tmp", "upload-123.tar.gz")
		orphan := filepath.Join(runDir(first.ID+1000), "x.tar.gz")
		// An artifact of a run and a cache of a project that are gone.
		artifact := filepath.Join(o.DataDir, "artifacts", fmt.Sprint(first.ID+1000), "7", "out.txt")
		cache := filepath.Join(o.DataDir, "caches", "999", "deps")
		for _, f := range []string{tmp, orphan, artifact, cache} {
			os.MkdirAll(filepath.Dir(f), 0o700)
			if err := os.WriteFile(f, []byte("left"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		lathetest.Start(t, o)
		if _, err := os.Stat(tmp); !os.IsNotExist(err) {
			t.Errorf("%s survived a restart: %v", tmp, err)
		}
		// Orphans go in the leader's first sweep, after the start.
		for _, f := range []string{orphan, artifact, cache} {
			for i := 0; i < 600 && !isGone(f); i++ {
				time.Sleep(50 * time.Millisecond)
			}
			if !isGone(f) {
				t.Errorf("%s survived a restart", f)
			}
		}
	})
}

func isGone(path string) bool {
	_, err := os.Stat(path)
	return os.IsNotExist(err)
}
