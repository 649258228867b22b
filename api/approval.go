package api

import (
	"context"
	"net/http"
	"unicode/utf8"
)

// approveJob opens a job's approval gate; the guard has checked write on
// the project, and dispatch checks the gate's `from` (users or teams).
func (s *Server) approveJob(w http.ResponseWriter, r *http.Request) error {
	return s.jobs().act(w, r, as(r, s.dispatch.ApproveJob))
}

// rejectInput is the optional body of a rejection: why.
type rejectInput struct {
	Comment string `json:"comment"`
}

// maxComment bounds a rejection's comment.
const maxComment = 2000

// rejectJob closes a job's approval gate: the job is canceled and the jobs
// that need it are skipped. Who may reject is who may approve; the comment
// is kept on the job and in the audit log.
func (s *Server) rejectJob(w http.ResponseWriter, r *http.Request) error {
	var in rejectInput
	if err := decodeOptional(w, r, &in); err != nil {
		return err
	}
	if utf8.RuneCountInString(in.Comment) > maxComment {
		return problemf(http.StatusBadRequest, "comment: at most %d characters", maxComment)
	}
	a := principal(r.Context()).actor()
	return s.jobs().act(w, r, func(ctx context.Context, id int64) error { return s.dispatch.RejectJob(ctx, a, id, in.Comment) })
}

// approveRun approves the commit of an untrusted run (a fork's pull
// request) for its project (see dispatch.Service.ApproveRun).
func (s *Server) approveRun(w http.ResponseWriter, r *http.Request) error {
	return s.runs().act(w, r, as(r, s.dispatch.ApproveRun))
}
