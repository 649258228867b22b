package api

import (
	"context"
	"net/http"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/dispatch"
)

// rerunJob re-runs a finished job, and the jobs that need it, as a new run.
func (s *Server) rerunJob(w http.ResponseWriter, r *http.Request) error {
	return s.newRun(w, r, "job", s.dispatch.RerunJob)
}

// rerunFailed re-runs the failed jobs of a finished run as a new run.
func (s *Server) rerunFailed(w http.ResponseWriter, r *http.Request) error {
	return s.newRun(w, r, "run", s.dispatch.RerunFailed)
}

// rerunRun starts a new run of the same pipeline at the same commit, linked to its parent.
func (s *Server) rerunRun(w http.ResponseWriter, r *http.Request) error {
	return s.newRun(w, r, "run", s.dispatch.Rerun)
}

// newRun answers a re-run of the run or job named by the path parameter
// param with the new run it made.
func (s *Server) newRun(w http.ResponseWriter, r *http.Request, param string,
	rerun func(context.Context, dispatch.Actor, int64) (*lathe.Run, error)) error {
	id, err := pathID(r, param)
	if err != nil {
		return err
	}
	run, err := rerun(r.Context(), principal(r.Context()).actor(), id)
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
