package store

import (
	"context"
	"fmt"

	lathe "github.com/lathe-ci/lathe"
)

// ApproveJob opens the approval gate of a job waiting at it: the job is
// queued, and who approved it and when is kept on it. It is a conflict
// unless the job is waiting_for_approval at a gate of its own: a job that
// waits behind its run's trust gate goes on only once the run's commit is
// approved (ApproveRun), which a job's approval must not stand in for.
func (s *Store) ApproveJob(ctx context.Context, id int64, by string) error {
	return s.decideGate(ctx, id, func(t *txn, runID int64) error {
		var approval string
		var trustGate int
		if err := t.queryRow(ctx, `SELECT approval, trust_gate FROM jobs WHERE id = ?`, id).Scan(&approval, &trustGate); err != nil {
			return notFound(err, "job", id)
		}
		if trustGate != 0 {
			return fmt.Errorf("job %d waits for its run's commit to be approved (POST /api/v1/runs/%d/approve) before its own gate: %w",
				id, runID, lathe.ErrConflict)
		}
		if approval == "" {
			return fmt.Errorf("job %d has no approval gate: %w", id, lathe.ErrConflict)
		}
		now := micros(t.now)
		if _, err := t.exec(ctx, `UPDATE jobs SET status = ?, queued_at = ?, approved_by = ?, approved_at = ? WHERE id = ?`,
			lathe.StatusQueued, now, by, now, id); err != nil {
			return fmt.Errorf("approve job %d: %w", id, err)
		}
		return t.queuedWhere(ctx, `id = ?`, id)
	})
}

// RejectJob closes the approval gate of a job waiting at it for good: the
// job is canceled and the jobs that need it are skipped.
func (s *Store) RejectJob(ctx context.Context, id int64) error {
	return s.decideGate(ctx, id, func(t *txn, runID int64) error {
		_, err := t.exec(ctx, `UPDATE jobs SET status = ?, finished_at = ? WHERE id = ?`, lathe.StatusCanceled, micros(t.now), id)
		return err
	})
}

// decideGate locks the job's run, checks the job waits for approval, applies
// decide and advances the run.
func (s *Store) decideGate(ctx context.Context, id int64, decide func(t *txn, runID int64) error) error {
	return s.tx(ctx, func(t *txn) error {
		runID, status, err := t.lockJob(ctx, id)
		if err != nil {
			return err
		}
		if status != lathe.StatusWaiting {
			return fmt.Errorf("job %d is %s, not waiting for approval: %w", id, status, lathe.ErrConflict)
		}
		if err := decide(t, runID); err != nil {
			return err
		}
		return t.advanceRun(ctx, runID)
	})
}
