package api

import (
	"net/http"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/store"
)

// Builds search and build times (Zuul's /builds and /build-times): the
// finished jobs of every run, filtered.

// buildFilter reads the filters /builds and /build-times share.
func buildFilter(r *http.Request) (store.BuildFilter, error) {
	q := r.URL.Query()
	f := store.BuildFilter{Project: q.Get("project"), Pipeline: q.Get("pipeline"), Job: q.Get("job"), Branch: q.Get("branch"),
		Ref: q.Get("ref"), Agent: q.Get("agent"), Result: lathe.Status(q.Get("result")), Viewer: principal(r.Context()).viewer()}
	if f.Result != "" && !f.Result.Terminal() {
		return f, problemf(http.StatusBadRequest, "result: %q is not a final status (success, failed, canceled, skipped, lost, timed_out)", f.Result)
	}
	lo, err := queryInt(r, "min_duration", 0, 0, 1<<31)
	if err != nil {
		return f, err
	}
	hi, err := queryInt(r, "max_duration", 0, 0, 1<<31)
	if err != nil {
		return f, err
	}
	f.MinDuration, f.MaxDuration = time.Duration(lo)*time.Second, time.Duration(hi)*time.Second
	if f.Since, err = queryTime(r, "since"); err != nil {
		return f, err
	}
	if f.Until, err = queryTime(r, "until"); err != nil {
		return f, err
	}
	return f, nil
}

// queryTime reads an optional RFC 3339 time.
func queryTime(r *http.Request, name string) (time.Time, error) {
	v := queryValue(r, name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return t, problemf(http.StatusBadRequest, "query parameter %s: %q is not an RFC 3339 time such as 2026-12-01T00:00:00Z", name, v)
	}
	return t, nil
}

// listBuilds serves GET /api/v1/builds: only projects the caller may read.
func (s *Server) listBuilds(w http.ResponseWriter, r *http.Request) error {
	f, err := buildFilter(r)
	if err != nil {
		return err
	}
	if f.Before, f.Limit, err = pageParams(r); err != nil {
		return err
	}
	page, err := s.store.Builds(r.Context(), f)
	return respond(w, http.StatusOK, page, err)
}

// maxBuildTimes bounds how many builds one build-times answer measures.
const maxBuildTimes = 10_000

// buildTimes serves GET /api/v1/projects/{project}/build-times.
func (s *Server) buildTimes(w http.ResponseWriter, r *http.Request) error {
	f, err := buildFilter(r)
	if err != nil {
		return err
	}
	// The path names the project (the document declares no ?project= here).
	f.Project, f.Viewer = projectOf(r).Name, nil
	limit, err := queryInt(r, "limit", 1000, 1, maxBuildTimes)
	if err != nil {
		return err
	}
	f.Limit = int(limit)
	bt, err := s.store.BuildTimes(r.Context(), f)
	return respond(w, http.StatusOK, bt, err)
}

// projectStats serves GET /api/v1/projects/{project}/stats.
func (s *Server) projectStats(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	st, err := s.store.RunStats(r.Context(), projectOf(r).ID, q.Get("pipeline"), q.Get("branch"))
	return respond(w, http.StatusOK, st, err)
}
