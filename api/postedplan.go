package api

import (
	"net/http"
	"strings"

	"github.com/lathe-ci/lathe/git"
	"github.com/lathe-ci/lathe/pipeline"
	"github.com/lathe-ci/lathe/trigger"
)

// postedPlanInput is pipeline YAML to plan without a commit: the event,
// ref and parameters its conditions see.
type postedPlanInput struct {
	PipelineYAML string            `json:"pipeline_yaml"`
	Ref          string            `json:"ref"`
	Event        string            `json:"event"`
	Params       map[string]string `json:"params"`
}

// planPosted serves the plan of posted pipeline YAML, or its problems
// (422, each with its file, line and field, as for the repository's
// files). Nothing is resolved or read from the repository: the ref is
// taken as written (a branch name, refs/heads/…, refs/tags/… or a commit
// ID), for the conditions that look at it.
func (s *Server) planPosted(w http.ResponseWriter, r *http.Request) error {
	var in postedPlanInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if in.PipelineYAML == "" {
		return problemf(http.StatusBadRequest, "pipeline_yaml: required: the pipeline file's text")
	}
	pl, err := trigger.ParsePosted(r.PathValue("pipeline"), in.PipelineYAML)
	if err != nil {
		return err
	}
	if in.Event == "" {
		in.Event = pipeline.EventManual
	}
	if in.Ref == "" {
		in.Ref = projectOf(r).DefaultBranch
	}
	ref := refAsWritten(in.Ref)
	plan, err := pl.Plan(pipeline.PlanInput{Params: in.Params, Event: pipeline.Event{
		Kind: in.Event, Branch: ref.Branch, Ref: ref.Ref, Commit: ref.Commit, Tag: ref.Tag(),
	}})
	if err == nil {
		err = s.trigger.CheckTools(r.Context(), plan.Jobs)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewPlan(pl, plan, ref.Commit, ref.Ref, in.Event))
	return nil
}

// refAsWritten reads a ref without asking the remote what it names.
func refAsWritten(ref string) git.Ref {
	switch {
	case git.IsCommitID(ref):
		return git.Ref{Commit: ref, Ref: ref}
	case strings.HasPrefix(ref, "refs/heads/"):
		return git.Ref{Ref: ref, Branch: strings.TrimPrefix(ref, "refs/heads/")}
	case strings.HasPrefix(ref, "refs/"):
		return git.Ref{Ref: ref}
	}
	return git.Ref{Ref: "refs/heads/" + ref, Branch: ref}
}
