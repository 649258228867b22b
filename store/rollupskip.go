package store

import (
	"context"
	"database/sql"
	"fmt"

	lathe "github.com/lathe-ci/lathe"
)

// rollupUnchanged reports whether the roll-up of a running run (started at
// runStarted) would change nothing after job jobID's status changed and no
// other job moved. It holds when the job's stage is running, started no
// later than the job and than the run, and stays running: the job now runs
// (so the stage has an active job), or it ended and another job of the
// stage has not (so the stage has a finished job and an unfinished one).
// The run's roll-up then stays running too, with the same start. Any other
// case — the last job of a stage ending, a job queued again — takes the
// full roll-up.
func (t *txn) rollupUnchanged(ctx context.Context, runID, jobID, runStarted int64) (bool, error) {
	var stageID int64
	var job, stage lathe.Status
	var jobStarted, stageStarted, stageFinished sql.NullInt64
	err := t.queryRow(ctx, `SELECT j.stage_id, j.status, j.started_at, s.status, s.started_at, s.finished_at
		FROM jobs j JOIN stages s ON s.id = j.stage_id WHERE j.id = ? AND j.run_id = ?`, jobID, runID).
		Scan(&stageID, &job, &jobStarted, &stage, &stageStarted, &stageFinished)
	if err != nil {
		return false, fmt.Errorf("roll up job %d of run %d: %w", jobID, runID, err)
	}
	if stage != lathe.StatusRunning || !stageStarted.Valid || stageFinished.Valid || runStarted > stageStarted.Int64 ||
		(jobStarted.Valid && jobStarted.Int64 < stageStarted.Int64) {
		return false, nil
	}
	switch {
	case job == lathe.StatusRunning:
		return true, nil
	case job.Terminal():
		var more int
		err := t.queryRow(ctx, `SELECT count(*) FROM jobs WHERE run_id = ? AND stage_id = ? AND status IN (?, ?, ?, ?)`,
			runID, stageID, lathe.StatusPending, lathe.StatusQueued, lathe.StatusWaiting, lathe.StatusRunning).Scan(&more)
		if err != nil {
			return false, fmt.Errorf("unfinished jobs of stage %d: %w", stageID, err)
		}
		return more > 0, nil
	}
	return false, nil
}
