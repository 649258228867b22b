package store

import (
	"context"
	"fmt"

	lathe "github.com/lathe-ci/lathe"
)

// RunHistory lists the run and the runs of its pipeline on its branch
// before it (of its ref when it has no branch), newest first, at most
// limit, each with its test totals.
func (s *Store) RunHistory(ctx context.Context, runID int64, limit int) ([]*lathe.RunResults, error) {
	var projectID int64
	var pipeline, branch, ref string
	err := s.queryRow(ctx, `SELECT project_id, pipeline, branch, ref FROM runs WHERE id = ?`, runID).Scan(&projectID, &pipeline, &branch, &ref)
	if err != nil {
		return nil, notFound(err, "run", runID)
	}
	f := RunFilter{ProjectID: projectID, Pipeline: pipeline, Branch: branch, Before: runID + 1, Limit: limit}
	if branch == "" {
		f.Ref = ref
	}
	runs, err := s.Runs(ctx, f)
	if err != nil {
		return nil, err
	}
	out := make([]*lathe.RunResults, len(runs.Items))
	byRun := map[int64]*lathe.TestTotals{}
	ids := make([]any, len(runs.Items))
	for i, r := range runs.Items {
		out[i] = &lathe.RunResults{Run: r}
		byRun[r.ID], ids[i] = &out[i].Tests, r.ID
	}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.query(ctx, `SELECT run_id, status, change, flaky, count(*) FROM test_results WHERE run_id IN (`+placeholders(len(ids))+`)
		GROUP BY run_id, status, change, flaky`, ids...)
	if err != nil {
		return nil, fmt.Errorf("results history of run %d: %w", runID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, flaky int64
		var status, change string
		var n int
		if err := rows.Scan(&id, &status, &change, &flaky, &n); err != nil {
			return nil, err
		}
		byRun[id].Add(status, change, flaky != 0, n)
	}
	return out, rows.Err()
}
