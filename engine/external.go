package engine

import (
	"fmt"

	lathe "github.com/lathe-ci/lathe"
)

// ExternalUpdate decides whether an outside tool may move a stage from
// from to to (PATCH /api/v1/stages/{stage}). Only a stage the pipeline
// declares external may be moved this way, only while it is unfinished,
// and only to running, success or failed: its end is final like any
// other, and skipping or canceling it is the engine's doing (its
// predecessors failed, or its run was canceled).
func ExternalUpdate(id int64, external bool, from, to lathe.Status) error {
	if !external {
		return fmt.Errorf("stage %d is not external: its jobs decide its status; only a stage declared `external: true` can be set: %w",
			id, lathe.ErrConflict)
	}
	switch to {
	case lathe.StatusRunning, lathe.StatusSuccess, lathe.StatusFailed:
	default:
		return fmt.Errorf("status %q: an external stage can be set to running, success or failed: %w", to, lathe.ErrInvalid)
	}
	if from == to {
		return fmt.Errorf("stage %d is already %s: %w", id, from, lathe.ErrConflict)
	}
	if from.Terminal() {
		return fmt.Errorf("stage %d is already %s; a finished stage never changes: %w", id, from, lathe.ErrConflict)
	}
	return Check(Stage, id, from, to)
}

// StageDeletable decides whether a stage of a run in runStatus may be
// deleted: only once the run has finished, so nothing is still writing to
// the jobs, logs and uploads that go with it.
func StageDeletable(id int64, runStatus lathe.Status) error {
	if !runStatus.Terminal() {
		return fmt.Errorf("stage %d: its run is %s; a stage can be deleted once its run has finished: %w", id, runStatus, lathe.ErrConflict)
	}
	return nil
}
