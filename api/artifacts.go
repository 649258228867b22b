package api

import (
	"archive/zip"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/blob"
	"github.com/lathe-ci/lathe/store"
)

// Artifacts: after a job's steps, its agent sends each file its
// `artifacts:` globs match, one request per file, with the file's size and
// SHA-256; the server checks both while it writes the blob. Anyone who may
// read the project lists and downloads them (singly, with Range, or a run's
// all as one zip). Blob keys are made of the run's and attempt's IDs and
// digests of the path and the content: a path a client sent never becomes
// a file name on the server.

// Defaults of SetResults.
const (
	// DefaultCacheQuota bounds the caches of one project.
	DefaultCacheQuota = 5 << 30
	// DefaultCacheIdle is how long a cache nobody restores is kept.
	DefaultCacheIdle = 7 * 24 * time.Hour
	// maxExpireIn bounds an artifact's expire_in (as pipeline.MaxArtifactExpiry).
	maxExpireIn = 365 * 24 * 3600
)

// resultFiles is where artifacts and caches are kept.
type resultFiles struct {
	artifacts, caches blob.Store // nil when the server keeps none
	cacheQuota        int64
	cacheIdle         time.Duration
}

// ResultLimits bound caches: CacheQuota all of one project's caches, in
// bytes (zero: DefaultCacheQuota), beyond which the least recently used go;
// CacheIdle how long a cache no job restores is kept (zero:
// DefaultCacheIdle).
type ResultLimits struct {
	CacheQuota int64
	CacheIdle  time.Duration
}

// SetResults keeps artifacts in the blob store artifacts and caches in
// caches. Call it before serving; without it both are refused. One
// artifact is bounded like one upload (SetUploads), and a project's
// artifacts count towards its upload quota.
func (s *Server) SetResults(artifacts, caches blob.Store, limits ResultLimits) {
	if limits.CacheQuota <= 0 {
		limits.CacheQuota = DefaultCacheQuota
	}
	if limits.CacheIdle <= 0 {
		limits.CacheIdle = DefaultCacheIdle
	}
	s.results = resultFiles{artifacts: artifacts, caches: caches, cacheQuota: limits.CacheQuota, cacheIdle: limits.CacheIdle}
}

// newArtifactKey makes the blob key of an artifact's content: the run's
// and attempt's IDs, a digest of the path, and a random part, so a
// replaced artifact never overwrites the object a download is reading.
func newArtifactKey(runID, attemptID int64, p string) string {
	d := sha256.Sum256([]byte(p))
	var nonce [12]byte
	rand.Read(nonce[:])
	return fmt.Sprintf("%d/%d/%s-%s", runID, attemptID, hex.EncodeToString(d[:12]), hex.EncodeToString(nonce[:]))
}

