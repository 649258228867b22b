package store

import (
	"context"
	"fmt"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/engine"
)

// Re-runs. A finished job is re-run as a new attempt of the same job: the job
// goes back to pending and from there, once what it needs has succeeded, to
// the queue (its earlier attempts, with their logs, stay as they are); the
// next claim makes attempt N+1, exactly as when the sweeper
// retries a lost attempt. Its dependents that were skipped or canceled
// because of it go back to pending, so they run after it; the run goes back
// to running. A whole run is re-run as a new run (see trigger.Service.Rerun).
//
// A gate's decision covers the pass through the gate it answered, never a
// re-run: a re-run job with an approval gate, or one still behind its run's
// trust gate, goes back to waiting_for_approval (not queued), and every job
// a re-run resets forgets its earlier approval. Rejecting a gate and then
// re-running the job cannot skip it.

// RerunJob queues a finished job again as a new attempt, with its skipped or
// canceled dependents pending behind it. It is a conflict while the job is
// unfinished (or was skipped: its dependencies decide that).
func (s *Store) RerunJob(ctx context.Context, id int64) error {
	return s.tx(ctx, func(t *txn) error {
		runID, status, err := t.lockJob(ctx, id)
		if err != nil {
			return err
		}
		if err := engine.Rerunnable(id, status); err != nil {
			return err
		}
		return t.rerunJobs(ctx, runID, []int64{id})
	})
}

// RerunFailed queues every failed, canceled, lost or timed-out job of a
// finished run again as a new attempt, with their skipped or canceled
// dependents pending behind them. It is a conflict while the run is
// unfinished or when none of its jobs failed.
func (s *Store) RerunFailed(ctx context.Context, runID int64) error {
	return s.tx(ctx, func(t *txn) error {
		var status lathe.Status
		if err := t.queryRow(ctx, `SELECT status FROM runs WHERE id = ?`+t.d.lockRun, runID).Scan(&status); err != nil {
			return notFound(err, "run", runID)
		}
		if !status.Terminal() {
			return fmt.Errorf("run %d is still %s: %w", runID, status, lathe.ErrConflict)
		}
		rows, err := t.query(ctx, `SELECT id, status FROM jobs WHERE run_id = ? ORDER BY id`, runID)
		if err != nil {
			return fmt.Errorf("jobs of run %d: %w", runID, err)
		}
		var ids []int64
		for rows.Next() {
			var id int64
			var st lathe.Status
			if err := rows.Scan(&id, &st); err != nil {
				rows.Close()
				return err
			}
			if engine.RerunsWhenFailed(st) {
				ids = append(ids, id)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(ids) == 0 {
			return fmt.Errorf("run %d has no failed, canceled, lost or timed-out job to re-run: %w", runID, lathe.ErrConflict)
		}
		return t.rerunJobs(ctx, runID, ids)
	})
}

// rerunJobs starts the given finished jobs of a locked run again: they and
// their skipped or canceled dependents (transitively, engine.PlanRerun) go
// back to pending with their gates' decisions forgotten, the run's cancel
// request is cleared, and advanceRun releases them as it releases any
// pending job — to the queue or to a gate, and only once what they need has
// succeeded — and rolls the stages and the run back to running.
func (t *txn) rerunJobs(ctx context.Context, runID int64, ids []int64) error {
	var runStatus lathe.Status
	var cancel int
	if err := t.queryRow(ctx, `SELECT status, cancel_requested FROM runs WHERE id = ?`, runID).Scan(&runStatus, &cancel); err != nil {
		return notFound(err, "run", runID)
	}
	if cancel != 0 && !runStatus.Terminal() {
		return fmt.Errorf("run %d is being canceled: %w", runID, lathe.ErrConflict)
	}
	// Only this transaction may take jobs, stages and the run out of a
	// final status (engine.CheckRerun).
	t.rerun = true
	if err := t.openApprovedTrustGate(ctx, runID); err != nil {
		return err
	}
	nodes, err := t.runNodes(ctx, runID)
	if err != nil {
		return err
	}
	requeue, pending := engine.PlanRerun(nodes, ids)
	if _, err := t.exec(ctx, `UPDATE runs SET cancel_requested = 0 WHERE id = ?`, runID); err != nil {
		return err
	}
	for _, n := range nodes {
		if !requeue[n.ID] && !pending[n.ID] {
			continue
		}
		// A re-run job starts its infrastructure retries afresh.
		infra := ``
		if requeue[n.ID] {
			infra = `, infra_retries = 0`
		}
		if err := t.setStatus(ctx, engine.Job, n.ID, n.Status, lathe.StatusPending, `, queued_at = NULL, finished_at = NULL,
			wait_reason = '', approved_by = NULL, approved_at = NULL`+infra); err != nil {
			return err
		}
	}
	return t.advanceRun(ctx, runID)
}

// runNodes reads the jobs of a run as the engine's Advance sees them.
func (t *txn) runNodes(ctx context.Context, runID int64) ([]engine.Node, error) {
	rows, err := t.query(ctx, `SELECT id, name, status, deps FROM jobs WHERE run_id = ? ORDER BY id`, runID)
	if err != nil {
		return nil, fmt.Errorf("jobs of run %d: %w", runID, err)
	}
	defer rows.Close()
	var nodes []engine.Node
	for rows.Next() {
		var n engine.Node
		var deps string
		if err := rows.Scan(&n.ID, &n.Name, &n.Status, &deps); err != nil {
			return nil, err
		}
		if err := fromJSON(deps, &n.Deps); err != nil {
			return nil, fmt.Errorf("job %d deps: %w", n.ID, err)
		}
		nodes = append(nodes, n)
	}
	return nodes, rows.Err()
}
