package api

import "net/http"

// approveJob opens a job's approval gate; the guard has checked write on
// the project, and dispatch checks the gate's `from` (users or teams).
func (s *Server) approveJob(w http.ResponseWriter, r *http.Request) error {
	return s.jobs().act(w, r, as(r, s.dispatch.ApproveJob))
}

// rejectJob closes a job's approval gate: the job is canceled and the jobs
// that need it are skipped. Who may reject is who may approve.
func (s *Server) rejectJob(w http.ResponseWriter, r *http.Request) error {
	return s.jobs().act(w, r, as(r, s.dispatch.RejectJob))
}

// approveRun approves the commit of an untrusted run (a fork's pull
// request) for its project (see dispatch.Service.ApproveRun).
func (s *Server) approveRun(w http.ResponseWriter, r *http.Request) error {
	return s.runs().act(w, r, as(r, s.dispatch.ApproveRun))
}
