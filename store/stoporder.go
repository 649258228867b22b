package store

import (
	"context"
	"fmt"

	lathe "github.com/lathe-ci/lathe"
)

// An agent learns that the server wants one of its attempts stopped from
// the answer to its next report, or at once from a wait on the attempt
// (AttemptStop and StopSignal): a step that prints nothing reports only at
// the agent's heartbeat, and a cancel should not wait for it.

// requestCancel asks the agents running the attempts that where selects
// (a condition on attempts a, with args) to stop them, and wakes, once the
// transaction commits, whoever waits on those attempts.
func (t *txn) requestCancel(ctx context.Context, where string, args ...any) error {
	rows, err := t.query(ctx, `UPDATE attempts SET cancel_requested = 1 WHERE id IN (SELECT a.id FROM attempts a WHERE `+where+`) RETURNING id`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(ids) > 0 {
		t.afterCommit = append(t.afterCommit, func(s *Store) {
			for _, id := range ids {
				s.attemptStopped(id)
			}
		})
	}
	return nil
}

// AttemptStop reports whether agentID should stop its attempt: the server
// asked it to (a cancel), or the attempt is over already (lost, or its
// finish stored). An attempt of another agent is forbidden to it.
func (s *Store) AttemptStop(ctx context.Context, agentID, attemptID int64) (bool, error) {
	var owner, cancel int64
	var status lathe.Status
	err := s.queryRow(ctx, `SELECT agent_id, status, cancel_requested FROM attempts WHERE id = ?`, attemptID).Scan(&owner, &status, &cancel)
	if err != nil {
		return false, notFound(err, "attempt", attemptID)
	}
	if owner != agentID {
		return false, forbiddenAttempt(attemptID)
	}
	return cancel != 0 || status.Terminal(), nil
}

// forbiddenAttempt refuses an agent the attempt of another.
func forbiddenAttempt(attemptID int64) error {
	return fmt.Errorf("attempt %d belongs to another agent: %w", attemptID, lathe.ErrForbidden)
}
