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
	// lostReason is the end reason recorded when the attempt ends lost;
	// reason is the one recorded otherwise (an infrastructure failure the
	// agent reported), already written.
	lostReason, reason string
	// set and args assign more columns of the attempt's row with its status
	// (", end_reason = ?"); where and whereArgs are more conditions the row
	// must meet ("AND lease_expires_at < ?").
	set       string
	args      []any
	where     string
	whereArgs []any
	// facts, when not nil, were read with the attempt under its run's lock
	// in this transaction (see endFactsCols); endAttempt reads them if nil.
	facts *endFacts
	// locked says the transaction read the attempt running under its row
	// lock (a report's lease update): its end cannot find it changed, and
	// the update waits to go with the next statement (see setStatusLater).
	locked bool
}

// endFacts is what endAttempt decides by besides the attempt's result: the
// cancel requests, the job's status and retry policy and use, its group.
type endFacts struct {
	cancel, runCancel, retryCount, used, infraUsed int
	retryOn, group                                 string
	started                                        int64 // the attempt's start (0: none)
	jobStatus                                      lathe.Status
}

// endFactsCols reads endFacts from attempts a, jobs j and runs r.
const endFactsCols = `a.cancel_requested, r.cancel_requested, j.status, j.retry_count, j.retry_on, j.retries,
	j.infra_retries, j.concurrency_group, COALESCE(a.started_at, 0)`

func (f *endFacts) dest() []any {
	return []any{&f.cancel, &f.runCancel, &f.jobStatus, &f.retryCount, &f.retryOn, &f.used, &f.infraUsed, &f.group, &f.started}
}

// endAttempt ends the running attempt c, whose run is locked, as the engine
// decides from its result, the job's retry policy and any cancel request;
// moves the job on (to the queue for its next attempt, or to its end); and
// advances the run. It reports whether the attempt was still running (and
// met e.where): if not, nothing changed.
// It returns the engine's decision.
func (t *txn) endAttempt(ctx context.Context, c candidate, e attemptEnd) (o engine.AttemptOutcome, ended bool, err error) {
	f := e.facts
	if f == nil {
		f = &endFacts{}
		err = t.queryRow(ctx, `SELECT `+endFactsCols+`
			FROM attempts a JOIN jobs j ON j.id = a.job_id JOIN runs r ON r.id = j.run_id WHERE a.id = ?`, c.attemptID).
			Scan(f.dest()...)
		if err != nil {
			return o, false, notFound(err, "attempt", c.attemptID)
		}
	}
	jobStatus, group := f.jobStatus, f.group
	var retry *lathe.Retry
	if f.retryCount > 0 {
		retry = &lathe.Retry{Count: f.retryCount}
		if err := fromJSON(f.retryOn, &retry.On); err != nil {
			return o, false, fmt.Errorf("retry policy of job %d: %w", c.jobID, err)
		}
	}
	o = engine.EndAttempt(engine.AttemptEnd{
		Result: e.result, ByAgent: e.byAgent, CancelRequested: f.cancel != 0 || f.runCancel != 0,
		CountedLoss: e.countedLoss, InfraDefault: e.infraDefault,
		Retry: retry, Retries: f.used, InfraRetries: f.infraUsed,
	})
	now := micros(t.now)
	set, args := `, finished_at = ?`+e.set, append([]any{now}, e.args...)
	if o.Attempt == lathe.StatusLost {
		set, args = set+`, end_reason = ?`, append(args, e.lostReason)
	}
	err = t.setStatusesHow(ctx, e.locked, engine.Attempt, []int64{c.attemptID}, lathe.StatusRunning, o.Attempt,
		e.where, e.whereArgs, set, args...)
	if stale(err) {
		return o, false, nil // finished, renewed, or another sweeper was first
	}
	if err != nil {
		return o, false, err
	}
	end := FinishedAttempt{ID: c.attemptID, Status: o.Attempt, EndReason: e.reason}
	if o.Attempt == lathe.StatusLost {
		end.EndReason = e.lostReason
	}
	if f.started > 0 {
		end.Ran = max(0, t.now.Sub(fromMicros(f.started)))
	}
	t.afterCommit = append(t.afterCommit, func(s *Store) {
		s.attemptChanged(c.attemptID)
		if end.Status == lathe.StatusLost {
			s.attemptStopped(c.attemptID) // its agent may still be running it
		}
		if s.attemptObs.Ended != nil {
			s.attemptObs.Ended(end)
		}
	})
	// Steps it did not finish end with it: lost with a lost attempt,
	// canceled otherwise.
	stepStatus := lathe.StatusCanceled
	if o.Attempt == lathe.StatusLost {
		stepStatus = lathe.StatusLost
	}
	if err := t.write(ctx, `UPDATE steps SET status = ?, finished_at = ? WHERE attempt_id = ? AND finished_at IS NULL`,
		stepStatus, now, c.attemptID); err != nil {
		return o, false, err
	}
	if o.Job == lathe.StatusQueued {
		// The attempt stays as it ended; the job queues again and the next
		// claim makes the next attempt.
		err = t.setStatus(ctx, engine.Job, c.jobID, jobStatus, o.Job, `, queued_at = ?, wait_reason = '',
			retries = retries + ?, infra_retries = infra_retries + ?`, now, boolInt(o.UseRetry), boolInt(o.UseInfraRetry))
	} else {
		// The job was read under its run's lock: a change meanwhile is
		// an error whichever statement reports it.
		err = t.setStatusLater(ctx, engine.Job, c.jobID, jobStatus, o.Job, `, finished_at = ?`, now)
	}
	if err != nil {
		return o, false, err
	}
	t.released(group)
	return o, true, t.advanceRunAfter(ctx, c.runID, c.jobID)
}
