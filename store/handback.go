package store

import (
	"context"
	"database/sql"
	"fmt"

	lathe "github.com/lathe-ci/lathe"
)

// Attempts that end without a result of their job's own: lost (their agent
// went quiet, or the server that ran it restarted) or handed back (their
// agent stopped and returned the job). Either way the job runs again as a
// new attempt. Only a loss nobody explained uses up one of the job's
// infrastructure retries: an agent that hands its attempt back, or a server
// that finds its own embedded agents' attempts unfinished at start, knows the
// job did nothing wrong, and a server that stops or crashes N times must not
// end a healthy job lost.

// End reasons (lathe.Attempt.EndReason) of the attempts lost here.
const (
	ReasonLeaseExpired = "lost: its agent stopped reporting"
	ReasonHandedBack   = "handed back: its agent stopped before the job ended; the job runs again"
	ReasonRestarted    = "lost: the server running its agent restarted; the job runs again"
)

// markLost ends the running attempt c as lost with reason, if it is still
// running and cond (over the attempts row, with args) holds. logWhole says
// the agent delivered the whole log (a hand-back); otherwise the log is
// marked incomplete. It reports whether the attempt was running.
func (t *txn) markLost(ctx context.Context, attemptID int64, reason string, logWhole bool, cond string, args ...any) (bool, error) {
	now := micros(t.now)
	complete := `log_complete`
	if !logWhole {
		complete = `0`
	}
	res, err := t.exec(ctx, `UPDATE attempts SET status = ?, finished_at = ?, end_reason = ?, log_complete = `+complete+`
		WHERE id = ? AND status = ? `+cond,
		append([]any{lathe.StatusLost, now, reason, attemptID, lathe.StatusRunning}, args...)...)
	if err != nil {
		return false, fmt.Errorf("lose attempt %d: %w", attemptID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err // finished, renewed, or another sweeper was first
	}
	t.afterCommit = append(t.afterCommit, func(s *Store) { s.attemptChanged(attemptID) })
	_, err = t.exec(ctx, `UPDATE steps SET status = ?, finished_at = ? WHERE attempt_id = ? AND finished_at IS NULL`,
		lathe.StatusLost, now, attemptID)
	return true, err
}

// afterLoss decides the job of a lost attempt: queued again (the next claim
// makes a new attempt) or ended lost, and advances the run. A counted loss
// queues the job only while it has infrastructure retries left (limit, the
// server's default unless the pipeline's `retry` covers lost attempts) and
// uses one up; an uncounted loss always queues it. A job whose cancel was
// asked for is never queued again.
func (t *txn) afterLoss(ctx context.Context, c candidate, counted bool, limit int) (retried bool, err error) {
	var used, cancel int
	err = t.queryRow(ctx, `SELECT j.infra_retries, a.cancel_requested FROM jobs j JOIN attempts a ON a.job_id = j.id WHERE a.id = ?`,
		c.attemptID).Scan(&used, &cancel)
	if err != nil {
		return false, fmt.Errorf("job %d: %w", c.jobID, err)
	}
	if counted {
		if limit, _, err = t.infraRetries(ctx, c.jobID, limit); err != nil {
			return false, err
		}
	}
	to := lathe.StatusLost
	if cancel == 0 && (!counted || used < limit) {
		to = lathe.StatusQueued
	}
	if err := lathe.CheckTransition(fmt.Sprintf("job %d", c.jobID), lathe.StatusRunning, to); err != nil {
		return false, err
	}
	now := micros(t.now)
	if to == lathe.StatusQueued {
		count := 0
		if counted {
			count = 1
		}
		_, err = t.exec(ctx, `UPDATE jobs SET status = ?, infra_retries = infra_retries + ?, queued_at = ?, wait_reason = ''
			WHERE id = ? AND status = ?`, to, count, now, c.jobID, lathe.StatusRunning)
		if err == nil {
			err = t.queuedWhere(ctx, `id = ?`, c.jobID)
		}
	} else {
		var group string
		err = t.queryRow(ctx, `UPDATE jobs SET status = ?, finished_at = ? WHERE id = ? AND status = ? RETURNING concurrency_group`,
			to, now, c.jobID, lathe.StatusRunning).Scan(&group)
		if err == sql.ErrNoRows {
			err = nil // not running: nothing to end
		}
		t.released(group)
	}
	if err != nil {
		return false, fmt.Errorf("job %d after a lost attempt: %w", c.jobID, err)
	}
	return to == lathe.StatusQueued, t.advanceRun(ctx, c.runID)
}

// handBack ends a running attempt its agent returned unfinished (the agent
// is stopping) and queues its job again without using up a retry.
func (t *txn) handBack(ctx context.Context, c candidate) error {
	if ok, err := t.markLost(ctx, c.attemptID, ReasonHandedBack, true, ``); err != nil || !ok {
		return err
	}
	_, err := t.afterLoss(ctx, c, false, 0)
	return err
}

// LoseAttemptsOfAgent ends as lost every attempt the agent named name still
// runs and queues their jobs again without using up a retry. A server calls
// it at start for each of its embedded agents: they died with the server's
// last life, so their attempts cannot be running, and waiting for their
// leases to expire would only delay the jobs. It returns how many it lost.
func (s *Store) LoseAttemptsOfAgent(ctx context.Context, name string) (int, error) {
	rows, err := s.query(ctx, `SELECT a.id, a.job_id, j.run_id FROM attempts a JOIN jobs j ON j.id = a.job_id
		JOIN agents g ON g.id = a.agent_id WHERE g.name = ? AND a.status = ? ORDER BY a.id`, name, lathe.StatusRunning)
	if err != nil {
		return 0, fmt.Errorf("attempts of agent %q: %w", name, err)
	}
	var running []candidate
	for rows.Next() {
		var c candidate
		if err := rows.Scan(&c.attemptID, &c.jobID, &c.runID); err != nil {
			rows.Close()
			return 0, fmt.Errorf("attempts of agent %q: %w", name, err)
		}
		running = append(running, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("attempts of agent %q: %w", name, err)
	}
	lost := 0
	for _, c := range running {
		err := s.tx(ctx, func(t *txn) error {
			if err := t.lockRun(ctx, c.runID); err != nil {
				return err
			}
			ok, err := t.markLost(ctx, c.attemptID, ReasonRestarted, false, ``)
			if err != nil || !ok {
				return err
			}
			lost++
			_, err = t.afterLoss(ctx, c, false, 0)
			return err
		})
		if err != nil {
			return lost, err
		}
	}
	return lost, nil
}
