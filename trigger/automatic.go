package trigger

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/pipeline"
)

// Downstream starts, at the same commit, every other pipeline whose `on:
// pipeline: after` names the pipeline of run, which succeeded (Kraken's
// parent trigger). The new runs name run as their parent, and inherit its
// trust: code from a fork stays untrusted whichever pipeline runs it, so
// approving the fork's commit lets its downstream run but never gives it
// secrets. A run of a pipeline posted through the API starts none.
func (s *Service) Downstream(ctx context.Context, run *lathe.Run) ([]*lathe.Run, error) {
	if run.Status != lathe.StatusSuccess || run.PipelineFromAPI {
		// A pipeline posted through the API is not the one the repository's
		// pipelines name in their `after:`.
		return nil, nil
	}
	p, err := s.Store.Project(ctx, strconv.FormatInt(run.ProjectID, 10))
	if err != nil {
		return nil, err
	}
	ref, ps, err := s.Pipelines(ctx, p, run.Commit)
	if err != nil && !runsDespite(err, ps, "") {
		return nil, err
	}
	ref.Ref, ref.Branch = run.Ref, run.Branch
	parent := run.ID
	var started []*lathe.Run
	var errs []error
	for _, pl := range ps {
		if pl.Name == run.Pipeline || !pl.Triggers.Matches(pipeline.Event{Kind: pipeline.EventPipeline, Upstream: run.Pipeline}) {
			continue
		}
		r, err := s.start(ctx, p, pl, ref, launch{event: pipeline.EventPipeline, upstream: run.Pipeline, parent: &parent,
			untrusted: run.Untrusted})
		if err != nil {
			errs = append(errs, fmt.Errorf("pipeline %s after %s: %w", pl.Name, run.Pipeline, err))
			continue
		}
		started = append(started, r)
	}
	return started, errors.Join(errs...)
}
