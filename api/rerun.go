package api

import (
	"net/http"

	lathe "github.com/lathe-ci/lathe"
)

// rerunJob queues a finished job again as a new attempt.
func (s *Server) rerunJob(w http.ResponseWriter, r *http.Request) error {
	return s.jobs().act(w, r, as(r, s.dispatch.RerunJob))
}

// rerunFailed queues every failed job of a finished run again.
func (s *Server) rerunFailed(w http.ResponseWriter, r *http.Request) error {
	return s.runs().act(w, r, as(r, s.dispatch.RerunFailed))
}

// rerunRun starts a new run of the same pipeline at the same commit, linked to its parent.
func (s *Server) rerunRun(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "run")
	if err != nil {
		return err
	}
	run, err := s.dispatch.Rerun(r.Context(), principal(r.Context()).actor(), id)
	return created(w, run, err)
}

// created answers 201 with a run just started, or returns err when it is set.
func created(w http.ResponseWriter, run *lathe.Run, err error) error {
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/runs/"+itoa(run.ID))
	writeJSON(w, http.StatusCreated, run)
	return nil
}
