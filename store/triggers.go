package store

import (
	"context"
	"fmt"

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
