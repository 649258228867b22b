package store

import (
	"context"
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

// loseAttempt ends the running attempt c as lost with reason (if it is
// still running and meets where) and lets the engine decide its job: queued
// again, or ended lost. logWhole says the agent delivered the whole log (a
// hand-back); otherwise the log is marked incomplete. counted says the loss
// uses up one of the job's infrastructure retries (limit, the server's
// default unless the pipeline's retry covers losses). It reports whether the
// attempt was running and whether its job was queued again.
func (t *txn) loseAttempt(ctx context.Context, c candidate, reason string, logWhole, counted bool, limit int,
	where string, whereArgs ...any) (lost, retried bool, err error) {
	complete := `log_complete`
	if !logWhole {
		complete = `0`
	}
	o, lost, err := t.endAttempt(ctx, c, attemptEnd{
		result: lathe.StatusLost, byAgent: logWhole, countedLoss: counted, infraDefault: limit,
		lostReason: reason, set: `, log_complete = ` + complete,
		where: where, whereArgs: whereArgs,
	})
	return lost, o.Job == lathe.StatusQueued, err
}

// handBack ends a running attempt its agent returned unfinished (the agent
// is stopping) and queues its job again without using up a retry (unless a
// cancel was asked for: then it ends canceled).
func (t *txn) handBack(ctx context.Context, c candidate) error {
	_, _, err := t.loseAttempt(ctx, c, ReasonHandedBack, true, false, 0, ``)
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
			ok, _, err := t.loseAttempt(ctx, c, ReasonRestarted, false, false, 0, ``)
			if ok {
				lost++
			}
			return err
		})
		if err != nil {
			return lost, err
		}
	}
	return lost, nil
}
