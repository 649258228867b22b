package api

import (
	"net/http"
	"strconv"
)

// rerunJob queues a finished job again as a new attempt.
func (s *Server) rerunJob(w http.ResponseWriter, r *http.Request) error {
	return s.jobs().act(w, r, s.audited(r, "job.rerun", "job", s.store.RerunJob))
}

// rerunFailed queues every failed job of a finished run again.
func (s *Server) rerunFailed(w http.ResponseWriter, r *http.Request) error {
	return s.runs().act(w, r, s.audited(r, "run.rerun_failed", "run", s.store.RerunFailed))
}

// rerunRun starts a new run of the same pipeline at the same commit, linked to its parent.
func (s *Server) rerunRun(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "run")
	if err != nil {
		return err
	}
	parent, err := s.store.Run(r.Context(), id)
	if err != nil {
		return err
	}
	p, err := s.store.Project(r.Context(), strconv.FormatInt(parent.ProjectID, 10))
	if err != nil {
		return err
	}
	if err := s.roomToRun(); err != nil {
		return err
	}
	run, err := s.trigger.Rerun(r.Context(), p, parent)
	if err != nil {
		return err
	}
	s.audit(r, principal(r.Context()).User, "run.rerun", p, map[string]any{"run_id": run.ID, "parent_run_id": parent.ID})
	run, err = s.store.Run(r.Context(), run.ID)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/runs/"+itoa(run.ID))
	writeJSON(w, http.StatusCreated, run)
	return nil
}
