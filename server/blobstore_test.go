package server_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/blob"
	"github.com/lathe-ci/lathe/internal/lathetest"
	"github.com/lathe-ci/lathe/internal/pgtest"
	"github.com/lathe-ci/lathe/internal/s3test"
)

const s3Pipeline = `
jobs:
  build:
    steps:
      - mkdir -p dist && seq 1 20000 > dist/numbers.txt
      - upload: {name: dist, paths: [dist/numbers.txt]}
    artifacts: [dist/numbers.txt]
  check:
    needs: [build]
    steps:
      - download: {name: dist}
      - test "$(wc -l < dist/numbers.txt)" -eq 20000
`

// Two replicas on one PostgreSQL database and one S3 bucket (a real S3
// server, the Versity gateway): a run on replica A hands an upload from one
// job to the next and keeps an artifact, all in the bucket and none on A's
// disk, and replica B, which ran nothing, serves the artifact whole and by
// range. /metrics times the blob store's calls.
func TestBlobsInS3AcrossReplicas(t *testing.T) {
	s3 := s3test.Start(t, "lathe")
	dsn := pgtest.Shared(t).NewDatabase(t)
	opts := lathetest.Options{DatabaseURL: dsn, Agents: 1, MetricsAddr: "127.0.0.1:0", BlobStore: "s3://lathe/ci",
		S3: blob.S3Options{Endpoint: s3.Endpoint, Region: s3.Region, AccessKey: s3.AccessKey, SecretKey: s3.SecretKey}}
	a := lathetest.Start(t, opts)
	a.Project(t, "numbers", lathetest.Repo(t, map[string]string{".lathe.yml": s3Pipeline}))
	run := a.Wait(t, a.Trigger(t, "numbers", "", "").ID, 120*time.Second)
	if run.Status != lathe.StatusSuccess {
		t.Fatalf("run = %s; logs:\n%s\n%s", run.Status, a.Log(t, lathetest.JobByName(t, run, "build").ID), a.Log(t, lathetest.JobByName(t, run, "check").ID))
	}
	var prefixes []string
	for _, key := range s3.Objects(t, "lathe") {
		p := strings.Join(strings.SplitN(key, "/", 3)[:2], "/")
		if !slices.Contains(prefixes, p) {
			prefixes = append(prefixes, p)
		}
	}
	slices.Sort(prefixes)
	if !slices.Equal(prefixes, []string{"ci/artifacts", "ci/lathe-installation", "ci/uploads"}) {
		t.Errorf("objects in the bucket under %q, want ci/artifacts, ci/uploads and the installation's marker", prefixes)
	}
	for _, dir := range []string{"artifacts", "uploads"} {
		var files []string
		filepath.WalkDir(filepath.Join(a.DataDir, dir), func(p string, e os.DirEntry, err error) error {
			if err == nil && !e.IsDir() {
				files = append(files, p)
			}
			return nil
		})
		if len(files) > 0 {
			t.Errorf("replica A kept %s on its disk: %q", dir, files)
		}
	}

	// Replica B: its own data directory, the same database, key and bucket.
	dirB := t.TempDir()
	for _, name := range []string{"secret.key", "admin.token"} {
		b, err := os.ReadFile(filepath.Join(a.DataDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dirB, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	optsB := opts
	optsB.DataDir, optsB.Agents, optsB.MetricsAddr = dirB, -1, ""
	b := lathetest.Start(t, optsB)
	var list struct{ Items []*lathe.Artifact }
	b.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d/artifacts", run.ID), nil, &list)
	if len(list.Items) != 1 || list.Items[0].Path != "dist/numbers.txt" {
		t.Fatalf("artifacts on replica B: %+v", list.Items)
	}
	want := seq(1, 20000)
	if got, code, _ := getContent(t, b, list.Items[0].ID, ""); code != http.StatusOK || got != want {
		t.Errorf("artifact from replica B: %d, %d bytes, want %d", code, len(got), len(want))
	}
	if got, code, _ := getContent(t, b, list.Items[0].ID, "bytes=18-28"); code != http.StatusPartialContent || got != "10\n11\n12\n13" {
		t.Errorf("artifact range from replica B: %d %q", code, got)
	}

	resp, err := http.Get(a.Server.MetricsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{`lathe_blob_operation_duration_seconds_count{op="put",outcome="ok",store="artifacts"} 1`,
		`lathe_blob_operation_duration_seconds_count{op="get",outcome="ok",store="uploads"} 1`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// Blobs a stopped server was writing (uploads, artifacts, caches, tools)
// are removed when it starts again; whole ones stay.
func TestHalfWrittenBlobsRemovedAtStart(t *testing.T) {
	dir := t.TempDir()
	var leftovers []string
	for _, kind := range []string{"uploads", "artifacts", "caches", "tools"} {
		p := filepath.Join(dir, kind, "tmp", "put-123")
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("half"), 0o600); err != nil {
			t.Fatal(err)
		}
		leftovers = append(leftovers, p)
	}
	whole := filepath.Join(dir, "tools", "0123abcd", "kept.tar.gz")
	os.MkdirAll(filepath.Dir(whole), 0o700)
	if err := os.WriteFile(whole, []byte("whole"), 0o600); err != nil {
		t.Fatal(err)
	}
	lathetest.Start(t, lathetest.Options{DataDir: dir, Agents: -1})
	for _, p := range leftovers {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s still there: %v", p, err)
		}
	}
	if _, err := os.Stat(whole); err != nil {
		t.Errorf("a whole tool blob was removed: %v", err)
	}
}
