package store

import (
	"context"
	"fmt"
	"strings"

	lathe "github.com/lathe-ci/lathe"
)

// checkMaxRuns refuses a new run of a pipeline that already has max
// unfinished runs, naming them (Escape's "Pipeline is still running"). It is
// ErrInvalid, a 400, as the seed APIs answer.
func (t *txn) checkMaxRuns(ctx context.Context, projectID int64, pipeline string, max int) error {
	rows, err := t.query(ctx, `SELECT COALESCE(branch_number, number) FROM runs WHERE project_id = ? AND pipeline = ? AND status IN (?, ?, ?, ?)
		ORDER BY id`, projectID, pipeline, lathe.StatusPending, lathe.StatusWaiting, lathe.StatusQueued, lathe.StatusRunning)
	if err != nil {
		return fmt.Errorf("unfinished runs of %s: %w", pipeline, err)
	}
	defer rows.Close()
	var running []string
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n); err != nil {
			return err
		}
		running = append(running, fmt.Sprintf("#%d", n))
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(running) >= max {
		return fmt.Errorf("pipeline %s is still running (run %s) and allows %d run(s) at a time (max-runs): %w",
			pipeline, strings.Join(running, ", "), max, lathe.ErrInvalid)
	}
	return nil
}
