package store

import (
	"context"
	"database/sql"
	"fmt"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/engine"
)

const jobCols = `j.id, j.run_id, j.stage_id, s.name, j.name, j.status, j.needs, j.deps, j.runs_on, j.timeout_sec, j.env, j.steps,
	j.attempt, j.wait_reason, j.created_at, j.started_at, j.finished_at, j.concurrency_group, j.concurrency_limit, j.secrets,
	j.allow_failure, j.retry_count, j.retry_on, j.approval, j.approved_by, j.approved_at, j.environment, j.carried_from, j.container,
	j.rejected_by, j.rejected_at, j.gate_comment`

func scanJob(row interface{ Scan(...any) error }) (*lathe.Job, error) {
	var j lathe.Job
	var needs, deps, runsOn, env, steps, secrets string
	var created int64
	var started, finished sql.NullInt64
	var group string
	var limit int
	var allowFailure, retryCount int
	var retryOn, approval string
	var approvedBy sql.NullString
	var approvedAt, carried sql.NullInt64
	var container string
	var rejectedBy, comment string
	var rejectedAt sql.NullInt64
	err := row.Scan(&j.ID, &j.RunID, &j.StageID, &j.Stage, &j.Name, &j.Status, &needs, &deps, &runsOn, &j.TimeoutSec, &env, &steps,
		&j.Attempt, &j.WaitReason, &created, &started, &finished, &group, &limit, &secrets,
		&allowFailure, &retryCount, &retryOn, &approval, &approvedBy, &approvedAt, &j.Environment, &carried, &container,
		&rejectedBy, &rejectedAt, &comment)
	if err != nil {
		return nil, err
	}
	j.AllowFailure = allowFailure != 0
	if carried.Valid {
		j.CarriedFrom = &carried.Int64
	}
	if retryCount > 0 {
		j.Retry = &lathe.Retry{Count: retryCount}
		if err := fromJSON(retryOn, &j.Retry.On); err != nil {
			return nil, fmt.Errorf("job %d retry: %w", j.ID, err)
		}
	}
	if approval != "" {
		j.Approval = &lathe.Approval{}
		if err := fromJSON(approval, j.Approval); err != nil {
			return nil, fmt.Errorf("job %d approval: %w", j.ID, err)
		}
		j.Approval.ApprovedBy, j.Approval.ApprovedAt = approvedBy.String, fromNullMicros(approvedAt)
		j.Approval.RejectedBy, j.Approval.RejectedAt, j.Approval.Comment = rejectedBy, fromNullMicros(rejectedAt), comment
	}
	if group != "" {
		j.Concurrency = &lathe.Concurrency{Group: group, Limit: limit}
	}
	if j.Container, err = decodeContainer(container); err != nil {
		return nil, fmt.Errorf("job %d: %w", j.ID, err)
	}
	for _, f := range []struct {
		text string
		v    any
	}{{needs, &j.Needs}, {deps, &j.Deps}, {runsOn, &j.RunsOn}, {env, &j.Env}, {steps, &j.Steps}, {secrets, &j.Secrets}} {
		if err := fromJSON(f.text, f.v); err != nil {
			return nil, fmt.Errorf("job %d: %w", j.ID, err)
		}
	}
	j.CreatedAt, j.StartedAt, j.FinishedAt = fromMicros(created), fromNullMicros(started), fromNullMicros(finished)
	j.Finish()
	return &j, nil
}

func (s *Store) jobs(ctx context.Context, cond string, args ...any) ([]*lathe.Job, error) {
	rows, err := s.query(ctx, `SELECT `+jobCols+` FROM jobs j JOIN stages s ON s.id = j.stage_id WHERE `+cond+` ORDER BY j.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	defer rows.Close()
	out := []*lathe.Job{}
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, fmt.Errorf("list jobs: %w", err)
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// Job returns a job with all its attempts and their steps.
func (s *Store) Job(ctx context.Context, id int64) (*lathe.Job, error) {
	js, err := s.jobs(ctx, `j.id = ?`, id)
	if err != nil {
		return nil, err
	}
	if len(js) == 0 {
		return nil, fmt.Errorf("job %d: %w", id, lathe.ErrNotFound)
	}
	j := js[0]
	// A job carried over by a re-run shows the attempts of the job that ran.
	ran := j.ID
	if j.CarriedFrom != nil {
		ran = *j.CarriedFrom
	}
	if j.Attempts, err = s.attempts(ctx, `a.job_id = ?`, ran); err != nil {
		return nil, err
	}
	return j, nil
}

// CancelJob cancels one job: at once if it has not started (its dependents
// are then skipped), through its agent if it is running.
func (s *Store) CancelJob(ctx context.Context, id int64) error {
	return s.tx(ctx, func(t *txn) error {
		runID, status, err := t.lockJob(ctx, id)
		if err != nil {
			return err
		}
		action, err := engine.Cancel(id, status)
		if err != nil {
			return err
		}
		if action == engine.CancelThroughAgent {
			return t.requestCancel(ctx, `a.job_id = ? AND a.status = ?`, id, lathe.StatusRunning)
		}
		if err := t.setStatus(ctx, engine.Job, id, status, lathe.StatusCanceled, `, finished_at = ?`, micros(t.now)); err != nil {
			return err
		}
		return t.advanceRun(ctx, runID)
	})
}

// lockJob takes the lock of a job's run, as every writer of a run does
// before touching its jobs, and returns the run and the job's status read
// under that lock.
func (t *txn) lockJob(ctx context.Context, id int64) (runID int64, status lathe.Status, err error) {
	if err := t.queryRow(ctx, `SELECT run_id FROM jobs WHERE id = ?`, id).Scan(&runID); err != nil {
		return 0, "", notFound(err, "job", id)
	}
	if err := t.lockRun(ctx, runID); err != nil {
		return 0, "", err
	}
	if err := t.queryRow(ctx, `SELECT status FROM jobs WHERE id = ?`, id).Scan(&status); err != nil {
		return 0, "", notFound(err, "job", id)
	}
	return runID, status, nil
}
