package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	lathe "github.com/lathe-ci/lathe"
)

// Schedules: the cron triggers of a project's pipelines, as read from its
// default branch's files at the commit its branch row names
// (schedules_commit). The schedule loop reads them again only when that
// branch's head moves; firing works from this table alone. A replica
// claims a firing by moving next_at on with a conditional update, so
// several replicas never fire one twice.

// FoundSchedule is a cron trigger read from a pipeline file: the table's
// key, and the time it fires next should it be new.
type FoundSchedule struct {
	Pipeline, Cron, Branch string
	Next                   time.Time
}

// BranchToRead is a branch whose pipelines the schedule loop reads again:
// its head moved since its schedules were read.
type BranchToRead struct {
	ProjectID int64
	Branch    string
	Commit    string
}

// BranchesToRead lists the default branches whose head commit is not the
// one their schedules were read at.
func (s *Store) BranchesToRead(ctx context.Context) ([]BranchToRead, error) {
	rows, err := s.query(ctx, `SELECT b.project_id, b.name, b.head_commit FROM branches b
		JOIN projects p ON p.id = b.project_id AND p.default_branch = b.name
		WHERE b.schedules_commit <> b.head_commit ORDER BY b.project_id`)
	if err != nil {
		return nil, fmt.Errorf("branches to read: %w", err)
	}
	defer rows.Close()
	var out []BranchToRead
	for rows.Next() {
		var b BranchToRead
		if err := rows.Scan(&b.ProjectID, &b.Branch, &b.Commit); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// SyncSchedules records what the pipelines of a project's branch at commit
// say: schedules no longer declared go, new ones start at their Next (a
// schedule never fires for the past), and the ones already known keep their
// next firing, pause and history. found nil with keep set leaves the
// schedules as they are (the files at commit were broken) and only records
// that commit was read.
func (s *Store) SyncSchedules(ctx context.Context, projectID int64, branch, commit string, found []FoundSchedule, keep bool) error {
	return s.tx(ctx, func(t *txn) error {
		if !keep {
			rows, err := t.query(ctx, `SELECT id, pipeline, cron, branch FROM schedules WHERE project_id = ?`, projectID)
			if err != nil {
				return fmt.Errorf("schedules of project %d: %w", projectID, err)
			}
			declared := map[[3]string]bool{}
			for _, f := range found {
				declared[[3]string{f.Pipeline, f.Cron, f.Branch}] = true
			}
			var gone []int64
			for rows.Next() {
				var id int64
				var k [3]string
				if err := rows.Scan(&id, &k[0], &k[1], &k[2]); err != nil {
					rows.Close()
					return err
				}
				if !declared[k] {
					gone = append(gone, id)
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			for _, id := range gone {
				if _, err := t.exec(ctx, `DELETE FROM schedules WHERE id = ?`, id); err != nil {
					return err
				}
			}
			for _, f := range found {
				if _, err := t.exec(ctx, `INSERT INTO schedules (project_id, pipeline, cron, branch, next_at) VALUES (?, ?, ?, ?, ?)
					ON CONFLICT (project_id, pipeline, cron, branch) DO NOTHING`,
					projectID, f.Pipeline, f.Cron, f.Branch, micros(f.Next)); err != nil {
					return fmt.Errorf("schedule %q of %s: %w", f.Cron, f.Pipeline, err)
				}
			}
		}
		_, err := t.exec(ctx, `UPDATE branches SET schedules_commit = ? WHERE project_id = ? AND name = ?`, commit, projectID, branch)
		return err
	})
}

const scheduleCols = `s.id, s.project_id, p.name, s.pipeline, s.cron, s.branch, s.next_at, s.last_fired_at, s.paused`

func scanSchedule(row interface{ Scan(...any) error }) (*lathe.Schedule, error) {
	var sc lathe.Schedule
	var next int64
	var fired sql.NullInt64
	var paused int
	if err := row.Scan(&sc.ID, &sc.ProjectID, &sc.Project, &sc.Pipeline, &sc.Cron, &sc.Branch, &next, &fired, &paused); err != nil {
		return nil, err
	}
	sc.NextAt, sc.LastFiredAt, sc.Paused = fromMicros(next), fromNullMicros(fired), paused != 0
	return &sc, nil
}

func (s *Store) schedules(ctx context.Context, where string, args ...any) ([]*lathe.Schedule, error) {
	rows, err := s.query(ctx, `SELECT `+scheduleCols+` FROM schedules s JOIN projects p ON p.id = s.project_id WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("schedules: %w", err)
	}
	defer rows.Close()
	out := []*lathe.Schedule{}
	for rows.Next() {
		sc, err := scanSchedule(rows)
		if err != nil {
			return nil, fmt.Errorf("schedules: %w", err)
		}
		out = append(out, sc)
	}
	return out, rows.Err()
}

// Schedules lists a project's schedules by pipeline, branch and cron line.
func (s *Store) Schedules(ctx context.Context, projectID int64) ([]*lathe.Schedule, error) {
	return s.schedules(ctx, `s.project_id = ? ORDER BY s.pipeline, s.branch, s.cron`, projectID)
}

// DueSchedules lists up to limit schedules, of every project, that are not
// paused and due at now, the most overdue first.
func (s *Store) DueSchedules(ctx context.Context, now time.Time, limit int) ([]*lathe.Schedule, error) {
	return s.schedules(ctx, `s.paused = 0 AND s.next_at <= ? ORDER BY s.next_at, s.id LIMIT ?`, micros(now), limit)
}

// ClaimSchedule moves a due schedule's next firing from at (as the caller
// read it) to next and records that it fired, and reports whether this
// caller did so: of several callers, one fires it. A schedule paused or
// already moved on is not claimed.
func (s *Store) ClaimSchedule(ctx context.Context, id int64, at, next time.Time) (bool, error) {
	var claimed bool
	err := s.tx(ctx, func(t *txn) error {
		res, err := t.exec(ctx, `UPDATE schedules SET next_at = ?, last_fired_at = ? WHERE id = ? AND next_at = ? AND paused = 0`,
			micros(next), micros(t.now), id, micros(at))
		if err != nil {
			return fmt.Errorf("claim schedule %d: %w", id, err)
		}
		n, err := res.RowsAffected()
		claimed = n == 1
		return err
	})
	return claimed, err
}

// SetSchedulePaused pauses or resumes a project's schedule and returns it.
// A resumed schedule fires next at next(its cron line, now): never for
// the firings it missed while paused.
func (s *Store) SetSchedulePaused(ctx context.Context, projectID, id int64, paused bool,
	next func(cron string, now time.Time) (time.Time, error)) (*lathe.Schedule, error) {
	err := s.tx(ctx, func(t *txn) error {
		var cron string
		if err := t.queryRow(ctx, `SELECT cron FROM schedules WHERE id = ? AND project_id = ?`, id, projectID).Scan(&cron); err != nil {
			return notFound(err, "schedule", id)
		}
		if paused {
			_, err := t.exec(ctx, `UPDATE schedules SET paused = 1 WHERE id = ?`, id)
			return err
		}
		at, err := next(cron, t.now)
		if err != nil {
			return err
		}
		_, err = t.exec(ctx, `UPDATE schedules SET paused = 0, next_at = ? WHERE id = ? AND paused = 1`, micros(at), id)
		return err
	})
	if err != nil {
		return nil, err
	}
	out, err := s.schedules(ctx, `s.id = ?`, id)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("schedule %d: %w", id, lathe.ErrNotFound)
	}
	return out[0], nil
}

// BranchHead is a tracked branch's head as last seen ("" when the branch
// is not tracked).
func (s *Store) BranchHead(ctx context.Context, projectID int64, branch string) (string, error) {
	var head string
	err := s.queryRow(ctx, `SELECT head_commit FROM branches WHERE project_id = ? AND name = ?`, projectID, branch).Scan(&head)
	if err == sql.ErrNoRows {
		return "", nil
	}
	return head, err
}
