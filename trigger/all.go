package trigger

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/pipeline"
)

// TriggerAll starts every pipeline at the request's ref whose `on:` takes
// the request's event (manual when empty), as one call (Kraken's "create a
// flow" of a branch); req.Pipeline is ignored. Each pipeline gets the
// parameters it declares; a parameter none of them declares is an error.
// A pipeline whose conditions leave out every job starts nothing. It
// returns the runs it started and why the others could not start; with
// no run started, the error says why.
func (s *Service) TriggerAll(ctx context.Context, p *lathe.Project, req Request) ([]*lathe.Run, []error, error) {
	ref, ps, err := s.Pipelines(ctx, p, req.Ref)
	if err != nil && !runsDespite(err, ps, "") {
		return nil, nil, err
	}
	// The broken files' pipelines cannot start; the sound ones' do.
	var skipped []error
	if err != nil {
		skipped = append(skipped, err)
	}
	event := req.Event
	if event == "" {
		event = pipeline.EventManual
	}
	ev := pipeline.Event{Kind: event, Branch: ref.Branch, Tag: ref.Tag(), Ref: ref.Ref, Commit: ref.Commit}
	var chosen []*pipeline.Pipeline
	var names []string
	declared := map[string]bool{}
	for _, pl := range ps {
		names = append(names, pl.Name)
		if !pl.Triggers.Matches(ev) {
			continue
		}
		chosen = append(chosen, pl)
		for _, prm := range pl.Params {
			declared[prm.Name] = true
		}
	}
	if len(chosen) == 0 {
		return nil, nil, fmt.Errorf("no pipeline at %s runs on %s requests (the pipelines are %s; add %s to the on: of one): %w",
			ref.Ref, event, strings.Join(names, ", "), event, lathe.ErrInvalid)
	}
	for name := range req.Params {
		if !declared[name] {
			return nil, nil, fmt.Errorf("params: %q is a parameter of none of the pipelines that run (%s): %w",
				name, strings.Join(pipelineNames(chosen), ", "), lathe.ErrInvalid)
		}
	}
	var runs []*lathe.Run
	for _, pl := range chosen {
		params := map[string]string{}
		for k, v := range req.Params {
			if slices.ContainsFunc(pl.Params, func(prm *pipeline.Param) bool { return prm.Name == k }) {
				params[k] = v
			}
		}
		run, err := s.start(ctx, p, pl, ref, launch{event: event, params: params, pullRequest: req.PullRequest, gate: req.Gate})
		if err != nil {
			skipped = append(skipped, fmt.Errorf("pipeline %s: %w", pl.Name, err))
			continue
		}
		runs = append(runs, run)
	}
	if len(runs) == 0 {
		return nil, nil, errors.Join(skipped...)
	}
	return runs, skipped, nil
}

func pipelineNames(ps []*pipeline.Pipeline) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Name
	}
	return out
}
