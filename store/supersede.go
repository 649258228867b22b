package store

import (
	"context"
	"errors"
	"fmt"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/engine"
)

// SupersedeActor is who the audit log names for a cancel made by
// auto_cancel: the server, on the pipeline's behalf.
const SupersedeActor = "lathe"

// CancelSuperseded cancels the unfinished runs that newer, a run just
// stored of a pipeline that says `auto_cancel: true`, supersedes (see
// engine.Supersedes): each as CancelRun cancels it, with an audit entry
// run.superseded whose reason says "superseded by run N". It returns the
// IDs of the runs it canceled; a run that ended meanwhile is left alone.
func (s *Store) CancelSuperseded(ctx context.Context, newer *lathe.Run) ([]int64, error) {
	older, err := s.UnfinishedRuns(ctx, QueueFilter{ProjectID: newer.ProjectID, Pipeline: newer.Pipeline, Before: newer.ID})
	if err != nil {
		return nil, err
	}
	var canceled []int64
	var errs []error
	for _, r := range older {
		if !engine.Supersedes(newer, r) {
			continue
		}
		if err := s.CancelRun(ctx, r.ID); errors.Is(err, lathe.ErrConflict) {
			continue // it ended first
		} else if err != nil {
			errs = append(errs, fmt.Errorf("cancel run %d superseded by run %d: %w", r.ID, newer.ID, err))
			continue
		}
		canceled = append(canceled, r.ID)
		err := s.Audit(ctx, SupersedeActor, "run.superseded", r.ProjectID, map[string]any{"run_id": r.ID,
			"superseded_by": newer.ID, "pipeline": r.Pipeline, "project": r.Project,
			"reason": fmt.Sprintf("superseded by run %d", newer.ID)})
		if err != nil {
			errs = append(errs, err)
		}
	}
	return canceled, errors.Join(errs...)
}
