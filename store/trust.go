package store

import (
	"context"
	"fmt"

	lathe "github.com/lathe-ci/lathe"
)

// gateUntrusted puts every job of a new untrusted run behind the trust gate,
// unless a user with write already approved this exact commit of the
// project: approvals are per commit, so a new commit needs a new one.
func (t *txn) gateUntrusted(ctx context.Context, r *lathe.Run) error {
	if ok, err := t.commitApproved(ctx, r.ProjectID, r.Commit); err != nil || ok {
		return err
	}
	_, err := t.exec(ctx, `UPDATE jobs SET trust_gate = 1 WHERE run_id = ?`, r.ID)
	return err
}

// commitApproved reports whether a user with write approved commit for the project.
func (t *txn) commitApproved(ctx context.Context, projectID int64, commit string) (bool, error) {
	var n int
	if err := t.queryRow(ctx, `SELECT count(*) FROM commit_approvals WHERE project_id = ? AND commit_sha = ?`,
		projectID, commit).Scan(&n); err != nil {
		return false, fmt.Errorf("commit approvals: %w", err)
	}
	return n > 0, nil
}

// openApprovedTrustGate lifts the trust gate of a run being re-run when its
// commit was approved since the gate shut (through another run of the same
// commit): a re-run is judged by the approvals of its commit now, as a new
// run would be, and the run itself stays untrusted.
func (t *txn) openApprovedTrustGate(ctx context.Context, runID int64) error {
	var projectID int64
	var commit string
	var untrusted int
	if err := t.queryRow(ctx, `SELECT project_id, commit_sha, untrusted FROM runs WHERE id = ?`, runID).
		Scan(&projectID, &commit, &untrusted); err != nil {
		return notFound(err, "run", runID)
	}
	if untrusted == 0 {
		return nil
	}
	if ok, err := t.commitApproved(ctx, projectID, commit); err != nil || !ok {
		return err
	}
	_, err := t.exec(ctx, `UPDATE jobs SET trust_gate = 0 WHERE run_id = ?`, runID)
	return err
}

// ApproveRun approves the commit of an untrusted run for its project, as by
// (who must have write; the API checks): the run's jobs leave the trust gate
// (to queued, or to the job's own approval gate), and later untrusted runs
// of the same commit start ungated. It is a conflict for a trusted run or
// one that is not waiting at the trust gate.
func (s *Store) ApproveRun(ctx context.Context, runID int64, by string) error {
	return s.tx(ctx, func(t *txn) error {
		var projectID int64
		var commit string
		var untrusted int
		if err := t.queryRow(ctx, `SELECT project_id, commit_sha, untrusted FROM runs WHERE id = ?`+t.d.lockRun, runID).
			Scan(&projectID, &commit, &untrusted); err != nil {
			return notFound(err, "run", runID)
		}
		var gated int
		if err := t.queryRow(ctx, `SELECT count(*) FROM jobs WHERE run_id = ? AND trust_gate <> 0`, runID).Scan(&gated); err != nil {
			return err
		}
		if untrusted == 0 || gated == 0 {
			return fmt.Errorf("run %d does not wait for its commit to be approved: %w", runID, lathe.ErrConflict)
		}
		if _, err := t.exec(ctx, `INSERT INTO commit_approvals (project_id, commit_sha, approved_by, approved_at) VALUES (?, ?, ?, ?)
			ON CONFLICT DO NOTHING`, projectID, commit, by, micros(t.now)); err != nil {
			return fmt.Errorf("approve commit %.12s: %w", commit, err)
		}
		if _, err := t.exec(ctx, `UPDATE jobs SET trust_gate = 0 WHERE run_id = ?`, runID); err != nil {
			return err
		}
		// Jobs the trust gate held go on; those with a gate of their own
		// keep waiting at it.
		if _, err := t.exec(ctx, `UPDATE jobs SET status = ?, queued_at = ? WHERE run_id = ? AND status = ?
			AND (approval = '' OR approved_at IS NOT NULL)`, lathe.StatusQueued, micros(t.now), runID, lathe.StatusWaiting); err != nil {
			return err
		}
		if err := t.queuedWhere(ctx, `run_id = ?`, runID); err != nil {
			return err
		}
		return t.advanceRun(ctx, runID)
	})
}
