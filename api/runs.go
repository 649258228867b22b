package api

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/pipeline"
	"github.com/lathe-ci/lathe/store"
	"github.com/lathe-ci/lathe/trigger"
)

type triggerInput struct {
	Ref      string `json:"ref"`
	Pipeline string `json:"pipeline"`
	// Params are values for the pipeline's parameters, by name.
	Params map[string]string `json:"params"`
	// PipelineYAML, when set, is the pipeline to run instead of the
	// commit's (see trigger.Service.TriggerPosted); Pipeline names it.
	PipelineYAML string `json:"pipeline_yaml"`
	// PullRequest, instead of Ref, builds a pull request's head.
	PullRequest int64 `json:"pull_request"`
}

func (s *Server) triggerRun(w http.ResponseWriter, r *http.Request) error {
	var in triggerInput
	if err := decodeOptional(w, r, &in); err != nil {
		return err
	}
	req := trigger.Request{Ref: in.Ref, Pipeline: in.Pipeline, Params: in.Params, PullRequest: in.PullRequest}
	if in.PipelineYAML != "" {
		if in.Pipeline == "" {
			return problemf(http.StatusBadRequest, "pipeline: required with pipeline_yaml: the name of the posted pipeline")
		}
		if in.PullRequest != 0 {
			return problemf(http.StatusBadRequest, "pull_request: a posted pipeline runs at a ref, not a pull request")
		}
		run, err := s.dispatch.TriggerPosted(r.Context(), principal(r.Context()).actor(), req, in.PipelineYAML)
		return created(w, run, err)
	}
	if in.Pipeline == "" {
		return s.triggerAll(w, r, req)
	}
	run, err := s.dispatch.Trigger(r.Context(), principal(r.Context()).actor(), req)
	return created(w, run, err)
}

// triggeredRuns is the answer to a trigger that names no pipeline: the
// runs of every pipeline the event selects, and why the others it selected
// did not start (their conditions left out every job, …).
type triggeredRuns struct {
	Items  []*lathe.Run `json:"items"`
	Errors []string     `json:"errors"`
}

// triggerAll starts every pipeline the request's event selects at its ref
// (Kraken's "create a flow" of a branch).
func (s *Server) triggerAll(w http.ResponseWriter, r *http.Request, req trigger.Request) error {
	runs, why, err := s.dispatch.TriggerAll(r.Context(), principal(r.Context()).actor(), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, triggeredRuns{Items: runs, Errors: why})
	return nil
}

// runFilter reads the list filters shared by /runs and /projects/{project}/runs.
func (s *Server) runFilter(r *http.Request, projectKey string) (store.RunFilter, error) {
	before, limit, err := pageParams(r)
	if err != nil {
		return store.RunFilter{}, err
	}
	q := r.URL.Query()
	f := store.RunFilter{Pipeline: q.Get("pipeline"), Branch: q.Get("branch"), Ref: q.Get("ref"), Commit: q.Get("commit"),
		Status: lathe.Status(q.Get("status")), Event: q.Get("event"), Before: before, Limit: limit, Viewer: principal(r.Context()).viewer()}
	switch pr := q.Get("pull_request"); pr {
	case "":
	case "none":
		f.PullRequest = -1
	default:
		n, err := strconv.ParseInt(pr, 10, 64)
		if err != nil || n < 1 {
			return f, problemf(http.StatusBadRequest, "pull_request: %q is not a pull request number (1 or more) or none", pr)
		}
		f.PullRequest = n
	}
	if events := append(pipeline.EventKinds(), lathe.EventRerun); f.Event != "" && !slices.Contains(events, f.Event) {
		return f, problemf(http.StatusBadRequest, "event: %q is not an event (one of %s)", f.Event, strings.Join(events, ", "))
	}
	if f.Status != "" && !f.Status.Valid() {
		return f, problemf(http.StatusBadRequest, "status: %q is not a status (one of %v)", f.Status, lathe.Statuses)
	}
	f.ProjectID, err = s.readableProjectID(r, projectKey)
	return f, err
}

// readableProjectID is the ID of the project a list's ?project= names (0
// for none). A project the caller may not read is, to the filter, one that
// does not exist: the answer must not tell them apart.
func (s *Server) readableProjectID(r *http.Request, key string) (int64, error) {
	if key == "" {
		return 0, nil
	}
	p, err := s.store.Project(r.Context(), key)
	if err != nil {
		return 0, err
	}
	role, err := s.roleOn(r.Context(), principal(r.Context()), p)
	if err != nil {
		return 0, err
	}
	if role.Rank() < lathe.RoleRead.Rank() {
		return 0, fmt.Errorf("project %s: %w", key, lathe.ErrNotFound)
	}
	return p.ID, nil
}

// listRuns serves runs across projects, or of ?project= (looked up here:
// the route is not a project route, the viewer filter keeps it to what the
// caller may read).
func (s *Server) listRuns(w http.ResponseWriter, r *http.Request) error {
	f, err := s.runFilter(r, r.URL.Query().Get("project"))
	return s.writeRuns(w, r, f, err)
}

func (s *Server) listProjectRuns(w http.ResponseWriter, r *http.Request) error {
	f, err := s.runFilter(r, "")
	f.ProjectID = projectOf(r).ID
	return s.writeRuns(w, r, f, err)
}

func (s *Server) writeRuns(w http.ResponseWriter, r *http.Request, f store.RunFilter, err error) error {
	if err != nil {
		return err
	}
	page, err := s.store.Runs(r.Context(), f)
	return respond(w, http.StatusOK, page, err)
}

func (s *Server) getRun(w http.ResponseWriter, r *http.Request) error {
	return s.runs().serve(w, r)
}

func (s *Server) cancelRun(w http.ResponseWriter, r *http.Request) error {
	return s.runs().act(w, r, as(r, s.dispatch.CancelRun))
}

func (s *Server) listStages(w http.ResponseWriter, r *http.Request) error {
	return byID("run", func(ctx context.Context, id int64) (any, error) {
		stages, err := s.store.Stages(ctx, id)
		return map[string]any{"items": stages}, err
	}).serve(w, r)
}

func (s *Server) getStage(w http.ResponseWriter, r *http.Request) error {
	return s.stages().serve(w, r)
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request) error {
	return s.jobs().serve(w, r)
}

func (s *Server) cancelJob(w http.ResponseWriter, r *http.Request) error {
	return s.jobs().act(w, r, as(r, s.dispatch.CancelJob))
}
