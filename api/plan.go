package api

import (
	"net/http"
	"slices"
	"strings"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/pipeline"
)

// planView is a pipeline made concrete for one run at a ref, without running
// it (Zuul's freeze-jobs): the jobs after extends, matrix and conditions.
type planView struct {
	Pipeline string             `json:"pipeline"`
	File     string             `json:"file"`
	Commit   string             `json:"commit"`
	Ref      string             `json:"ref"`
	Event    string             `json:"event"`
	Stages   []string           `json:"stages"`
	Params   []lathe.EnvVar     `json:"params"`
	Jobs     []pipeline.JobView `json:"jobs"`
	Skipped  []pipeline.Skipped `json:"skipped"`
}

// planQuery reads ?event= and the repeatable ?param=NAME=VALUE.
func planQuery(r *http.Request) (string, map[string]string, error) {
	q := r.URL.Query()
	event := q.Get("event")
	if event == "" {
		event = pipeline.EventManual
	}
	params := map[string]string{}
	for _, kv := range q["param"] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return "", nil, problemf(http.StatusBadRequest, "query parameter param: %q must be NAME=VALUE", kv)
		}
		params[k] = v
	}
	return event, params, nil
}

// planPipeline serves the expanded plan of one pipeline at ?ref=.
func (s *Server) planPipeline(w http.ResponseWriter, r *http.Request) error {
	event, params, err := planQuery(r)
	if err != nil {
		return err
	}
	p := projectOf(r)
	ref, ps, err := s.trigger.Pipelines(r.Context(), p, r.URL.Query().Get("ref"))
	if err != nil {
		return err
	}
	for _, pl := range ps {
		if pl.Name != r.PathValue("pipeline") {
			continue
		}
		plan, err := pl.Plan(pipeline.PlanInput{Params: params, Event: pipeline.Event{
			Kind: event, Branch: ref.Branch, Ref: ref.Ref, Commit: ref.Commit, Tag: ref.Tag(),
		}})
		if err == nil {
			err = s.trigger.CheckTools(r.Context(), plan.Jobs)
		}
		if err != nil {
			return err
		}
		v := viewPlan(pl, plan, ref.Commit, ref.Ref, event)
		if job := queryValue(r, "job"); job != "" {
			// One job, frozen (Zuul's freeze-job): the matrix's jobs of a base name too.
			v.Jobs = slices.DeleteFunc(v.Jobs, func(j pipeline.JobView) bool { return j.Name != job && j.Base != job })
			if len(v.Jobs) == 0 {
				return problemf(http.StatusNotFound, "pipeline %q plans no job %q for this %s at %s", pl.Name, job, event, ref.Ref)
			}
		}
		writeJSON(w, http.StatusOK, v)
		return nil
	}
	return problemf(http.StatusNotFound, "no pipeline %q at this ref", r.PathValue("pipeline"))
}

func viewPlan(pl *pipeline.Pipeline, plan *pipeline.Plan, commit, ref, event string) planView {
	v := planView{Pipeline: pl.Name, File: pl.File, Commit: commit, Ref: ref, Event: event, Stages: plan.Stages,
		Params: []lathe.EnvVar{}, Jobs: []pipeline.JobView{}, Skipped: plan.Skipped}
	if v.Skipped == nil {
		v.Skipped = []pipeline.Skipped{}
	}
	for _, pv := range plan.Params {
		v.Params = append(v.Params, lathe.EnvVar{Name: pv.Name, Value: pv.Value.Text()})
	}
	for _, j := range plan.Jobs {
		v.Jobs = append(v.Jobs, j.View())
	}
	return v
}

// pipelineSchema serves the JSON Schema of the pipeline format, for editors
// (Kraken's workflow-schema). It is public: it holds nothing of any project.
func (s *Server) pipelineSchema(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/schema+json")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write(pipeline.Schema())
	return nil
}
