package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/blob"
	"github.com/lathe-ci/lathe/store"
)

// Uploads: the upload action of a job stores a gzipped tar archive of its
// files, and the download action of a later job of the same run fetches it.
// Only the agent holding a running attempt may do either, and only within
// that attempt's run. The archives are objects of a blob.Store (a
// directory of the server's data directory today), under keys made of the
// run's ID, a digest of the name and the content's SHA-256 (see uploadKey):
// named by their content, so a replaced upload never overwrites the object
// a download is reading.

// DefaultMaxUpload bounds one upload archive unless SetUploads says otherwise.
const DefaultMaxUpload = 1 << 30

// DefaultUploadQuota bounds the uploads of one project, all its runs
// together, unless SetUploads says otherwise: uploads hand files between
// the jobs of a run and stay until the project is deleted, so without a
// bound one busy project fills the server's disk.
const DefaultUploadQuota = 10 << 30

var hexSHA256 = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9a-f]{64}$`) })

// uploadFiles is where the archives are kept.
type uploadFiles struct {
	dir   string // the blobs' directory; "" when the server keeps no uploads
	blobs blob.Store
	max   int64
	quota int64
}

// UploadLimits bound upload archives: MaxBytes one archive (zero:
// DefaultMaxUpload), ProjectQuota all of one project's (zero:
// DefaultUploadQuota).
type UploadLimits struct {
	MaxBytes, ProjectQuota int64
}

// SetUploads keeps upload archives in dir within limits. Call it before
// serving; without it uploads are refused.
func (s *Server) SetUploads(dir string, limits UploadLimits) {
	if limits.MaxBytes <= 0 {
		limits.MaxBytes = DefaultMaxUpload
	}
	if limits.ProjectQuota <= 0 {
		limits.ProjectQuota = DefaultUploadQuota
	}
	s.uploads = uploadFiles{dir: dir, blobs: blob.NewDir(dir), max: limits.MaxBytes, quota: limits.ProjectQuota}
}

// putUpload stores the request's body as the upload {name} of the
// attempt's run. A name belongs to the job that first uploaded it in the
// run: its later uploads (another step, a later attempt) replace it, and
// another job's is refused with 409.
func (s *Server) putUpload(w http.ResponseWriter, r *http.Request) error {
	id, name, err := s.uploadParams(r)
	if err != nil {
		return err
	}
	sum := r.Header.Get(lathe.UploadSHA256Header)
	if !hexSHA256().MatchString(sum) {
		return problemf(http.StatusBadRequest, "%s: send the archive's SHA-256 as 64 lower-case hex digits", lathe.UploadSHA256Header)
	}
	if r.ContentLength > s.uploads.max {
		return tooBig(name, s.uploads.max)
	}
	agent := principal(r.Context()).Agent
	// Refuse before reading the body: the agent sent Expect: 100-continue.
	sc, err := s.store.AttemptScope(r.Context(), agent.ID, id)
	if err != nil {
		return attemptProblem(w, id, err)
	}
	if r.ContentLength > 0 {
		used, err := s.store.ProjectUploadBytes(r.Context(), sc.RunID, name)
		if err == nil {
			err = store.CheckUploadQuota(used, r.ContentLength, s.uploads.quota)
		}
		if err != nil {
			return uploadProblem(name, err)
		}
	}
	key := uploadKey(sc.RunID, name, sum)
	size, err := s.uploads.receive(w, r, key, name, sum)
	if err != nil {
		return err
	}
	u := &lathe.Upload{RunID: sc.RunID, Name: name, AttemptID: id, Size: size, SHA256: sum}
	prev, err := s.store.PutUpload(r.Context(), agent.ID, u, s.uploads.quota)
	if err != nil {
		// Keep the file only if the upload on record is this very content.
		if cur, cerr := s.store.Upload(r.Context(), sc.RunID, name); cerr != nil || cur.SHA256 != sum {
			s.uploads.blobs.Delete(r.Context(), key)
		}
		return attemptProblem(w, id, uploadProblem(name, err))
	}
	status := http.StatusCreated
	if prev != nil {
		status = http.StatusOK
		if prev.SHA256 != sum {
			if err := s.uploads.blobs.Delete(r.Context(), uploadKey(prev.RunID, prev.Name, prev.SHA256)); err != nil {
				slogFrom(r).Warn("remove replaced upload", "run_id", prev.RunID, "name", prev.Name, "err", err)
			}
		}
	}
	slogFrom(r).Debug("upload stored", "run_id", sc.RunID, "attempt_id", id, "name", name, "size", size)
	writeJSON(w, status, u)
	return nil
}

// uploadProblem makes an upload over its project's quota a 413 that says so.
func uploadProblem(name string, err error) error {
	if errors.Is(err, store.ErrUploadQuota) {
		return problemf(http.StatusRequestEntityTooLarge, "upload %q: %v", name, err)
	}
	return err
}

func tooBig(name string, max int64) error {
	return problemf(http.StatusRequestEntityTooLarge, "upload %q: larger than the %d bytes this server accepts; upload fewer files", name, max)
}

// getUpload sends the archive of the upload {name} of the attempt's run.
func (s *Server) getUpload(w http.ResponseWriter, r *http.Request) error {
	id, name, err := s.uploadParams(r)
	if err != nil {
		return err
	}
	sc, err := s.store.AttemptScope(r.Context(), principal(r.Context()).Agent.ID, id)
	if err != nil {
		return attemptProblem(w, id, err)
	}
	u, err := s.store.Upload(r.Context(), sc.RunID, name)
	if errors.Is(err, lathe.ErrNotFound) {
		return problemf(http.StatusNotFound, "no job of run %d has uploaded %q: the job that uploads it must be one this job needs, "+
			"and its upload step must have run", sc.RunID, name)
	}
	if err != nil {
		return err
	}
	f, err := s.uploads.blobs.Get(r.Context(), uploadKey(u.RunID, u.Name, u.SHA256), 0, u.Size)
	if err != nil {
		return fmt.Errorf("upload %q of run %d: its archive is missing: %w", name, u.RunID, err)
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/gzip")
	w.Header().Set("Content-Length", strconv.FormatInt(u.Size, 10))
	w.Header().Set(lathe.UploadSHA256Header, u.SHA256)
	w.WriteHeader(http.StatusOK)
	if _, err := io.CopyN(w, f, u.Size); err != nil && r.Context().Err() == nil {
		slogFrom(r).Warn("send upload", "run_id", u.RunID, "name", name, "err", err)
	}
	return nil
}

// uploadParams reads an upload route's attempt and name, and refuses the
// request when the server keeps no uploads.
func (s *Server) uploadParams(r *http.Request) (int64, string, error) {
	id, err := pathID(r, "attempt")
	if err != nil {
		return 0, "", err
	}
	// The router has unescaped the path ("..%2Fx" is "../x" here); the
	// raw path must name the same thing, so an escaped form that some
	// proxy would unescape again is refused too.
	name := r.PathValue("name")
	if err := lathe.CheckUploadName(name); err != nil {
		return 0, "", problemf(http.StatusBadRequest, "name: %v", err)
	}
	if raw := r.URL.EscapedPath(); !strings.HasSuffix(raw, "/"+name) {
		return 0, "", problemf(http.StatusBadRequest, "name: %q must be written in the path as is, not escaped", name)
	}
	if s.uploads.dir == "" {
		return 0, "", problemf(http.StatusServiceUnavailable, "this server keeps no uploads")
	}
	return id, name, nil
}

// attemptProblem is the error of an agent's request about one of its
// attempts: a fenced attempt is named in Lathe-Fenced, as for reports.
func attemptProblem(w http.ResponseWriter, attemptID int64, err error) error {
	if errors.Is(err, lathe.ErrFenced) {
		w.Header().Set("Lathe-Fenced", strconv.FormatInt(attemptID, 10))
	}
	return err
}

// uploadList is the answer to listRunUploads.
type uploadList struct {
	Items []*lathe.Upload `json:"items"`
}

// listRunUploads lists a run's uploads by name.
func (s *Server) listRunUploads(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "run")
	if err != nil {
		return err
	}
	list, err := s.store.Uploads(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, uploadList{Items: list})
	return nil
}
