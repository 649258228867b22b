package api

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/lathe-ci/lathe/blob"
)

// Upload archives and artifacts live as long as their run, caches as long
// as their project, and runs as long as their project: what a deleted
// project left is removed too, as are the temporary files of transfers a
// stop cut short (CleanUploads, CleanResults).

// pruneUploads removes the archives of runs that no longer exist. A
// deleted run's ID is never given to another run, so an archive found
// without its run can go.
func (s *Server) pruneUploads(ctx context.Context) error {
	return pruneOrphans(ctx, s.uploads.blobs, s.store.RunsExist, "uploads")
}

// pruneResults removes the artifacts of runs and the caches of projects
// that no longer exist (their keys start with the run's or project's ID).
func (s *Server) pruneResults(ctx context.Context) error {
	if s.results.artifacts == nil {
		return nil
	}
	if err := pruneOrphans(ctx, s.results.artifacts, s.store.RunsExist, "artifacts"); err != nil {
		return err
	}
	return pruneOrphans(ctx, s.results.caches, s.store.ProjectsExist, "caches")
}

// CleanResults removes, at start, the temporary files of artifacts and
// caches that were being received when the server stopped. Call it before
// serving.
func (s *Server) CleanResults() error {
	for _, b := range []blob.Store{s.results.artifacts, s.results.caches} {
		if u, ok := b.(unfinished); ok {
			if err := u.RemoveUnfinished(); err != nil {
				return err
			}
		}
	}
	return nil
}

// PruneOrphans removes the uploads and artifacts of runs, and the caches of
// projects, that no longer exist: what a deletion left when the server
// stopped before removing it. It lists every key of those stores, so it is
// the leader's duty (server: with the retention sweep), not every
// replica's at start.
func (s *Server) PruneOrphans(ctx context.Context) error {
	if err := s.pruneUploads(ctx); err != nil {
		return err
	}
	return s.pruneResults(ctx)
}

// pruneOrphans deletes the blobs whose key's first segment is the ID of
// something exist says is gone.
func pruneOrphans(ctx context.Context, blobs blob.Store, exist func(context.Context, []int64) (map[int64]bool, error), what string) error {
	if blobs == nil {
		return nil
	}
	keys, err := blobs.List(ctx, "")
	if err != nil {
		return fmt.Errorf("prune %s: %w", what, err)
	}
	byOwner := map[int64][]string{}
	var ids []int64
	for _, k := range keys {
		owner, _, _ := strings.Cut(k, "/")
		id, err := strconv.ParseInt(owner, 10, 64)
		if err != nil {
			continue
		}
		if byOwner[id] == nil {
			ids = append(ids, id)
		}
		byOwner[id] = append(byOwner[id], k)
	}
	found, err := exist(ctx, ids)
	if err != nil {
		return fmt.Errorf("prune %s: %w", what, err)
	}
	for _, id := range ids {
		if found[id] {
			continue
		}
		for _, k := range byOwner[id] {
			if err := blobs.Delete(ctx, k); err != nil {
				return fmt.Errorf("prune %s of %d: %w", what, id, err)
			}
		}
	}
	return nil
}
