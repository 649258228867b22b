package server

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/lathe-ci/lathe/blob"
	"github.com/lathe-ci/lathe/store"
)

// blobStores are where the server keeps its large objects.
type blobStores struct {
	uploads, artifacts, caches, tools blob.Store
}

// openBlobs opens the blob stores Config.BlobStore names: directories
// under the data directory (the default), or the prefixes uploads/,
// artifacts/, caches/ and tools/ of an S3 bucket that every replica of
// the server shares, which must be the installation's (see
// claimBlobPrefix). Each store is wrapped by timed (its calls are timed
// for /metrics).
func openBlobs(ctx context.Context, cfg Config, st *store.Store, timed func(name string, b blob.Store) blob.Store) (blobStores, error) {
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
	marker, err := st.Installation(ctx)
	if err != nil {
		return blobStores{}, err
	}
	if err := claimBlobPrefix(ctx, s3, marker, cfg.BlobStore); err != nil {
		return blobStores{}, fmt.Errorf("--blob-store: %w", err)
	}
	return blobStores{
		uploads:   timed("uploads", s3.Sub("uploads")),
		artifacts: timed("artifacts", s3.Sub("artifacts")),
		caches:    timed("caches", s3.Sub("caches")),
		tools:     timed("tools", s3.Sub("tools")),
	}, nil
}

// removeUnfinishedTools removes what interrupted writes of tools left,
// when their store keeps any.
func (b blobStores) removeUnfinishedTools() error {
	if u, ok := b.tools.(interface{ RemoveUnfinished() error }); ok {
		return u.RemoveUnfinished()
	}
	return nil
}
