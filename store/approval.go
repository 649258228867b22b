package store

import (
	"context"
	"database/sql"

	"github.com/lathe-ci/lathe/engine"
)

// ApproveJob opens the approval gate of a job waiting at it: the job is
// queued, and who approved it and when is kept on it. The engine decides
// whether the job waits at a gate of its own (engine.Approve).
func (s *Store) ApproveJob(ctx context.Context, id int64, by string) error {
	return s.decideGate(ctx, id, func(t *txn, j engine.GateJob) error {
		to, err := engine.Approve(j)
		if err != nil {
			return err
		}
		now := micros(t.now)
		return t.setStatus(ctx, engine.Job, id, j.Status, to, `, queued_at = ?, approved_by = ?, approved_at = ?`, now, by, now)
	})
}

// RejectJob closes the approval gate of a job waiting at it for good: the
// job is canceled and the jobs that need it are skipped. Who rejected it,
// when, and their comment are kept on it.
func (s *Store) RejectJob(ctx context.Context, id int64, by, comment string) error {
	return s.decideGate(ctx, id, func(t *txn, j engine.GateJob) error {
		to, err := engine.Reject(j)
		if err != nil {
			return err
		}
		now := micros(t.now)
		return t.setStatus(ctx, engine.Job, id, j.Status, to, `, finished_at = ?, rejected_by = ?, rejected_at = ?, gate_comment = ?`,
			now, by, now, comment)
	})
}

// decideGate locks the job's run, reads the job's gates, applies decide and
// advances the run.
func (s *Store) decideGate(ctx context.Context, id int64, decide func(t *txn, j engine.GateJob) error) error {
	return s.tx(ctx, func(t *txn) error {
		runID, _, err := t.lockJob(ctx, id)
		if err != nil {
			return err
		}
		j, err := t.gateJob(ctx, `id = ?`, id)
		if err != nil {
			return err
		}
		if len(j) == 0 {
			return notFound(sql.ErrNoRows, "job", id)
		}
		if err := decide(t, j[0]); err != nil {
			return err
		}
		return t.advanceRun(ctx, runID)
	})
}

// gateJob reads jobs (matching cond) as the engine's gate decisions see them.
func (t *txn) gateJob(ctx context.Context, cond string, args ...any) ([]engine.GateJob, error) {
	rows, err := t.query(ctx, `SELECT id, run_id, status, approval, approved_at IS NOT NULL, trust_gate <> 0 FROM jobs
		WHERE `+cond+` ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []engine.GateJob
	for rows.Next() {
		var j engine.GateJob
		if err := rows.Scan(&j.ID, &j.RunID, &j.Status, &j.Approval, &j.Approved, &j.TrustGate); err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}
