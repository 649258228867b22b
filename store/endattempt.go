package store

import (
	"context"
	"fmt"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/engine"
)

// attemptEnd is how one running attempt ended, as the store hands it to the
// engine: the result, who saw it, and what else the attempt's row records.
type attemptEnd struct {
	result lathe.Status
	// byAgent: the agent reported it (a finish or hand-back).
	byAgent bool
	// countedLoss: a loss nobody explained; infraDefault is the server's
	// number of retries after one.
	countedLoss  bool
	infraDefault int
	// lostReason is the end reason recorded when the attempt ends lost.
	lostReason string
	// set and args assign more columns of the attempt's row with its status
	// (", end_reason = ?"); where and whereArgs are more conditions the row
	// must meet ("AND lease_expires_at < ?").
	set       string
	args      []any
	where     string
	whereArgs []any
}

// endAttempt ends the running attempt c, whose run is locked, as the engine
// decides from its result, the job's retry policy and any cancel request;
// moves the job on (to the queue for its next attempt, or to its end); and
// advances the run. It reports whether the attempt was still running (and
// met e.where): if not, nothing changed.
// It returns the engine's decision.
func (t *txn) endAttempt(ctx context.Context, c candidate, e attemptEnd) (o engine.AttemptOutcome, ended bool, err error) {
	var cancel, runCancel, retryCount, used, infraUsed int
	var retryOn, group string
	var jobStatus lathe.Status
	err = t.queryRow(ctx, `SELECT a.cancel_requested, r.cancel_requested, j.status, j.retry_count, j.retry_on, j.retries,
			j.infra_retries, j.concurrency_group
		FROM attempts a JOIN jobs j ON j.id = a.job_id JOIN runs r ON r.id = j.run_id WHERE a.id = ?`, c.attemptID).
		Scan(&cancel, &runCancel, &jobStatus, &retryCount, &retryOn, &used, &infraUsed, &group)
	if err != nil {
		return o, false, notFound(err, "attempt", c.attemptID)
	}
	var retry *lathe.Retry
	if retryCount > 0 {
		retry = &lathe.Retry{Count: retryCount}
		if err := fromJSON(retryOn, &retry.On); err != nil {
			return o, false, fmt.Errorf("retry policy of job %d: %w", c.jobID, err)
		}
	}
	o = engine.EndAttempt(engine.AttemptEnd{
		Result: e.result, ByAgent: e.byAgent, CancelRequested: cancel != 0 || runCancel != 0,
		CountedLoss: e.countedLoss, InfraDefault: e.infraDefault,
		Retry: retry, Retries: used, InfraRetries: infraUsed,
	})
	now := micros(t.now)
	set, args := `, finished_at = ?`+e.set, append([]any{now}, e.args...)
	if o.Attempt == lathe.StatusLost {
		set, args = set+`, end_reason = ?`, append(args, e.lostReason)
	}
	err = t.setStatusIf(ctx, engine.Attempt, c.attemptID, lathe.StatusRunning, o.Attempt, e.where, e.whereArgs, set, args...)
	if stale(err) {
		return o, false, nil // finished, renewed, or another sweeper was first
	}
	if err != nil {
		return o, false, err
	}
	t.afterCommit = append(t.afterCommit, func(s *Store) { s.attemptChanged(c.attemptID) })
	// Steps it did not finish end with it: lost with a lost attempt,
	// canceled otherwise.
	stepStatus := lathe.StatusCanceled
	if o.Attempt == lathe.StatusLost {
		stepStatus = lathe.StatusLost
	}
	if _, err := t.exec(ctx, `UPDATE steps SET status = ?, finished_at = ? WHERE attempt_id = ? AND finished_at IS NULL`,
		stepStatus, now, c.attemptID); err != nil {
		return o, false, err
	}
	if o.Job == lathe.StatusQueued {
		// The attempt stays as it ended; the job queues again and the next
		// claim makes the next attempt.
		err = t.setStatus(ctx, engine.Job, c.jobID, jobStatus, o.Job, `, queued_at = ?, wait_reason = '',
			retries = retries + ?, infra_retries = infra_retries + ?`, now, boolInt(o.UseRetry), boolInt(o.UseInfraRetry))
	} else {
		err = t.setStatus(ctx, engine.Job, c.jobID, jobStatus, o.Job, `, finished_at = ?`, now)
	}
	if err != nil {
		return o, false, err
	}
	t.released(group)
	return o, true, t.advanceRunAfter(ctx, c.runID, c.jobID)
}
