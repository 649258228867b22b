package trigger

import (
	"context"
	"fmt"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/pipeline"
)

// Rerun starts a new run of parent's pipeline at parent's commit (and with
// its ref and branch), linked to parent, with event "rerun". The pipeline
// is read afresh from that commit, so the new run has the parent's jobs.
func (s *Service) Rerun(ctx context.Context, p *lathe.Project, parent *lathe.Run) (*lathe.Run, error) {
	if parent.ProjectID != p.ID {
		return nil, fmt.Errorf("run %d is not of project %s: %w", parent.ID, p.Name, lathe.ErrInvalid)
	}
	ref, ps, err := s.Pipelines(ctx, p, parent.Commit)
	if err != nil {
		return nil, err
	}
	pl, err := pipeline.Choose(ps, parent.Pipeline)
	if err != nil {
		return nil, err
	}
	nr := Plan(pl)
	parentID := parent.ID
	nr.Run.ProjectID, nr.Run.Project = p.ID, p.Name
	nr.Run.Ref, nr.Run.Branch, nr.Run.Commit, nr.Run.Event = parent.Ref, parent.Branch, ref.Commit, "rerun"
	nr.Run.ParentID = &parentID
	if err := s.Store.CreateRun(ctx, nr); err != nil {
		return nil, err
	}
	return nr.Run, nil
}
