package store

import (
	"context"
	"fmt"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/engine"
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

// ApproveRun approves the commit of an untrusted run for its project, as by
// (who must have write; the API checks): the run's jobs leave the trust gate
// (to queued, or to the job's own approval gate, as engine.TrustApproved
// decides), and later untrusted runs of the same commit start ungated.
func (s *Store) ApproveRun(ctx context.Context, runID int64, by string) error {
	return s.tx(ctx, func(t *txn) error {
		var projectID int64
		var commit string
		var untrusted int
		if err := t.queryRow(ctx, `SELECT project_id, commit_sha, untrusted FROM runs WHERE id = ?`+t.d.lockRun, runID).
			Scan(&projectID, &commit, &untrusted); err != nil {
			return notFound(err, "run", runID)
		}
		jobs, err := t.gateJob(ctx, `run_id = ?`, runID)
		if err != nil {
			return err
		}
		changes, err := engine.TrustApproved(runID, untrusted != 0, jobs)
		if err != nil {
			return err
		}
		if _, err := t.exec(ctx, `INSERT INTO commit_approvals (project_id, commit_sha, approved_by, approved_at) VALUES (?, ?, ?, ?)
			ON CONFLICT DO NOTHING`, projectID, commit, by, micros(t.now)); err != nil {
			return fmt.Errorf("approve commit %.12s: %w", commit, err)
		}
		if _, err := t.exec(ctx, `UPDATE jobs SET trust_gate = 0 WHERE run_id = ?`, runID); err != nil {
			return err
		}
		now := micros(t.now)
		for _, j := range jobs {
			if to, ok := changes[j.ID]; ok {
				if err := t.setStatus(ctx, engine.Job, j.ID, j.Status, to, `, queued_at = ?`, now); err != nil {
					return err
				}
			}
		}
		return t.advanceRun(ctx, runID)
	})
}
