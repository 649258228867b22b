package api

import (
	"net/http"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/store"
)

// listJobs serves jobs across the runs of the projects the caller may
// read, newest first: ?status=queued is the queue with why each job waits
// (Zuul's pending node requests), ?status=running what runs now.
func (s *Server) listJobs(w http.ResponseWriter, r *http.Request) error {
	before, limit, err := pageParams(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := store.JobFilter{Status: lathe.Status(q.Get("status")), Before: before, Limit: limit, Viewer: principal(r.Context()).viewer()}
	if f.Status != "" && !f.Status.Valid() {
		return problemf(http.StatusBadRequest, "status: %q is not a status (one of %v)", f.Status, lathe.Statuses)
	}
	if f.ProjectID, err = s.readableProjectID(r, q.Get("project")); err != nil {
		return err
	}
	page, err := s.store.JobList(r.Context(), f)
	return respond(w, http.StatusOK, page, err)
}
