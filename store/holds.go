package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	lathe "github.com/lathe-ci/lathe"
)

// Holds (autohold). A hold catches the failures its agents report: when an
// attempt of the hold's job finishes failed or timed_out, in the transaction
// that records the result, the oldest matching hold with a count left loses
// one, and the attempt is recorded as held with its workspace path and expiry.
// The answer to the finish tells the agent to keep the workspace until then.
// An attempt the server ends without its agent (lost, or timed out by the
// sweeper) has no agent to keep anything, so it is never held.

// MaxHoldDuration bounds how long a hold keeps a workspace.
const MaxHoldDuration = 7 * 24 * time.Hour

// CreateHold stores a hold request of the project; it fills h's ID and creation time.
func (s *Store) CreateHold(ctx context.Context, projectID int64, h *lathe.Hold) error {
	if h.Count < 1 || h.DurationSec < 1 || time.Duration(h.DurationSec)*time.Second > MaxHoldDuration {
		return fmt.Errorf("hold: count must be at least 1 and duration between 1s and %s: %w", MaxHoldDuration, lathe.ErrInvalid)
	}
	return s.tx(ctx, func(t *txn) error {
		h.CreatedAt = t.now
		err := t.queryRow(ctx, `INSERT INTO holds (project_id, pipeline, job, remaining, duration_sec, reason, created_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			projectID, h.Pipeline, h.Job, h.Count, h.DurationSec, h.Reason, h.CreatedBy, micros(t.now)).Scan(&h.ID)
		if err != nil {
			return fmt.Errorf("create hold: %w", err)
		}
		if h.Held == nil {
			h.Held = []lathe.HeldAttempt{}
		}
		return nil
	})
}

// Holds lists a project's holds, newest first, with the attempts each caught.
func (s *Store) Holds(ctx context.Context, projectID int64) ([]*lathe.Hold, error) {
	return s.holds(ctx, `h.project_id = ?`, projectID)
}

// Hold returns one hold of a project.
func (s *Store) Hold(ctx context.Context, projectID, id int64) (*lathe.Hold, error) {
	hs, err := s.holds(ctx, `h.project_id = ? AND h.id = ?`, projectID, id)
	if err != nil {
		return nil, err
	}
	if len(hs) == 0 {
		return nil, fmt.Errorf("hold %d: %w", id, lathe.ErrNotFound)
	}
	return hs[0], nil
}

// DeleteHold removes a hold: it catches nothing more. Workspaces it already
// kept stay on their agents until they expire, and their attempts still say so.
func (s *Store) DeleteHold(ctx context.Context, projectID, id int64) error {
	return s.tx(ctx, func(t *txn) error {
		res, err := t.exec(ctx, `DELETE FROM holds WHERE project_id = ? AND id = ?`, projectID, id)
		if err != nil {
			return fmt.Errorf("delete hold %d: %w", id, err)
		}
		return mustAffect(res, "hold", id)
	})
}

func (s *Store) holds(ctx context.Context, cond string, args ...any) ([]*lathe.Hold, error) {
	rows, err := s.query(ctx, `SELECT h.id, p.name, h.pipeline, h.job, h.remaining, h.duration_sec, h.reason, h.created_by, h.created_at
		FROM holds h JOIN projects p ON p.id = h.project_id WHERE `+cond+` ORDER BY h.id DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("list holds: %w", err)
	}
	out := []*lathe.Hold{}
	byID := map[int64]*lathe.Hold{}
	for rows.Next() {
		h := &lathe.Hold{Held: []lathe.HeldAttempt{}}
		var created int64
		if err := rows.Scan(&h.ID, &h.Project, &h.Pipeline, &h.Job, &h.Count, &h.DurationSec, &h.Reason, &h.CreatedBy, &created); err != nil {
			rows.Close()
			return nil, fmt.Errorf("list holds: %w", err)
		}
		h.CreatedAt = fromMicros(created)
		out = append(out, h)
		byID[h.ID] = h
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(out) == 0 {
		return out, err
	}
	ids := make([]any, 0, len(out))
	for _, h := range out {
		ids = append(ids, h.ID)
	}
	arows, err := s.query(ctx, `SELECT x.hold_id, x.attempt_id, a.job_id, j.run_id, a.status, g.name, x.path, x.held_at, x.expires_at
		FROM held_attempts x JOIN attempts a ON a.id = x.attempt_id JOIN jobs j ON j.id = a.job_id JOIN agents g ON g.id = a.agent_id
		WHERE x.hold_id IN (`+placeholders(len(ids))+`) ORDER BY x.attempt_id`, ids...)
	if err != nil {
		return nil, fmt.Errorf("held attempts: %w", err)
	}
	defer arows.Close()
	for arows.Next() {
		var holdID, heldAt, expires int64
		var x lathe.HeldAttempt
		if err := arows.Scan(&holdID, &x.AttemptID, &x.JobID, &x.RunID, &x.Status, &x.Agent, &x.Path, &heldAt, &expires); err != nil {
			return nil, fmt.Errorf("held attempts: %w", err)
		}
		x.HeldAt, x.ExpiresAt = fromMicros(heldAt), fromMicros(expires)
		byID[holdID].Held = append(byID[holdID].Held, x)
	}
	return out, arows.Err()
}

// maxHoldTries bounds the holds one failure tries: each lost try means a
// concurrent failure spent that hold's last count.
const maxHoldTries = 5

// catchHold offers a failed attempt, finishing in this transaction, to the
// holds of its job. When one takes it, it records where the workspace is and
// returns until when the agent keeps it; nil when no hold wants it.
func (t *txn) catchHold(ctx context.Context, attemptID, jobID int64, workspace string) (*time.Time, error) {
	var projectID int64
	var pipeline, job string
	err := t.queryRow(ctx, `SELECT r.project_id, r.pipeline, j.name FROM jobs j JOIN runs r ON r.id = j.run_id WHERE j.id = ?`, jobID).
		Scan(&projectID, &pipeline, &job)
	if err != nil {
		return nil, notFound(err, "job", jobID)
	}
	for range maxHoldTries {
		var holdID, durationSec int64
		err := t.queryRow(ctx, `SELECT id, duration_sec FROM holds WHERE project_id = ? AND pipeline = ? AND job = ? AND remaining > 0
			ORDER BY id LIMIT 1`, projectID, pipeline, job).Scan(&holdID, &durationSec)
		if err == sql.ErrNoRows {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("holds of job %d: %w", jobID, err)
		}
		// The count goes down under the hold's row lock, re-checked, so two
		// failures at once never both take a hold's last count.
		res, err := t.exec(ctx, `UPDATE holds SET remaining = remaining - 1 WHERE id = ? AND remaining > 0`, holdID)
		if err != nil {
			return nil, fmt.Errorf("take hold %d: %w", holdID, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return nil, err
		} else if n == 0 {
			continue
		}
		until := t.now.Add(time.Duration(durationSec) * time.Second)
		if _, err := t.exec(ctx, `INSERT INTO held_attempts (attempt_id, hold_id, path, held_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
			attemptID, holdID, workspace, micros(t.now), micros(until)); err != nil {
			return nil, fmt.Errorf("hold attempt %d: %w", attemptID, err)
		}
		return &until, nil
	}
	return nil, nil
}

// heldUntil returns until when the attempt's workspace is kept, or nil.
func heldUntil(ctx context.Context, q querier, attemptID int64) (*time.Time, error) {
	var until int64
	err := q.queryRow(ctx, `SELECT expires_at FROM held_attempts WHERE attempt_id = ?`, attemptID).Scan(&until)
	if err == sql.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("hold of attempt %d: %w", attemptID, err)
	}
	t := fromMicros(until)
	return &t, nil
}
