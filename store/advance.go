package store

import (
	"context"
	"database/sql"
	"fmt"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/engine"
)

// advanceRun applies the engine's rules to a run after any change to its
// jobs: it queues jobs whose dependencies succeeded, skips those whose
// dependencies did not, cancels what a cancel request left unstarted, and
// rolls the statuses and timings up into the stages and the run. The run row
// is locked first, so two jobs of one run finishing at once on PostgreSQL
// cannot both miss the dependent they jointly release. Once the transaction
// commits, the run's watchers are woken, and claimers too if a job was queued.
func (t *txn) advanceRun(ctx context.Context, runID int64) error {
	var cancel int
	var runStatus lathe.Status
	var runStarted sql.NullInt64
	err := t.queryRow(ctx, `SELECT cancel_requested, status, started_at FROM runs WHERE id = ?`+t.d.lockRun, runID).
		Scan(&cancel, &runStatus, &runStarted)
	if err != nil {
		return notFound(err, "run", runID)
	}
	type jobRow struct {
		node              engine.Node
		stageID           int64
		started, finished sql.NullInt64
	}
	rows, err := t.query(ctx, `SELECT id, name, status, deps, stage_id, started_at, finished_at, allow_failure,
			(approval <> '' AND approved_at IS NULL) OR trust_gate <> 0
		FROM jobs WHERE run_id = ? ORDER BY id`, runID)
	if err != nil {
		return fmt.Errorf("load jobs of run %d: %w", runID, err)
	}
	var jobs []*jobRow
	for rows.Next() {
		j := &jobRow{}
		var deps string
		var allowFailure int
		if err := rows.Scan(&j.node.ID, &j.node.Name, &j.node.Status, &deps, &j.stageID, &j.started, &j.finished,
			&allowFailure, &j.node.Gated); err != nil {
			rows.Close()
			return err
		}
		if err := fromJSON(deps, &j.node.Deps); err != nil {
			rows.Close()
			return fmt.Errorf("job %d deps: %w", j.node.ID, err)
		}
		j.node.AllowFailure = allowFailure != 0
		jobs = append(jobs, j)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}

	// Whoever changed the run, its watchers look again once this commits.
	t.afterCommit = append(t.afterCommit, func(s *Store) { s.runChanged(runID) })

	nodes := make([]engine.Node, len(jobs))
	for i, j := range jobs {
		nodes[i] = j.node
	}
	now := micros(t.now)
	changes := engine.Advance(nodes, cancel != 0)
	for _, j := range jobs {
		to, ok := changes[j.node.ID]
		if !ok {
			continue
		}
		switch {
		case to == lathe.StatusQueued:
			err = t.setStatus(ctx, engine.Job, j.node.ID, j.node.Status, to, `, queued_at = ?`, now)
		case to.Terminal():
			j.finished = sql.NullInt64{Int64: now, Valid: true}
			err = t.setStatus(ctx, engine.Job, j.node.ID, j.node.Status, to, `, finished_at = ?`, now)
		default:
			err = t.setStatus(ctx, engine.Job, j.node.ID, j.node.Status, to, ``)
		}
		if err != nil {
			return err
		}
		j.node.Status = to
	}

	// Roll up into stages.
	stages := map[int64]stageRow{}
	srows, err := t.query(ctx, `SELECT id, status, started_at, finished_at FROM stages WHERE run_id = ?`, runID)
	if err != nil {
		return fmt.Errorf("load stages of run %d: %w", runID, err)
	}
	for srows.Next() {
		var id int64
		var sr stageRow
		if err := srows.Scan(&id, &sr.status, &sr.started, &sr.finished); err != nil {
			srows.Close()
			return err
		}
		stages[id] = sr
	}
	srows.Close()
	byStage := map[int64][]*jobRow{}
	for _, j := range jobs {
		byStage[j.stageID] = append(byStage[j.stageID], j)
	}
	var all []lathe.Status
	var runFirst sql.NullInt64
	for stageID, js := range byStage {
		statuses := make([]lathe.Status, len(js))
		var next stageRow
		for i, j := range js {
			statuses[i] = j.node.Outcome()
			next.started = minNull(next.started, j.started)
			next.finished = maxNull(next.finished, j.finished)
		}
		all = append(all, statuses...)
		runFirst = minNull(runFirst, next.started)
		next.status = engine.Rollup(statuses)
		if !next.status.Terminal() {
			next.finished = sql.NullInt64{}
		}
		if err := t.rollup(ctx, engine.Stage, stageID, stages[stageID], next, `, updated_at = ?`, now); err != nil {
			return err
		}
	}
	rs := engine.Rollup(all)
	run := stageRow{status: runStatus, started: runStarted}
	next := stageRow{status: rs, started: runFirst}
	if rs.Terminal() {
		next.finished = sql.NullInt64{Int64: now, Valid: true}
		// Stages with no jobs are done as soon as the run is.
		for id, st := range stages {
			if _, ok := byStage[id]; !ok && !st.status.Terminal() {
				if err := t.setStatus(ctx, engine.Stage, id, st.status, lathe.StatusSkipped, `, finished_at = ?, updated_at = ?`, now, now); err != nil {
					return err
				}
			}
		}
	}
	if rs != runStatus || runStarted != runFirst {
		return t.rollup(ctx, engine.Run, runID, run, next, ``)
	}
	return nil
}

// stageRow is a stage's or run's status and timings.
type stageRow struct {
	status            lathe.Status
	started, finished sql.NullInt64
}

// rollup writes a stage's or run's new status and timings (with the extra
// assignments set): through setStatus when the status changes, as a plain
// update of the timings when only they do.
func (t *txn) rollup(ctx context.Context, e engine.Entity, id int64, had, next stageRow, set string, args ...any) error {
	if next == had {
		return nil
	}
	args = append([]any{next.started, next.finished}, args...)
	if next.status != had.status {
		return t.setStatus(ctx, e, id, had.status, next.status, `, started_at = ?, finished_at = ?`+set, args...)
	}
	_, err := t.exec(ctx, `UPDATE `+statusTables[e]+` SET started_at = ?, finished_at = ?`+set+` WHERE id = ?`, append(args, id)...)
	return err
}

// lockRun takes the run's row lock. Every writer of a run takes it before
// touching the run's jobs or attempts, so writers of one run queue up in one
// order and never deadlock (SQLite writers are serialised anyway).
func (t *txn) lockRun(ctx context.Context, runID int64) error {
	var id int64
	if err := t.queryRow(ctx, `SELECT id FROM runs WHERE id = ?`+t.d.lockRun, runID).Scan(&id); err != nil {
		return notFound(err, "run", runID)
	}
	return nil
}

func minNull(a, b sql.NullInt64) sql.NullInt64 {
	if !a.Valid || b.Valid && b.Int64 < a.Int64 {
		return b
	}
	return a
}

func maxNull(a, b sql.NullInt64) sql.NullInt64 {
	if !a.Valid || b.Valid && b.Int64 > a.Int64 {
		return b
	}
	return a
}
