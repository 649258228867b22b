package api

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// Upload archives live as long as their run, and runs as long as their
// project: what a deleted project's runs uploaded is removed too, as are
// the temporary files of uploads a stop cut short (CleanUploads).

// pruneUploads removes the archives of runs that no longer exist. A
// deleted run's ID is never given to another run, so an archive found
// without its run can go.
func (s *Server) pruneUploads(ctx context.Context) error {
	keys, err := s.uploads.blobs.List(ctx, "")
	if err != nil {
		return fmt.Errorf("prune uploads: %w", err)
	}
	byRun := map[int64][]string{}
	var ids []int64
	for _, k := range keys {
		run, _, _ := strings.Cut(k, "/")
		id, err := strconv.ParseInt(run, 10, 64)
		if err != nil {
			continue
		}
		if byRun[id] == nil {
			ids = append(ids, id)
		}
		byRun[id] = append(byRun[id], k)
	}
	exist, err := s.store.RunsExist(ctx, ids)
	if err != nil {
		return fmt.Errorf("prune uploads: %w", err)
	}
	for _, id := range ids {
		if exist[id] {
			continue
		}
		for _, k := range byRun[id] {
			if err := s.uploads.blobs.Delete(ctx, k); err != nil {
				return fmt.Errorf("prune uploads of run %d: %w", id, err)
			}
		}
	}
	return nil
}
