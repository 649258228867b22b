package api

import (
	"net/http"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/store"
	"github.com/lathe-ci/lathe/trigger"
)

type triggerInput struct {
	Ref      string `json:"ref"`
	Pipeline string `json:"pipeline"`
}

func (s *Server) triggerRun(w http.ResponseWriter, r *http.Request) {
	var in triggerInput
	if err := decodeOptional(w, r, &in); err != nil {
		writeProblem(w, r, err)
		return
	}
	p, err := s.store.Project(r.Context(), r.PathValue("project"))
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	run, err := s.trigger.Trigger(r.Context(), p, trigger.Request{Ref: in.Ref, Pipeline: in.Pipeline, Event: "manual"})
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	run, err = s.store.Run(r.Context(), run.ID)
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/runs/"+itoa(run.ID))
	writeJSON(w, http.StatusCreated, run)
}

// runFilter reads the list filters shared by /runs and /projects/{project}/runs.
func (s *Server) runFilter(r *http.Request, projectKey string) (store.RunFilter, error) {
	before, limit, err := pageParams(r)
	if err != nil {
		return store.RunFilter{}, err
	}
	q := r.URL.Query()
	f := store.RunFilter{Pipeline: q.Get("pipeline"), Branch: q.Get("branch"), Ref: q.Get("ref"), Commit: q.Get("commit"),
		Status: lathe.Status(q.Get("status")), Before: before, Limit: limit}
	if f.Status != "" && !f.Status.Valid() {
		return f, problemf(http.StatusBadRequest, "status: %q is not a status (one of %v)", f.Status, lathe.Statuses)
	}
	if projectKey != "" {
		p, err := s.store.Project(r.Context(), projectKey)
		if err != nil {
			return f, err
		}
		f.ProjectID = p.ID
	}
	return f, nil
}

func (s *Server) listRuns(w http.ResponseWriter, r *http.Request) {
	s.writeRuns(w, r, r.URL.Query().Get("project"))
}

func (s *Server) listProjectRuns(w http.ResponseWriter, r *http.Request) {
	s.writeRuns(w, r, r.PathValue("project"))
}

func (s *Server) writeRuns(w http.ResponseWriter, r *http.Request, projectKey string) {
	f, err := s.runFilter(r, projectKey)
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	page, err := s.store.Runs(r.Context(), f)
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

func (s *Server) getRun(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "run")
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	run, err := s.store.Run(r.Context(), id)
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, run)
}

func (s *Server) cancelRun(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "run")
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	if err := s.store.CancelRun(r.Context(), id); err != nil {
		writeProblem(w, r, err)
		return
	}
	run, err := s.store.Run(r.Context(), id)
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, run)
}

func (s *Server) listStages(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "run")
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	stages, err := s.store.Stages(r.Context(), id)
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": stages})
}

func (s *Server) getStage(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "stage")
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	st, err := s.store.Stage(r.Context(), id)
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "job")
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	j, err := s.store.Job(r.Context(), id)
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, j)
}

func (s *Server) cancelJob(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "job")
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	if err := s.store.CancelJob(r.Context(), id); err != nil {
		writeProblem(w, r, err)
		return
	}
	j, err := s.store.Job(r.Context(), id)
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, j)
}
