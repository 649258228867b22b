package api

import (
	"net/http"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/pipeline"
	"github.com/lathe-ci/lathe/store"
)

// pipelineView is a pipeline as read at a commit.
type pipelineView struct {
	Name   string    `json:"name"`
	File   string    `json:"file"`
	Commit string    `json:"commit"`
	Ref    string    `json:"ref"`
	Stages []string  `json:"stages"`
	Jobs   []jobView `json:"jobs"`
	// Params are the parameters a manual run takes, in file order.
	Params []paramView `json:"params"`
	// Triggers are the events that start runs (the file's `on:`).
	Triggers triggersView `json:"triggers"`
	// Branches are the newest run of the pipeline on each branch, the
	// most recently run first.
	Branches []store.BranchRun `json:"branches"`
}

// paramView is one parameter of a pipeline, as a run form offers it.
type paramView struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	Description string   `json:"description,omitempty"`
	Default     *string  `json:"default"`
	Choices     []string `json:"choices,omitempty"`
	Required    bool     `json:"required"`
}

type jobView struct {
	Name       string   `json:"name"`
	Stage      string   `json:"stage"`
	Needs      []string `json:"needs"`
	Deps       []string `json:"deps"`
	RunsOn     []string `json:"runs_on"`
	TimeoutSec int64    `json:"timeout_sec"`
	Steps      int      `json:"steps"`
	// Extends are the jobs and templates the job inherits from, as written.
	Extends []string `json:"extends"`
	// Matrix is the job's matrix and the combinations it expands to; nil
	// for a job without one.
	Matrix *matrixView `json:"matrix"`
}

func viewPipeline(p *pipeline.Pipeline, commit, ref string, branches []store.BranchRun) pipelineView {
	v := pipelineView{Name: p.Name, File: p.File, Commit: commit, Ref: ref, Stages: p.Stages, Jobs: []jobView{}, Params: []paramView{},
		Triggers: viewTriggers(p.Triggers), Branches: orEmpty(branches)}
	for _, prm := range p.Params {
		pv := paramView{Name: prm.Name, Type: prm.Type, Description: prm.Description, Choices: prm.Choices, Required: prm.Required}
		if prm.HasDefault {
			pv.Default = &prm.Default
		}
		v.Params = append(v.Params, pv)
	}
	for _, j := range p.Jobs {
		v.Jobs = append(v.Jobs, jobView{Name: j.Name, Stage: j.Stage, Needs: orEmpty(j.Needs), Deps: orEmpty(j.Deps),
			RunsOn: orEmpty(j.RunsOn), TimeoutSec: j.TimeoutSec(), Steps: len(j.Steps),
			Extends: orEmpty(j.Extends), Matrix: viewMatrix(j.Matrix)})
	}
	return v
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// pipelines reads the route's project's pipelines at ?ref= (default
// branch when absent).
func (s *Server) pipelines(r *http.Request) ([]pipelineView, error) {
	return s.projectPipelines(r, projectOf(r), r.URL.Query().Get("ref"))
}

// projectPipelines reads p's pipelines at ref (its default branch when
// empty), each with its newest run on every branch.
func (s *Server) projectPipelines(r *http.Request, p *lathe.Project, ref string) ([]pipelineView, error) {
	at, ps, err := s.trigger.Pipelines(r.Context(), p, ref)
	if err != nil {
		return nil, err
	}
	runs, err := s.store.LatestRunsByBranch(r.Context(), p.ID)
	if err != nil {
		return nil, err
	}
	out := []pipelineView{}
	for _, pl := range ps {
		out = append(out, viewPipeline(pl, at.Commit, at.Ref, runs[pl.Name]))
	}
	return out, nil
}

func (s *Server) listPipelines(w http.ResponseWriter, r *http.Request) error {
	ps, err := s.pipelines(r)
	return respond(w, http.StatusOK, map[string]any{"items": ps}, err)
}

func (s *Server) getPipeline(w http.ResponseWriter, r *http.Request) error {
	ps, err := s.pipelines(r)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if p.Name == r.PathValue("pipeline") {
			writeJSON(w, http.StatusOK, p)
			return nil
		}
	}
	return problemf(http.StatusNotFound, "no pipeline %q at this ref", r.PathValue("pipeline"))
}
