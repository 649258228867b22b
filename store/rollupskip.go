package store

import (
	"database/sql"

	lathe "github.com/lathe-ci/lathe"
)

// changedJob is a job whose status just changed, with its stage, as the
// roll-up shortcut reads them (see rollupUnchanged).
type changedJob struct {
	status                      lathe.Status
	started                     sql.NullInt64
	stage                       lathe.Status
	stageStarted, stageFinished sql.NullInt64
	// stageUnfinished counts the stage's jobs pending, queued, waiting or running.
	stageUnfinished int
}

// changedJobCols read a changedJob from jobs j joined with its stage s.
var changedJobCols = `j.status, j.started_at, s.status, s.started_at, s.finished_at,
	(SELECT count(*) FROM jobs x WHERE x.run_id = j.run_id AND x.stage_id = j.stage_id AND x.status IN ` +
	sqlStatuses(lathe.StatusPending, lathe.StatusQueued, lathe.StatusWaiting, lathe.StatusRunning) + `)`

func (c *changedJob) dest() []any {
	return []any{&c.status, &c.started, &c.stage, &c.stageStarted, &c.stageFinished, &c.stageUnfinished}
}

// rollupUnchanged reports whether the roll-up of a running run (started at
// runStarted) would change nothing after job j's status changed and no
// other job moved. It holds when the job's stage is running, started no
// later than the job and than the run, and stays running: the job now runs
// (so the stage has an active job), or it ended and another job of the
// stage has not (so the stage has a finished job and an unfinished one).
// The run's roll-up then stays running too, with the same start. Any other
// case — the last job of a stage ending, a job queued again — takes the
// full roll-up.
func rollupUnchanged(j changedJob, runStarted int64) bool {
	if j.stage != lathe.StatusRunning || !j.stageStarted.Valid || j.stageFinished.Valid || runStarted > j.stageStarted.Int64 ||
		(j.started.Valid && j.started.Int64 < j.stageStarted.Int64) {
		return false
	}
	switch {
	case j.status == lathe.StatusRunning:
		return true
	case j.status.Terminal():
		return j.stageUnfinished > 0
	}
	return false
}