// putArtifact stores the body as the artifact ?path= of the attempt's job.
// The body may be chunked with its SHA-256 in a trailer (the agent hashes
// as it sends) and its size in Lathe-Artifact-Size, or sized with the
// SHA-256 in a header; either way both are checked while it is written.
func (s *Server) putArtifact(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "attempt")
	if err != nil {
		return err
	}
	p := r.URL.Query().Get("path")
	if err := lathe.CheckArtifactPath(p); err != nil {
		return problemf(http.StatusBadRequest, "path: %v", err)
	}
	expire, err := queryInt(r, "expire_in", 0, 0, maxExpireIn)
	if err != nil {
		return err
	}
	sum := r.Header.Get(lathe.ArtifactSHA256Header)
	_, inTrailer := r.Trailer[http.CanonicalHeaderKey(lathe.ArtifactSHA256Header)]
	if sum != "" && !hexSHA256().MatchString(sum) || sum == "" && !inTrailer {
		return problemf(http.StatusBadRequest, "%s: send the file's SHA-256 as 64 lower-case hex digits, as a header or a trailer", lathe.ArtifactSHA256Header)
	}
	size := r.ContentLength
	if size < 0 {
		if size, err = strconv.ParseInt(r.Header.Get(lathe.ArtifactSizeHeader), 10, 64); err != nil || size < 0 {
			return problemf(http.StatusBadRequest, "artifact %q: send its size as Content-Length or %s", p, lathe.ArtifactSizeHeader)
		}
	}
	if s.results.artifacts == nil || s.uploads.max == 0 {
		return problemf(http.StatusServiceUnavailable, "this server keeps no artifacts")
	}
	if size > s.uploads.max {
		return problemf(http.StatusRequestEntityTooLarge, "artifact %q: %d bytes, larger than the %d bytes this server accepts", p, size, s.uploads.max)
	}
	agent := principal(r.Context()).Agent
	// Refuse before reading the body: the agent sent Expect: 100-continue.
	sc, err := s.store.AttemptScope(r.Context(), agent.ID, id)
	if err != nil {
		return attemptProblem(w, id, err)
	}
	a := &lathe.Artifact{RunID: sc.RunID, JobID: sc.JobID, AttemptID: id, Path: p, Size: size, BlobKey: newArtifactKey(sc.RunID, id, p)}
	body := &bodyReader{r: io.LimitReader(r.Body, size+1)}
	info, err := s.results.artifacts.Put(r.Context(), a.BlobKey, body, blob.Want{Size: size, SHA256: sum})
	if err == nil && sum == "" {
		// The trailer is read with the end of the body.
		if sum = r.Trailer.Get(lathe.ArtifactSHA256Header); sum != info.SHA256 {
			s.results.artifacts.Delete(r.Context(), a.BlobKey)
			err = fmt.Errorf("SHA-256 %s, the trailer says %q: %w", info.SHA256, sum, blob.ErrMismatch)
		}
	}
	if err != nil {
		switch {
		case r.Context().Err() != nil:
			return r.Context().Err()
		case body.err != nil:
			return problemf(http.StatusBadRequest, "artifact %q: reading the body: %v", p, body.err)
		case errors.Is(err, blob.ErrMismatch):
			return problemf(http.StatusBadRequest, "artifact %q: the body is not the %d bytes with the SHA-256 it was sent with (%v): it was damaged on the way",
				p, size, err)
		}
		return fmt.Errorf("artifact %q: %w", p, err)
	}
	a.SHA256 = info.SHA256
	prev, err := s.store.PutArtifact(r.Context(), agent.ID, a, time.Duration(expire)*time.Second, s.uploads.quota)
	if err != nil {
		s.results.artifacts.Delete(r.Context(), a.BlobKey)
		return attemptProblem(w, id, uploadProblem(p, err))
	}
	status := http.StatusCreated
	if prev != nil {
		status = http.StatusOK
		if err := s.results.artifacts.Delete(r.Context(), prev.BlobKey); err != nil {
			slogFrom(r).Warn("remove replaced artifact", "artifact_id", prev.ID, "err", err)
		}
	}
	writeJSON(w, status, a)
	return nil
}

// artifactList is the answer to listRunArtifacts.
type artifactList struct {
	Items []*lathe.Artifact `json:"items"`
}

// listRunArtifacts lists a run's artifacts (?job= keeps one job's).
func (s *Server) listRunArtifacts(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "run")
	if err != nil {
		return err
	}
	list, err := s.store.RunArtifacts(r.Context(), id, r.URL.Query().Get("job"))
	return respond(w, http.StatusOK, artifactList{Items: list}, err)
}

// listProjectArtifacts pages through a project's artifacts across runs,
// newest first (?branch=, ?pipeline=, ?path=).
func (s *Server) listProjectArtifacts(w http.ResponseWriter, r *http.Request) error {
	before, limit, err := pageParams(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	page, err := s.store.ProjectArtifacts(r.Context(), projectOf(r).ID, store.ArtifactFilter{
		Branch: q.Get("branch"), Pipeline: q.Get("pipeline"), Path: q.Get("path"), Before: before, Limit: limit})
	return respond(w, http.StatusOK, page, err)
}

func (s *Server) getArtifact(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "artifact")
	if err != nil {
		return err
	}
	a, err := s.store.Artifact(r.Context(), id)
	return respond(w, http.StatusOK, a, err)
}

// artifactContent sends an artifact's bytes, with Range support.
func (s *Server) artifactContent(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "artifact")
	if err != nil {
		return err
	}
	a, err := s.store.Artifact(r.Context(), id)
	if err != nil {
		return err
	}
	if err := s.artifactReadable(a); err != nil {
		return err
	}
	content := &blobSeeker{ctx: r, store: s.results.artifacts, key: a.BlobKey, size: a.Size}
	defer content.Close()
	h := w.Header()
	h.Set("Content-Type", artifactType(a.Path))
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": path.Base(a.Path)}))
	// A build's HTML must never run as the server's own pages.
	h.Set("Content-Security-Policy", "sandbox")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("ETag", `"`+a.SHA256+`"`)
	held := &heldStatus{ResponseWriter: w}
	http.ServeContent(held, r, "", a.CreatedAt, content)
	if !held.sent && content.err != nil {
		// Nothing of the body went out: the object is missing from the
		// blob store or could not be read, an error rather than a 200 or
		// 206 with no body.
		for _, k := range []string{"Content-Length", "Content-Range", "Content-Disposition", "ETag", "Last-Modified", "Accept-Ranges"} {
			h.Del(k)
		}
		return fmt.Errorf("artifact %d (%s): read its content: %w", a.ID, a.Path, content.err)
	}
	held.flush()
	return nil
}

// heldStatus holds the status http.ServeContent writes until the first
// byte of the body goes out, so a blob that cannot be read can still be
// answered as an error.
type heldStatus struct {
	http.ResponseWriter
	code int
	sent bool
}

