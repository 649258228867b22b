package store

import (
	"context"
	"fmt"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/engine"
)

// Re-runs. A finished job is re-run as a new attempt of the same job: the job
// goes back to queued (its earlier attempts, with their logs, stay as they
// are) and the next claim makes attempt N+1, exactly as when the sweeper
// retries a lost attempt. Its dependents that were skipped or canceled
// because of it go back to pending, so they run after it; the run goes back
// to running. A whole run is re-run as a new run (see trigger.Service.Rerun).
//
// A gate's decision covers the pass through the gate it answered, never a
// re-run: a re-run job with an approval gate, or one still behind its run's
// trust gate, goes back to waiting_for_approval (not queued), and every job
// a re-run resets forgets its earlier approval. Rejecting a gate and then
// re-running the job cannot skip it.

// rerunnable reports whether a job that ended in status may be re-run.
func rerunnable(status lathe.Status) bool {
	switch status {
	case lathe.StatusSuccess, lathe.StatusFailed, lathe.StatusCanceled, lathe.StatusLost, lathe.StatusTimedOut:
		return true
	}
	return false
}

// failedStatus reports whether a job that ended in status is re-run by RerunFailed.
func failedStatus(status lathe.Status) bool {
	switch status {
	case lathe.StatusFailed, lathe.StatusCanceled, lathe.StatusLost, lathe.StatusTimedOut:
		return true
	}
	return false
}

// RerunJob queues a finished job again as a new attempt, with its skipped or
// canceled dependents pending behind it. It is a conflict while the job is
// unfinished (or was skipped: its dependencies decide that).
func (s *Store) RerunJob(ctx context.Context, id int64) error {
	return s.tx(ctx, func(t *txn) error {
		runID, status, err := t.lockJob(ctx, id)
		if err != nil {
			return err
		}
		if !rerunnable(status) {
			return fmt.Errorf("job %d is %s; only a finished job (success, failed, canceled, lost, timed_out) can be re-run: %w",
				id, status, lathe.ErrConflict)
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
			if failedStatus(st) {
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

// rerunJobs queues the given finished jobs of a locked run again, makes
// their skipped or canceled dependents (transitively) pending, clears the
// run's cancel request, and lets advanceRun roll the stages and the run back
// to running.
func (t *txn) rerunJobs(ctx context.Context, runID int64, ids []int64) error {
	var runStatus lathe.Status
	var cancel int
	if err := t.queryRow(ctx, `SELECT status, cancel_requested FROM runs WHERE id = ?`, runID).Scan(&runStatus, &cancel); err != nil {
		return notFound(err, "run", runID)
	}
	if cancel != 0 && !runStatus.Terminal() {
		return fmt.Errorf("run %d is being canceled: %w", runID, lathe.ErrConflict)
	}
	if err := t.openApprovedTrustGate(ctx, runID); err != nil {
		return err
	}

	type jobRow struct {
		id     int64
		name   string
		status lathe.Status
		deps   []string
		// gated: the job has an approval gate or is behind its run's
		// trust gate (its earlier decision is cleared below).
		gated bool
	}
	rows, err := t.query(ctx, `SELECT id, name, status, deps, approval <> '' OR trust_gate <> 0 FROM jobs WHERE run_id = ? ORDER BY id`, runID)
	if err != nil {
		return fmt.Errorf("jobs of run %d: %w", runID, err)
	}
	var jobs []*jobRow
	for rows.Next() {
		j := &jobRow{}
		var deps string
		if err := rows.Scan(&j.id, &j.name, &j.status, &deps, &j.gated); err != nil {
			rows.Close()
			return err
		}
		if err := fromJSON(deps, &j.deps); err != nil {
			rows.Close()
			return fmt.Errorf("job %d deps: %w", j.id, err)
		}
		jobs = append(jobs, j)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}

	// The jobs to queue again, and (to a fixed point) every skipped or
	// canceled job that waits for one of them or for a job made pending.
	requeue := map[int64]bool{}
	for _, id := range ids {
		requeue[id] = true
	}
	reset := map[string]bool{}
	for _, j := range jobs {
		if requeue[j.id] {
			reset[j.name] = true
		}
	}
	pending := map[int64]bool{}
	for changed := true; changed; {
		changed = false
		for _, j := range jobs {
			if requeue[j.id] || pending[j.id] || (j.status != lathe.StatusSkipped && j.status != lathe.StatusCanceled) {
				continue
			}
			for _, d := range j.deps {
				if reset[d] {
					pending[j.id], reset[j.name], changed = true, true, true
					break
				}
			}
		}
	}

	now := micros(t.now)
	if _, err := t.exec(ctx, `UPDATE runs SET cancel_requested = 0 WHERE id = ?`, runID); err != nil {
		return err
	}
	for _, j := range jobs {
		var err error
		switch {
		case requeue[j.id]:
			// Like a retried lost attempt: back to queued (the next claim
			// makes the next attempt), or to its gate for a new decision.
			// infra_retries starts afresh.
			to := engine.Node{Gated: j.gated}.Released()
			var queuedAt any
			if to == lathe.StatusQueued {
				queuedAt = now
			}
			_, err = t.exec(ctx, `UPDATE jobs SET status = ?, queued_at = ?, finished_at = NULL, wait_reason = '', infra_retries = 0,
				approved_by = NULL, approved_at = NULL WHERE id = ?`, to, queuedAt, j.id)
		case pending[j.id]:
			_, err = t.exec(ctx, `UPDATE jobs SET status = ?, queued_at = NULL, finished_at = NULL, wait_reason = '',
				approved_by = NULL, approved_at = NULL WHERE id = ?`, lathe.StatusPending, j.id)
		default:
			continue
		}
		if err != nil {
			return fmt.Errorf("re-run job %d: %w", j.id, err)
		}
	}
	if err := t.queuedWhere(ctx, `run_id = ?`, runID); err != nil {
		return err
	}
	return t.advanceRun(ctx, runID)
}
