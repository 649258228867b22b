package trigger

import (
	"context"
	"fmt"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/pipeline"
)

// Rerun starts a new run of parent's pipeline at parent's commit (and with
// its ref and branch), linked to parent, with event "rerun". The pipeline
// is read afresh from that commit and planned for the parent's event, so
// the new run has the parent's jobs, with the parent's parameter values.
// It keeps the parent's trust: a re-run of a fork's run is untrusted, and
// waits at the trust gate unless a writer approved that commit. A run of a
// pipeline posted through the API cannot be re-run whole.
//
// Of req, only what says who asks and for which deployment counts: By
// (the user re-running: the new run's deployments are theirs, and a
// second-person gate keeps them from answering it), and Gate, Candidate
// and Deploys for the re-run of a deployment's deploy run (see Request).
func (s *Service) Rerun(ctx context.Context, p *lathe.Project, parent *lathe.Run, req Request) (*lathe.Run, error) {
	if parent.ProjectID != p.ID {
		return nil, fmt.Errorf("run %d is not of project %s: %w", parent.ID, p.Name, lathe.ErrInvalid)
	}
	if parent.PipelineFromAPI {
		// Its pipeline is not in the repository to read afresh; its
		// failed jobs re-run from the run itself (rerun-failed, rerun job).
		return nil, fmt.Errorf("run %d ran a pipeline posted through the API, which the commit does not hold: post it again, "+
			"or re-run its failed jobs: %w", parent.ID, lathe.ErrInvalid)
	}
	ref, ps, err := s.Pipelines(ctx, p, parent.Commit)
	if err != nil && !runsDespite(err, ps, parent.Pipeline) {
		return nil, err
	}
	pl, err := pipeline.Choose(ps, parent.Pipeline)
	if err != nil {
		return nil, err
	}
	parentID := parent.ID
	ref.Ref, ref.Branch = parent.Ref, parent.Branch
	params := map[string]string{}
	for _, pv := range parent.Params {
		params[pv.Name] = pv.Value
	}
	return s.start(ctx, p, pl, ref, launch{event: parent.Event, params: params, parent: &parentID, recordAs: lathe.EventRerun,
		untrusted: parent.Untrusted, gate: req.Gate, by: req.By, candidate: req.Candidate, deploys: req.Deploys})
}
