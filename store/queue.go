package store

import (
	"context"
	"database/sql"
	"fmt"

	lathe "github.com/lathe-ci/lathe"
)

// The queue (Zuul's enqueue, dequeue and promote): agents claim queued
// jobs in the order of their run's queue position, then of job ID (see
// nextClaimable). A run's position starts as its ID, first come first
// served; PromoteRun moves it before the other unfinished runs of its
// pipeline. The jobs carry a copy of the position, kept in step here, so
// that the claim reads the queue in order from one partial index.

// unfinished lists the statuses of a run that has not ended, for IN (…).
var unfinished = []any{lathe.StatusPending, lathe.StatusWaiting, lathe.StatusQueued, lathe.StatusRunning}

// enqueueRun puts a new run, and the jobs it has so far, at the back of
// the queue: its position is its ID.
func (t *txn) enqueueRun(ctx context.Context, runID int64) error {
	if _, err := t.exec(ctx, `UPDATE runs SET queue_position = id WHERE id = ?`, runID); err != nil {
		return fmt.Errorf("queue run %d: %w", runID, err)
	}
	if _, err := t.exec(ctx, `UPDATE jobs SET queue_position = ? WHERE run_id = ?`, runID, runID); err != nil {
		return fmt.Errorf("queue the jobs of run %d: %w", runID, err)
	}
	return nil
}

// PromoteRun moves an unfinished run to the front of its pipeline's queue:
// its jobs that are queued, or become queued, are claimed before those of
// every other unfinished run of the pipeline. Runs of other pipelines keep
// their places. A run already at the front stays there; a finished run is
// a conflict.
func (s *Store) PromoteRun(ctx context.Context, runID int64) error {
	return s.tx(ctx, func(t *txn) error {
		var projectID, pos int64
		var pipeline string
		var status lathe.Status
		err := t.queryRow(ctx, `SELECT project_id, pipeline, status, queue_position FROM runs WHERE id = ?`+t.d.lockRun, runID).
			Scan(&projectID, &pipeline, &status, &pos)
		if err != nil {
			return notFound(err, "run", runID)
		}
		if status.Terminal() {
			return fmt.Errorf("run %d is already %s; only an unfinished run can be promoted: %w", runID, status, lathe.ErrConflict)
		}
		var front sql.NullInt64
		err = t.queryRow(ctx, `SELECT MIN(queue_position) FROM runs
			WHERE project_id = ? AND pipeline = ? AND status IN (?, ?, ?, ?) AND id <> ?`,
			append(append([]any{projectID, pipeline}, unfinished...), runID)...).Scan(&front)
		if err != nil {
			return fmt.Errorf("queue of pipeline %s: %w", pipeline, err)
		}
		if !front.Valid || pos < front.Int64 {
			return nil // first already
		}
		pos = front.Int64 - 1
		if _, err := t.exec(ctx, `UPDATE runs SET queue_position = ? WHERE id = ?`, pos, runID); err != nil {
			return fmt.Errorf("promote run %d: %w", runID, err)
		}
		if _, err := t.exec(ctx, `UPDATE jobs SET queue_position = ? WHERE run_id = ?`, pos, runID); err != nil {
			return fmt.Errorf("promote the jobs of run %d: %w", runID, err)
		}
		return nil
	})
}

// QueueFilter selects the unfinished runs of a project in UnfinishedRuns;
// zero fields select all.
type QueueFilter struct {
	ProjectID int64
	Pipeline  string
	// Ref is a full ref (refs/heads/main) or its short name (main).
	Ref string
	// Branch selects runs of one branch, as recorded on the run.
	Branch      string
	PullRequest int64
	// Before selects runs older than this run ID.
	Before int64
}

// UnfinishedRuns lists the runs of a project that have not ended (pending,
// waiting, queued or running), oldest first.
func (s *Store) UnfinishedRuns(ctx context.Context, f QueueFilter) ([]*lathe.Run, error) {
	where := []string{"r.project_id = ?", "r.status IN (?, ?, ?, ?)"}
	args := append([]any{f.ProjectID}, unfinished...)
	add := func(cond string, arg ...any) { where, args = append(where, cond), append(args, arg...) }
	if f.Pipeline != "" {
		add("r.pipeline = ?", f.Pipeline)
	}
	if f.Ref != "" {
		add("(r.ref = ? OR r.ref = ? OR r.ref = ?)", f.Ref, "refs/heads/"+f.Ref, "refs/tags/"+f.Ref)
	}
	if f.Branch != "" {
		add("r.branch = ?", f.Branch)
	}
	if f.PullRequest != 0 {
		add("r.pull_request = ?", f.PullRequest)
	}
	if f.Before != 0 {
		add("r.id < ?", f.Before)
	}
	rows, err := s.query(ctx, `SELECT `+runCols+` FROM runs r JOIN projects p ON p.id = r.project_id`+whereClause(where)+
		` ORDER BY r.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("unfinished runs: %w", err)
	}
	defer rows.Close()
	out := []*lathe.Run{}
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("unfinished runs: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
