package store

import (
	"context"
	"fmt"

	lathe "github.com/lathe-ci/lathe"
)

// CreateBrokenRun stores a run that failed before it started because its
// pipeline file is broken: numbered like any run of the pipeline, failed,
// finished, with no stages or jobs, and carrying the problems. An event
// that meets a broken file thus leaves a failed run where users look,
// instead of nothing.
func (s *Store) CreateBrokenRun(ctx context.Context, r *lathe.Run) error {
	return s.tx(ctx, func(t *txn) error {
		var err error
		if r.Number, err = t.nextNumber(ctx, r.ProjectID, r.Pipeline); err != nil {
			return err
		}
		r.Status, r.CreatedAt, r.FinishedAt = lathe.StatusFailed, t.now, &t.now
		if r.Params == nil {
			r.Params = []lathe.EnvVar{} // as read back: a list, never null
		}
		err = t.queryRow(ctx, `INSERT INTO runs (project_id, pipeline, number, ref, branch, commit_sha, event, status, created_at,
				finished_at, downstream_done, untrusted, errors, pull_request)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?) RETURNING id`,
			r.ProjectID, r.Pipeline, r.Number, r.Ref, r.Branch, r.Commit, r.Event, r.Status, micros(t.now), micros(t.now),
			boolInt(r.Untrusted), jsonText(r.Errors), nullInt(r.PullRequest)).Scan(&r.ID)
		if err != nil {
			return fmt.Errorf("insert broken run of %s: %w", r.Pipeline, err)
		}
		t.afterCommit = append(t.afterCommit, func(s *Store) { s.runChanged(r.ID) })
		return nil
	})
}

// nextNumber takes the next run number of a pipeline. The counter row's
// lock, held to the end of the transaction, serialises the runs of one
// pipeline.
func (t *txn) nextNumber(ctx context.Context, projectID int64, pipeline string) (int64, error) {
	var n int64
	err := t.queryRow(ctx, `INSERT INTO run_counters (project_id, pipeline, last_number) VALUES (?, ?, 1)
		ON CONFLICT (project_id, pipeline) DO UPDATE SET last_number = run_counters.last_number + 1
		RETURNING last_number`, projectID, pipeline).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("number run: %w", err)
	}
	return n, nil
}
