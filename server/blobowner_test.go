package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/blob"
	"github.com/lathe-ci/lathe/internal/lathetest"
	"github.com/lathe-ci/lathe/internal/pgtest"
	"github.com/lathe-ci/lathe/internal/s3test"
	"github.com/lathe-ci/lathe/server"
)

// A server of another installation (another database) given the bucket
// and prefix this one uses is refused at start, naming the clash, and
// this installation's blobs stay: before, it started and removed at once,
// as orphans, every artifact and cache whose run or project its own
// database did not hold. With a prefix of its own it starts.
func TestAnotherInstallationCannotTakeTheBlobPrefix(t *testing.T) {
	s3 := s3test.Start(t, "lathe")
	pg := pgtest.Shared(t)
	s3opts := blob.S3Options{Endpoint: s3.Endpoint, Region: s3.Region, AccessKey: s3.AccessKey, SecretKey: s3.SecretKey}
	a := lathetest.Start(t, lathetest.Options{DatabaseURL: pg.NewDatabase(t), Agents: 1, BlobStore: "s3://lathe/ci", S3: s3opts})
	a.Project(t, "numbers", lathetest.Repo(t, map[string]string{".lathe.yml": s3Pipeline}))
	run := a.Wait(t, a.Trigger(t, "numbers", "", "").ID, 120*time.Second)
	if run.Status != lathe.StatusSuccess {
		t.Fatalf("run = %s; log:\n%s", run.Status, a.Log(t, lathetest.JobByName(t, run, "build").ID))
	}

	other, otherDir := pg.NewDatabase(t), t.TempDir()
	ctx, stop := context.WithCancel(context.Background())
	srv, err := server.New(ctx, server.Config{Addr: "127.0.0.1:0", DataDir: otherDir,
		DatabaseURL: other, BlobStore: "s3://lathe/ci", S3: s3opts})
	stop()
	if err == nil {
		srv.Run(ctx) // stops at once
	}
	if err == nil || !strings.Contains(err.Error(), "--blob-store: s3://lathe/ci holds the blobs of another Lathe installation") {
		t.Errorf("a server of another database on the same prefix: %v; want it refused, naming the clash", err)
	}
	var list struct{ Items []*lathe.Artifact }
	a.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d/artifacts", run.ID), nil, &list)
	if len(list.Items) != 1 {
		t.Fatalf("artifacts: %+v", list.Items)
	}
	if got, code, _ := getContent(t, a, list.Items[0].ID, ""); code != http.StatusOK || got != seq(1, 20000) {
		t.Errorf("the artifact after the other server's start: %d, %d bytes; want it whole", code, len(got))
	}
	lathetest.Start(t, lathetest.Options{DataDir: otherDir, DatabaseURL: other, Agents: -1, BlobStore: "s3://lathe/staging", S3: s3opts})
}
