package engine

import lathe "github.com/lathe-ci/lathe"

// AttemptEnd is what the engine needs to know when an attempt of a job ends.
type AttemptEnd struct {
	// Result is how the attempt ended: the agent's final status, timed_out
	// from the sweeper, or lost (expired lease, hand-back, server restart).
	Result lathe.Status
	// CancelRequested: someone asked to cancel the attempt or its run.
	CancelRequested bool
	// ByAgent: the attempt's agent reported this end (a finish or a
	// hand-back); otherwise the server observed it (lease expiry, restart,
	// timeout).
	ByAgent bool
	// CountedLoss: a loss nobody explained (an expired lease). A hand-back
	// or a server restart does not use up an infrastructure retry.
	CountedLoss bool
	// Retry is the job's retry policy (nil: none); Retries and InfraRetries
	// are how many retries of failures/timeouts and of losses it used.
	Retry                 *lathe.Retry
	Retries, InfraRetries int
	// InfraDefault is the server's number of retries after a loss when the
	// job's policy does not cover losses.
	InfraDefault int
}

// AttemptOutcome is what follows from an attempt's end.
type AttemptOutcome struct {
	// Attempt is the attempt's final status.
	Attempt lathe.Status
	// Job is the job's next status: queued for another attempt, or final.
	Job lathe.Status
	// UseRetry and UseInfraRetry say which retry budget the next attempt uses.
	UseRetry, UseInfraRetry bool
}

// EndAttempt decides an attempt's final status and its job's next one. A
// cancel turns any end its agent reports but success into canceled (the
// agent stopped because it was asked to). A failure or timeout is
// retried while the job's policy covers it and has retries left; a loss is
// retried while infrastructure retries are left (always, when the loss is
// not counted). Nothing is retried once a cancel was asked for.
func EndAttempt(e AttemptEnd) AttemptOutcome {
	o := AttemptOutcome{Attempt: e.Result, Job: e.Result}
	switch {
	case e.ByAgent && e.CancelRequested && e.Result != lathe.StatusSuccess:
		o.Attempt, o.Job = lathe.StatusCanceled, lathe.StatusCanceled
	case e.Result == lathe.StatusLost:
		limit := e.InfraDefault
		if e.Retry.Covers(lathe.StatusLost) {
			limit = e.Retry.Count
		}
		if !e.CancelRequested && (!e.CountedLoss || e.InfraRetries < limit) {
			o.Job, o.UseInfraRetry = lathe.StatusQueued, e.CountedLoss
		}
	case e.CancelRequested:
	case (e.Result == lathe.StatusFailed || e.Result == lathe.StatusTimedOut) &&
		e.Retry.Covers(e.Result) && e.Retries < e.Retry.Count:
		o.Job, o.UseRetry = lathe.StatusQueued, true
	}
	return o
}

// TimedOut reports whether an attempt that started at startedAt (unix
// microseconds) has run past its job's timeout (seconds; 0 is none) plus a
// grace (microseconds) at now.
func TimedOut(startedAt, timeoutSec, grace, now int64) bool {
	return timeoutSec > 0 && startedAt+timeoutSec*1_000_000+grace < now
}
