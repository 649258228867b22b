package api

import (
	"context"

	"github.com/lathe-ci/lathe/store"
)

// sweepBatch is how many items of each kind one store transaction expires.
const sweepBatch = 500

// SweepRetention does one retention sweep: artifacts past their time are
// marked expired and their blobs deleted, logs past their branch's policy
// removed, and caches unused for the cache idle time deleted, as of the
// store's clock. It returns what it took away. The server calls it every
// hour; tests call it after moving their clock.
func (s *Server) SweepRetention(ctx context.Context) (store.Expired, error) {
	var total store.Expired
	for {
		got, err := s.store.ExpireDue(ctx, s.results.cacheIdle, sweepBatch)
		if err != nil {
			return total, err
		}
		for _, a := range got.Artifacts {
			if s.results.artifacts == nil {
				break
			}
			if err := s.results.artifacts.Delete(ctx, a.BlobKey); err != nil {
				s.log.Warn("remove expired artifact", "artifact_id", a.ID, "err", err)
			}
		}
		for _, c := range got.Caches {
			if s.results.caches == nil {
				break
			}
			if err := s.results.caches.Delete(ctx, cacheBlobKey(c)); err != nil {
				s.log.Warn("remove unused cache", "cache_id", c.ID, "err", err)
			}
		}
		total.Artifacts = append(total.Artifacts, got.Artifacts...)
		total.Caches = append(total.Caches, got.Caches...)
		total.Logs += got.Logs
		if len(got.Artifacts) < sweepBatch && len(got.Caches) < sweepBatch && got.Logs < sweepBatch {
			return total, nil
		}
	}
}
