package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/blob"
)

// uploadKey is the blob key of the archive of upload name in run runID
// whose content hashes to sum: the run's ID, a digest of the name (the
// name a client chose never becomes a path) and the content's digest.
func uploadKey(runID int64, name, sum string) string {
	n := sha256.Sum256([]byte(name))
	return strconv.FormatInt(runID, 10) + "/" + hex.EncodeToString(n[:16]) + "-" + sum + ".tar.gz"
}

// receive stores the body as the blob key, refusing more than the limit
// and a body whose SHA-256 is not sum, and returns its size.
func (f uploadFiles) receive(w http.ResponseWriter, r *http.Request, key, name, sum string) (int64, error) {
	body := &bodyReader{r: http.MaxBytesReader(w, r.Body, f.max)}
	info, err := f.blobs.Put(r.Context(), key, body, blob.Want{Size: -1, SHA256: sum})
	var tooLarge *http.MaxBytesError
	switch {
	case err == nil:
		return info.Size, nil
	case errors.As(body.err, &tooLarge):
		return 0, tooBig(name, f.max)
	case r.Context().Err() != nil:
		return 0, r.Context().Err()
	case body.err != nil:
		return 0, problemf(http.StatusBadRequest, "upload %q: reading the body: %v", name, body.err)
	case errors.Is(err, blob.ErrMismatch):
		return 0, problemf(http.StatusBadRequest, "upload %q: the body is not what %s says (%v): it was damaged on the way",
			name, lathe.UploadSHA256Header, err)
	}
	return 0, fmt.Errorf("upload %q: %w", name, err)
}

// bodyReader remembers the error reading a request body, to tell it from
// one writing what was read.
type bodyReader struct {
	r   io.Reader
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

// legacyUpload is how archives were named before they were blobs:
// <run id>/<name>.<sha256>.tar.gz.
var legacyUpload = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(.+)\.([0-9a-f]{64})\.tar\.gz$`) })

// adoptLegacyUploads renames the archives a server before blob keys left
// in dir to their keys, so a run that spans the upgrade still downloads
// what it uploaded.
func adoptLegacyUploads(dir string) error {
	runs, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("uploads: %w", err)
	}
	for _, run := range runs {
		id, err := strconv.ParseInt(run.Name(), 10, 64)
		if err != nil || !run.IsDir() {
			continue
		}
		files, err := os.ReadDir(filepath.Join(dir, run.Name()))
		if err != nil {
			return fmt.Errorf("uploads: %w", err)
		}
		for _, f := range files {
			m := legacyUpload().FindStringSubmatch(f.Name())
			if m == nil || f.IsDir() || lathe.CheckUploadName(m[1]) != nil {
				continue
			}
			to := filepath.Join(dir, filepath.FromSlash(uploadKey(id, m[1], m[2])))
			if err := os.Rename(filepath.Join(dir, run.Name(), f.Name()), to); err != nil {
				return fmt.Errorf("uploads: %w", err)
			}
		}
	}
	return nil
}

// unfinished is what a blob store that writes through temporary files
// (blob.Dir) has to clean up at start.
type unfinished interface{ RemoveUnfinished() error }

// CleanUploads removes, at start, the temporary files of uploads that were
// being received when the server stopped. Call it before serving. The
// archives of runs that no longer exist go in PruneOrphans.
func (s *Server) CleanUploads(ctx context.Context) error {
	if s.uploads.dir == "" {
		return nil
	}
	if u, ok := s.uploads.blobs.(unfinished); ok {
		if err := u.RemoveUnfinished(); err != nil {
			return err
		}
	}
	return adoptLegacyUploads(s.uploads.dir)
}
