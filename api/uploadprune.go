package api

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// Upload archives live as long as their run, and runs as long as their
// project: what a deleted project's runs uploaded is removed from disk
// too, as are the temporary files of uploads a stop cut short.

// CleanUploads removes, at start, the temporary files of uploads that were
// being received when the server stopped, and the archives of runs that no
// longer exist. Call it before serving.
func (s *Server) CleanUploads(ctx context.Context) error {
	if s.uploads.dir == "" {
		return nil
	}
	if err := os.RemoveAll(filepath.Join(s.uploads.dir, "tmp")); err != nil {
		return fmt.Errorf("remove unfinished uploads: %w", err)
	}
	return s.pruneUploads(ctx)
}

// pruneUploads removes the archives of runs that no longer exist. A
// deleted run's ID is never given to another run, so a directory found
// without its run can go.
func (s *Server) pruneUploads(ctx context.Context) error {
	entries, err := os.ReadDir(s.uploads.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("prune uploads: %w", err)
	}
	var ids []int64
	for _, e := range entries {
		if id, err := strconv.ParseInt(e.Name(), 10, 64); err == nil && e.IsDir() {
			ids = append(ids, id)
		}
	}
	exist, err := s.store.RunsExist(ctx, ids)
	if err != nil {
		return fmt.Errorf("prune uploads: %w", err)
	}
	for _, id := range ids {
		if !exist[id] {
			if err := os.RemoveAll(filepath.Join(s.uploads.dir, strconv.FormatInt(id, 10))); err != nil {
				return fmt.Errorf("prune uploads of run %d: %w", id, err)
			}
		}
	}
	return nil
}