func (h *heldStatus) WriteHeader(code int) {
	if h.code == 0 {
		h.code = code
	}
}

func (h *heldStatus) Write(p []byte) (int, error) {
	h.flush()
	return h.ResponseWriter.Write(p)
}

// flush writes the held status, once.
func (h *heldStatus) flush() {
	if h.sent {
		return
	}
	h.sent = true
	if h.code == 0 {
		h.code = http.StatusOK
	}
	h.ResponseWriter.WriteHeader(h.code)
}

// artifactReadable refuses an artifact whose content is gone.
func (s *Server) artifactReadable(a *lathe.Artifact) error {
	switch {
	case a.Expired:
		return fmt.Errorf("artifact %d (%s) expired under its retention policy; its record stays, its content is gone: %w",
			a.ID, a.Path, lathe.ErrExpired)
	case s.results.artifacts == nil:
		return problemf(http.StatusServiceUnavailable, "this server keeps no artifacts")
	}
	return nil
}

// artifactType is the Content-Type an artifact is served with: a few
// inert types by extension, and bytes for everything else (HTML and SVG
// included, which a browser would run).
func artifactType(p string) string {
	switch strings.ToLower(path.Ext(p)) {
	case ".txt", ".log", ".md", ".csv", ".json", ".xml":
		return "text/plain; charset=utf-8"
	case ".png":
		return "image/png"
	case ".jpg", ".jpeg":
		return "image/jpeg"
	case ".gif":
		return "image/gif"
	case ".pdf":
		return "application/pdf"
	case ".zip":
		return "application/zip"
	case ".gz", ".tgz":
		return "application/gzip"
	}
	return "application/octet-stream"
}

// runArtifactsZip streams a run's artifacts as one zip archive, each file
// at <job>/<path>; expired ones are left out.
func (s *Server) runArtifactsZip(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "run")
	if err != nil {
		return err
	}
	list, err := s.store.RunArtifacts(r.Context(), id, "")
	if err != nil {
		return err
	}
	if s.results.artifacts == nil {
		return problemf(http.StatusServiceUnavailable, "this server keeps no artifacts")
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": fmt.Sprintf("run-%d-artifacts.zip", id)}))
	zw := zip.NewWriter(w)
	for _, a := range list {
		if a.Expired {
			continue
		}
		if err := s.zipArtifact(r, zw, a); err != nil {
			// The status line is sent: all that is left is to cut the archive short.
			slogFrom(r).Warn("zip of run artifacts", "run_id", id, "artifact_id", a.ID, "err", err)
			return nil
		}
	}
	if err := zw.Close(); err != nil && r.Context().Err() == nil {
		slogFrom(r).Warn("zip of run artifacts", "run_id", id, "err", err)
	}
	return nil
}

func (s *Server) zipArtifact(r *http.Request, zw *zip.Writer, a *lathe.Artifact) error {
	f, err := s.results.artifacts.Get(r.Context(), a.BlobKey, 0, a.Size)
	if err != nil {
		return err
	}
	defer f.Close()
	job := strings.NewReplacer("/", "_", `\`, "_").Replace(a.Job)
	// Stored, not deflated: build outputs are mostly compressed already,
	// and the archive streams at disk speed.
	out, err := zw.CreateHeader(&zip.FileHeader{Name: job + "/" + a.Path, Method: zip.Store, Modified: a.CreatedAt})
	if err != nil {
		return err
	}
	_, err = io.CopyN(out, f, a.Size)
	return err
}

// blobSeeker reads a blob as an io.ReadSeeker (for http.ServeContent),
// opening it at the offset a read starts from.
type blobSeeker struct {
	ctx   *http.Request
	store blob.Store
	key   string
	size  int64
	off   int64
	rc    io.ReadCloser
	// err is why the object could not be opened, if it could not.
	err error
}

func (b *blobSeeker) Read(p []byte) (int, error) {
	if b.rc == nil {
		if b.off >= b.size {
			return 0, io.EOF
		}
		rc, err := b.store.Get(b.ctx.Context(), b.key, b.off, b.size-b.off)
		if err != nil {
			b.err = err
			return 0, err
		}
		b.rc = rc
	}
	n, err := b.rc.Read(p)
	b.off += int64(n)
	return n, err
}

func (b *blobSeeker) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		offset += b.off
	case io.SeekEnd:
		offset += b.size
	}
	if offset < 0 {
		return 0, errors.New("seek before the start")
	}
	if offset != b.off {
		b.Close()
		b.off = offset
	}
	return offset, nil
}

// Close closes the open reader, if any.
func (b *blobSeeker) Close() error {
	if b.rc == nil {
		return nil
	}
	err := b.rc.Close()
	b.rc = nil
	return err
}
