package api

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/blob"
	"github.com/lathe-ci/lathe/store"
)

// Caches: before a job's steps its agent asks for the newest cache whose
// key matches (exactly, then by each restore prefix) and unpacks it; after
// a successful job it saves one under a key the project does not hold yet.
// The scope (the project, and whether the run is untrusted) comes from the
// attempt on the server, never from the agent, so an untrusted run's cache
// never reaches a trusted run. Blob keys are made of the project's ID, the
// scope, and digests of the key and the content.

func cacheBlobKey(c *lathe.Cache) string {
	scope := "trusted"
	if c.Untrusted {
		scope = "untrusted"
	}
	k := sha256.Sum256([]byte(c.Key))
	return fmt.Sprintf("%d/%s/%s-%s", c.ProjectID, scope, hex.EncodeToString(k[:16]), c.SHA256)
}

// cacheKeys reads ?key= and the ?restore_key= prefixes.
func cacheKeys(r *http.Request, withPrefixes bool) (string, []string, error) {
	q := r.URL.Query()
	key := q.Get("key")
	if err := lathe.CheckCacheKey(key); err != nil {
		return "", nil, problemf(http.StatusBadRequest, "key: %v", err)
	}
	if !withPrefixes {
		return key, nil, nil
	}
	prefixes := q["restore_key"]
	if len(prefixes) > 10 {
		return "", nil, problemf(http.StatusBadRequest, "restore_key: %d prefixes; at most 10", len(prefixes))
	}
	for i, p := range prefixes {
		if err := lathe.CheckCacheKey(p); err != nil {
			return "", nil, problemf(http.StatusBadRequest, "restore_key[%d]: %v", i, err)
		}
	}
	return key, prefixes, nil
}

// restoreCache sends the archive of the cache that matches, with its key.
func (s *Server) restoreCache(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "attempt")
	if err != nil {
		return err
	}
	key, prefixes, err := cacheKeys(r, true)
	if err != nil {
		return err
	}
	if s.results.caches == nil {
		return problemf(http.StatusServiceUnavailable, "this server keeps no caches")
	}
	sc, err := s.store.AttemptCacheScope(r.Context(), principal(r.Context()).Agent.ID, id)
	if err != nil {
		return attemptProblem(w, id, err)
	}
	c, err := s.store.FindCache(r.Context(), sc, key, prefixes)
	if err != nil {
		return err
	}
	f, err := s.results.caches.Get(r.Context(), cacheBlobKey(c), 0, c.Size)
	if err != nil {
		return fmt.Errorf("cache %q: its archive is missing: %w", c.Key, err)
	}
	defer f.Close()
	h := w.Header()
	h.Set("Content-Type", "application/gzip")
	h.Set("Content-Length", strconv.FormatInt(c.Size, 10))
	h.Set(lathe.CacheKeyHeader, c.Key)
	h.Set(lathe.CacheSHA256Header, c.SHA256)
	w.WriteHeader(http.StatusOK)
	if _, err := io.CopyN(w, f, c.Size); err != nil && r.Context().Err() == nil {
		slogFrom(r).Warn("send cache", "cache_id", c.ID, "err", err)
	}
	return nil
}

// saveCache stores the body as the cache ?key= of the attempt's project
// and scope, then evicts the project's least recently used caches beyond
// its quota. A key already saved is a 409: caches are never replaced.
func (s *Server) saveCache(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "attempt")
	if err != nil {
		return err
	}
	key, _, err := cacheKeys(r, false)
	if err != nil {
		return err
	}
	sum := r.Header.Get(lathe.CacheSHA256Header)
	if !hexSHA256().MatchString(sum) {
		return problemf(http.StatusBadRequest, "%s: send the archive's SHA-256 as 64 lower-case hex digits", lathe.CacheSHA256Header)
	}
	if s.results.caches == nil {
		return problemf(http.StatusServiceUnavailable, "this server keeps no caches")
	}
	if r.ContentLength < 0 {
		return problemf(http.StatusLengthRequired, "cache %q: send its size as Content-Length", key)
	}
	if r.ContentLength > s.results.cacheQuota {
		return problemf(http.StatusRequestEntityTooLarge, "cache %q: %d bytes, more than the project's cache quota of %d bytes", key, r.ContentLength, s.results.cacheQuota)
	}
	sc, err := s.store.AttemptCacheScope(r.Context(), principal(r.Context()).Agent.ID, id)
	if err != nil {
		return attemptProblem(w, id, err)
	}
	c := &lathe.Cache{ProjectID: sc.ProjectID, Untrusted: sc.Untrusted, Key: key, Size: r.ContentLength, SHA256: sum}
	bkey := cacheBlobKey(c)
	body := &bodyReader{r: r.Body}
	if _, err := s.results.caches.Put(r.Context(), bkey, body, blob.Want{Size: c.Size, SHA256: sum}); err != nil {
		switch {
		case r.Context().Err() != nil:
			return r.Context().Err()
		case body.err != nil:
			return problemf(http.StatusBadRequest, "cache %q: reading the body: %v", key, body.err)
		case errors.Is(err, blob.ErrMismatch):
			return problemf(http.StatusBadRequest, "cache %q: the body is not what Content-Length and %s say (%v)", key, lathe.CacheSHA256Header, err)
		}
		return fmt.Errorf("cache %q: %w", key, err)
	}
	existing, evicted, err := s.store.PutCache(r.Context(), c, s.results.cacheQuota)
	if err != nil {
		if existing == nil || cacheBlobKey(existing) != bkey {
			s.results.caches.Delete(r.Context(), bkey)
		}
		if errors.Is(err, store.ErrCacheExists) {
			return problemf(http.StatusConflict, "cache %q is saved already; a key is saved once (put what changes it, such as hashFiles of a lock file, in the key)", key)
		}
		return err
	}
	for _, o := range evicted {
		if err := s.results.caches.Delete(r.Context(), cacheBlobKey(o)); err != nil {
			slogFrom(r).Warn("remove evicted cache", "cache_id", o.ID, "err", err)
		}
	}
	if len(evicted) > 0 {
		slogFrom(r).Info("caches evicted", "project_id", c.ProjectID, "count", len(evicted))
	}
	writeJSON(w, http.StatusCreated, c)
	return nil
}

// cacheList is the answer to listCaches.
type cacheList struct {
	Items []*lathe.Cache `json:"items"`
}

// listCaches lists a project's caches, most recently used first.
func (s *Server) listCaches(w http.ResponseWriter, r *http.Request) error {
	list, err := s.store.Caches(r.Context(), projectOf(r).ID)
	return respond(w, http.StatusOK, cacheList{Items: list}, err)
}
