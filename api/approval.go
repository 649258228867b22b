package api

import (
	"context"
	"net/http"
)

// approveJob opens a job's approval gate (Escape's confirmation step): the
// job is queued and the caller recorded as its approver. Any caller with
// write on the project may approve (the guard checks it); Approval.From is
// shown but not yet enforced.
func (s *Server) approveJob(w http.ResponseWriter, r *http.Request) {
	by := principal(r.Context()).User
	approve := func(ctx context.Context, id int64) error { return s.store.ApproveJob(ctx, id, by) }
	actByID(w, r, "job", s.audited(r, "approval.given", "job", approve), s.store.Job)
}

// rejectJob closes a job's approval gate: the job is canceled and the jobs
// that need it are skipped.
func (s *Server) rejectJob(w http.ResponseWriter, r *http.Request) {
	actByID(w, r, "job", s.audited(r, "approval.rejected", "job", s.store.RejectJob), s.store.Job)
}
