package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	lathe "github.com/lathe-ci/lathe"
)

// FinishedUnchained lists up to limit finished runs whose downstream
// pipelines have not been considered yet, oldest first.
func (s *Store) FinishedUnchained(ctx context.Context, limit int) ([]*lathe.Run, error) {
	rows, err := s.query(ctx, `SELECT `+runCols+` FROM runs r JOIN projects p ON p.id = r.project_id
		WHERE r.downstream_done = 0 AND r.status IN (?, ?, ?, ?, ?, ?) ORDER BY r.id LIMIT ?`,
		lathe.StatusSuccess, lathe.StatusFailed, lathe.StatusCanceled, lathe.StatusSkipped, lathe.StatusLost, lathe.StatusTimedOut, limit)
	if err != nil {
		return nil, fmt.Errorf("finished runs: %w", err)
	}
	defer rows.Close()
	var out []*lathe.Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ClaimChain marks a finished run's downstream as considered and reports
// whether this caller did so first: of several replicas, one starts the
// downstream runs.
func (s *Store) ClaimChain(ctx context.Context, runID int64) (bool, error) {
	var claimed bool
	err := s.tx(ctx, func(t *txn) error {
		res, err := t.exec(ctx, `UPDATE runs SET downstream_done = 1 WHERE id = ? AND downstream_done = 0`, runID)
		if err != nil {
			return fmt.Errorf("claim downstream of run %d: %w", runID, err)
		}
		n, err := res.RowsAffected()
		claimed = n == 1
		return err
	})
	return claimed, err
}

// Schedule is one cron schedule of a pipeline, as tracked by the server.
type Schedule struct {
	ProjectID int64
	Pipeline  string
	Cron      string
	Branch    string
}

// ClaimFiring returns whether a schedule is due at now and, if it is, moves
// its next firing to next under a conditional update, so that one caller
// fires it. A schedule seen for the first time is not due: it starts at
// next, so adding a schedule never fires for the past.
func (s *Store) ClaimFiring(ctx context.Context, sc Schedule, now, next time.Time) (bool, error) {
	var due bool
	err := s.tx(ctx, func(t *txn) error {
		var at int64
		err := t.queryRow(ctx, `SELECT next_at FROM schedules WHERE project_id = ? AND pipeline = ? AND cron = ? AND branch = ?`,
			sc.ProjectID, sc.Pipeline, sc.Cron, sc.Branch).Scan(&at)
		if errors.Is(err, sql.ErrNoRows) {
			_, err = t.exec(ctx, `INSERT INTO schedules (project_id, pipeline, cron, branch, next_at) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT DO NOTHING`, sc.ProjectID, sc.Pipeline, sc.Cron, sc.Branch, micros(next))
			return err
		}
		if err != nil {
			return fmt.Errorf("schedule %s of %s: %w", sc.Cron, sc.Pipeline, err)
		}
		if at > micros(now) {
			return nil
		}
		res, err := t.exec(ctx, `UPDATE schedules SET next_at = ? WHERE project_id = ? AND pipeline = ? AND cron = ? AND branch = ? AND next_at = ?`,
			micros(next), sc.ProjectID, sc.Pipeline, sc.Cron, sc.Branch, at)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		due = n == 1
		return err
	})
	return due, err
}
