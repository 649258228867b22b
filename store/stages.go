package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/engine"
)

// External stages (seed 004's stage tracking): a stage declared `external:
// true` has no jobs; an outside tool sets its status, and the jobs of later
// stages list it in their deps (lathe.ExternalStageDep). The engine sees it
// as a node whose ID is the stage's ID negated (job IDs are positive), so
// Advance's decisions about it (skipped, canceled) and about the jobs that
// wait for it come back in one map.

// externalNodes adds the run's external stages to its job nodes.
func (t *txn) externalNodes(ctx context.Context, runID int64, nodes []engine.Node) ([]engine.Node, error) {
	rows, err := t.query(ctx, `SELECT id, name, status FROM stages WHERE run_id = ? AND external = 1 ORDER BY position`, runID)
	if err != nil {
		return nil, fmt.Errorf("external stages of run %d: %w", runID, err)
	}
	defer rows.Close()
	var stages []engine.Node
	for rows.Next() {
		var id int64
		var name string
		n := engine.Node{External: true}
		if err := rows.Scan(&id, &name, &n.Status); err != nil {
			return nil, err
		}
		n.ID, n.Name = -id, lathe.ExternalStageDep(name)
		stages = append(stages, n)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(stages) == 0 {
		return nodes, nil
	}
	// An external stage follows every job of the stages before it and
	// every external stage before it: when one of them does not succeed,
	// the engine skips it.
	for i := range stages {
		name, _ := strings.CutPrefix(stages[i].Name, lathe.ExternalStagePrefix)
		deps, err := t.stagesBefore(ctx, runID, name)
		if err != nil {
			return nil, err
		}
		stages[i].Deps = deps
	}
	return append(nodes, stages...), nil
}

// stagesBefore names what comes before the stage in its run: the jobs of
// earlier stages and the earlier external stages (as deps).
func (t *txn) stagesBefore(ctx context.Context, runID int64, stage string) ([]string, error) {
	rows, err := t.query(ctx, `SELECT j.name, 0 FROM jobs j JOIN stages s ON s.id = j.stage_id
			WHERE j.run_id = ? AND s.position < (SELECT position FROM stages WHERE run_id = ? AND name = ?)
		UNION ALL SELECT name, 1 FROM stages
			WHERE run_id = ? AND external = 1 AND position < (SELECT position FROM stages WHERE run_id = ? AND name = ?)`,
		runID, runID, stage, runID, runID, stage)
	if err != nil {
		return nil, fmt.Errorf("what precedes stage %s of run %d: %w", stage, runID, err)
	}
	defer rows.Close()
	var deps []string
	for rows.Next() {
		var name string
		var external int
		if err := rows.Scan(&name, &external); err != nil {
			return nil, err
		}
		if external != 0 {
			name = lathe.ExternalStageDep(name)
		}
		deps = append(deps, name)
	}
	return deps, rows.Err()
}

// setExternalStatus applies the engine's decision about an external stage
// (its node's ID is the stage's negated).
func (t *txn) setExternalStatus(ctx context.Context, n engine.Node, to lathe.Status) error {
	now := micros(t.now)
	if to.Terminal() {
		return t.setStatus(ctx, engine.Stage, -n.ID, n.Status, to, `, finished_at = ?, updated_at = ?`, now, now)
	}
	return t.setStatus(ctx, engine.Stage, -n.ID, n.Status, to, `, updated_at = ?`, now)
}

// externalRollup is what the run's external stages add to its roll-up:
// their statuses and their earliest start.
func (t *txn) externalRollup(ctx context.Context, runID int64) ([]lathe.Status, sql.NullInt64, error) {
	rows, err := t.query(ctx, `SELECT status, started_at FROM stages WHERE run_id = ? AND external = 1`, runID)
	if err != nil {
		return nil, sql.NullInt64{}, fmt.Errorf("external stages of run %d: %w", runID, err)
	}
	defer rows.Close()
	var out []lathe.Status
	var first sql.NullInt64
	for rows.Next() {
		var s lathe.Status
		var started sql.NullInt64
		if err := rows.Scan(&s, &started); err != nil {
			return nil, first, err
		}
		out, first = append(out, s), minNull(first, started)
	}
	return out, first, rows.Err()
}

// SetExternalStage sets the status of an external stage as an outside tool
// asks (see engine.ExternalUpdate), and advances its run: a success
// releases the jobs waiting for it, a failure skips them.
func (s *Store) SetExternalStage(ctx context.Context, id int64, to lathe.Status) (*lathe.Stage, error) {
	err := s.tx(ctx, func(t *txn) error {
		var runID int64
		if err := t.queryRow(ctx, `SELECT run_id FROM stages WHERE id = ?`, id).Scan(&runID); err != nil {
			return notFound(err, "stage", id)
		}
		if err := t.lockRun(ctx, runID); err != nil {
			return err
		}
		var from lathe.Status
		var external int
		var started sql.NullInt64
		if err := t.queryRow(ctx, `SELECT status, external, started_at FROM stages WHERE id = ?`, id).Scan(&from, &external, &started); err != nil {
			return notFound(err, "stage", id)
		}
		if err := engine.ExternalUpdate(id, external != 0, from, to); err != nil {
			return err
		}
		now := micros(t.now)
		if !started.Valid {
			started = sql.NullInt64{Int64: now, Valid: true}
		}
		var finished sql.NullInt64
		if to.Terminal() {
			finished = sql.NullInt64{Int64: now, Valid: true}
		}
		if err := t.setStatus(ctx, engine.Stage, id, from, to, `, started_at = ?, finished_at = ?, updated_at = ?`,
			started, finished, now); err != nil {
			return err
		}
		return t.advanceRun(ctx, runID)
	})
	if err != nil {
		return nil, err
	}
	return s.Stage(ctx, id)
}

// DeleteStage deletes a stage of a finished run (engine.StageDeletable)
// with its jobs, their attempts, logs, uploads and results. It returns the
// stage as it was and the uploads that went with it, whose blobs the
// caller deletes.
func (s *Store) DeleteStage(ctx context.Context, id int64) (*lathe.Stage, []*lathe.Upload, error) {
	var st *lathe.Stage
	var gone []*lathe.Upload
	err := s.tx(ctx, func(t *txn) error {
		var err error
		if st, err = scanStage(t.queryRow(ctx, `SELECT `+stageCols+` FROM stages WHERE id = ?`, id)); err != nil {
			return notFound(err, "stage", id)
		}
		var runStatus lathe.Status
		if err := t.queryRow(ctx, `SELECT status FROM runs WHERE id = ?`+t.d.lockRun, st.RunID).Scan(&runStatus); err != nil {
			return notFound(err, "run", st.RunID)
		}
		if err := engine.StageDeletable(id, runStatus); err != nil {
			return err
		}
		rows, err := t.query(ctx, `SELECT u.run_id, u.name, u.sha256 FROM uploads u JOIN jobs j ON j.id = u.job_id WHERE j.stage_id = ?`, id)
		if err != nil {
			return fmt.Errorf("uploads of stage %d: %w", id, err)
		}
		for rows.Next() {
			var u lathe.Upload
			if err := rows.Scan(&u.RunID, &u.Name, &u.SHA256); err != nil {
				rows.Close()
				return err
			}
			gone = append(gone, &u)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		// Jobs, attempts, steps, log chunks, uploads and results go with
		// the stage (ON DELETE CASCADE).
		res, err := t.exec(ctx, `DELETE FROM stages WHERE id = ?`, id)
		if err != nil {
			return fmt.Errorf("delete stage %d: %w", id, err)
		}
		return mustAffect(res, "stage", id)
	})
	return st, gone, err
}
