package store

import (
	"context"
	"fmt"

	lathe "github.com/lathe-ci/lathe"
)

// jobRetry reads a job's retry policy and how many retries it has used:
// of failures and timeouts (retries) and of lost attempts (infra_retries).
func (t *txn) jobRetry(ctx context.Context, jobID int64) (r *lathe.Retry, used, infraUsed int, err error) {
	var count int
	var on string
	err = t.queryRow(ctx, `SELECT retry_count, retry_on, retries, infra_retries FROM jobs WHERE id = ?`, jobID).
		Scan(&count, &on, &used, &infraUsed)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("retry policy of job %d: %w", jobID, err)
	}
	if count == 0 {
		return nil, used, infraUsed, nil
	}
	r = &lathe.Retry{Count: count}
	if err := fromJSON(on, &r.On); err != nil {
		return nil, 0, 0, fmt.Errorf("retry policy of job %d: %w", jobID, err)
	}
	return r, used, infraUsed, nil
}

// retryFailure reports whether an attempt of the job that ended in status
// is retried under the pipeline's `retry`: the failure is one it covers,
// retries are left, and nobody asked to cancel.
func (t *txn) retryFailure(ctx context.Context, attemptID, jobID int64, status lathe.Status) (bool, error) {
	if status != lathe.StatusFailed && status != lathe.StatusTimedOut {
		return false, nil
	}
	r, used, _, err := t.jobRetry(ctx, jobID)
	if err != nil || !r.Covers(status) || used >= r.Count {
		return false, err
	}
	var canceled int
	err = t.queryRow(ctx, `SELECT a.cancel_requested + r.cancel_requested FROM attempts a JOIN jobs j ON j.id = a.job_id
		JOIN runs r ON r.id = j.run_id WHERE a.id = ?`, attemptID).Scan(&canceled)
	return canceled == 0, err
}

// infraRetries is how many lost attempts the job is retried after: the
// pipeline's count when its `retry` covers infrastructure failures, else
// the server's default.
func (t *txn) infraRetries(ctx context.Context, jobID int64, serverDefault int) (limit, used int, err error) {
	r, _, used, err := t.jobRetry(ctx, jobID)
	if err != nil {
		return 0, 0, err
	}
	if r.Covers(lathe.StatusLost) {
		return r.Count, used, nil
	}
	return serverDefault, used, nil
}
