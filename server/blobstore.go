package server

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lathe-ci/lathe/blob"
)

// blobStores are where the server keeps its large objects.
type blobStores struct {
	uploads, artifacts, caches, tools blob.Store
}

// openBlobs opens the blob stores Config.BlobStore names: directories
// under the data directory (the default), or the prefixes uploads/,
// artifacts/, caches/ and tools/ of an S3 bucket that every replica of
// the server shares. Each store's calls are timed in latency.
func openBlobs(ctx context.Context, cfg Config, latency *prometheus.HistogramVec) (blobStores, error) {
	timed := func(kind string, b blob.Store) blob.Store { return &timedBlobs{Store: b, kind: kind, latency: latency} }
	if cfg.BlobStore == "" {
		return blobStores{
			uploads:   timed("uploads", blob.NewDir(filepath.Join(cfg.DataDir, "uploads"))),
			artifacts: timed("artifacts", blob.NewDir(filepath.Join(cfg.DataDir, "artifacts"))),
			caches:    timed("caches", blob.NewDir(filepath.Join(cfg.DataDir, "caches"))),
			tools:     timed("tools", blob.NewDir(filepath.Join(cfg.DataDir, "tools"))),
		}, nil
	}
	bucket, prefix, err := blob.ParseS3URL(cfg.BlobStore)
	if err != nil {
		return blobStores{}, err
	}
	o := cfg.S3
	o.Bucket, o.Prefix = bucket, prefix
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	s3, err := blob.NewS3(ctx, o)
	if err != nil {
		return blobStores{}, fmt.Errorf("--blob-store: %w", err)
	}
	return blobStores{
		uploads:   timed("uploads", s3.Sub("uploads")),
		artifacts: timed("artifacts", s3.Sub("artifacts")),
		caches:    timed("caches", s3.Sub("caches")),
		tools:     timed("tools", s3.Sub("tools")),
	}, nil
}

// newBlobLatency is the histogram of blob store calls.
func newBlobLatency() *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "lathe_blob_operation_duration_seconds",
		Help:    "Blob store calls by store (uploads, artifacts, caches, tools), operation and outcome: a put until stored, a get until its body starts.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
	}, []string{"store", "op", "outcome"})
}

// timedBlobs times the calls of a blob store.
type timedBlobs struct {
	blob.Store
	kind    string
	latency *prometheus.HistogramVec
}

func (t *timedBlobs) observe(op string, start time.Time, err error) {
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	t.latency.WithLabelValues(t.kind, op, outcome).Observe(time.Since(start).Seconds())
}

// Put implements blob.Store.
func (t *timedBlobs) Put(ctx context.Context, key string, r io.Reader, want blob.Want) (info blob.Info, err error) {
	defer func(start time.Time) { t.observe("put", start, err) }(time.Now())
	return t.Store.Put(ctx, key, r, want)
}

// Get implements blob.Store.
func (t *timedBlobs) Get(ctx context.Context, key string, off, length int64) (rc io.ReadCloser, err error) {
	defer func(start time.Time) { t.observe("get", start, err) }(time.Now())
	return t.Store.Get(ctx, key, off, length)
}

// Delete implements blob.Store.
func (t *timedBlobs) Delete(ctx context.Context, key string) (err error) {
	defer func(start time.Time) { t.observe("delete", start, err) }(time.Now())
	return t.Store.Delete(ctx, key)
}

// List implements blob.Store.
func (t *timedBlobs) List(ctx context.Context, prefix string) (keys []string, err error) {
	defer func(start time.Time) { t.observe("list", start, err) }(time.Now())
	return t.Store.List(ctx, prefix)
}

// RemoveUnfinished removes what the store's interrupted writes left, when
// it keeps any (see api's CleanUploads).
func (t *timedBlobs) RemoveUnfinished() error {
	if u, ok := t.Store.(interface{ RemoveUnfinished() error }); ok {
		return u.RemoveUnfinished()
	}
	return nil
}
