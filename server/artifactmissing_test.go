package server_test

import (
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// An artifact whose content is missing from the blob store (removed by
// hand, by a bucket policy, by another installation) is answered as an
// error, whole or by range: before, the server answered 200 (or 206) with
// the artifact's Content-Length and then no body, which clients read as
// a broken connection, and logged nothing.
func TestArtifactMissingFromTheBlobStoreIsAnError(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: 1})
	l.Project(t, "app", lathetest.Repo(t, map[string]string{".lathe.yml": `
jobs:
  build:
    steps: [seq 1 1000 > out.txt]
    artifacts: [out.txt]
`}))
	run := l.Wait(t, l.Trigger(t, "app", "", "").ID, 60*time.Second)
	if run.Status != lathe.StatusSuccess {
		t.Fatalf("run = %s", run.Status)
	}
	var list struct{ Items []*lathe.Artifact }
	l.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d/artifacts", run.ID), nil, &list)
	if len(list.Items) != 1 {
		t.Fatalf("artifacts: %+v", list.Items)
	}
	removed := 0
	filepath.WalkDir(filepath.Join(l.DataDir, "artifacts"), func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() && os.Remove(p) == nil {
			removed++
		}
		return nil
	})
	if removed != 1 {
		t.Fatalf("removed %d blobs, want 1", removed)
	}
	for _, rng := range []string{"", "bytes=10-20"} {
		req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/api/v1/artifacts/%d/content", l.Server.URL, list.Items[0].ID), nil)
		req.Header.Set("Authorization", "Bearer "+l.AdminToken)
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusInternalServerError || err != nil || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("range %q of a missing artifact: %d %s, %v: %s; want 500 and a problem", rng, resp.StatusCode, resp.Header.Get("Content-Type"), err, body)
		}
	}
}
