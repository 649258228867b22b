package store

import (
	"context"
	"fmt"

	lathe "github.com/lathe-ci/lathe"
)

// JobFilter selects jobs across runs (GET /api/v1/jobs).
type JobFilter struct {
	ProjectID int64
	Status    lathe.Status
	Before    int64
	Limit     int
	// Viewer limits the list to jobs of projects it may read (nil: all).
	Viewer *Viewer
}

// withExtra scans a job row's columns and then extra ones.
type withExtra struct {
	row   interface{ Scan(...any) error }
	extra []any
}

func (w withExtra) Scan(dest ...any) error { return w.row.Scan(append(dest, w.extra...)...) }

// JobList lists jobs newest first, with their runs' project, pipeline and
// number (Zuul's pending node requests: ?status=queued, each with why it
// waits). Attempts are not loaded.
func (s *Store) JobList(ctx context.Context, f JobFilter) (lathe.Page[*lathe.JobEntry], error) {
	if f.Limit < 1 {
		return lathe.Page[*lathe.JobEntry]{}, fmt.Errorf("list jobs: limit %d: %w", f.Limit, lathe.ErrInvalid)
	}
	var where []string
	var args []any
	add := func(cond string, arg any) { where, args = append(where, cond), append(args, arg) }
	if f.ProjectID != 0 {
		add("r.project_id = ?", f.ProjectID)
	}
	if f.Status != "" {
		add("j.status = ?", string(f.Status))
	}
	if f.Before > 0 {
		add("j.id < ?", f.Before)
	}
	if cond, a := f.Viewer.readable("r.project_id"); cond != "" {
		where, args = append(where, cond), append(args, a...)
	}
	q := `SELECT ` + jobCols + `, p.name, r.pipeline, COALESCE(r.branch_number, r.number) FROM jobs j
		JOIN stages s ON s.id = j.stage_id JOIN runs r ON r.id = j.run_id JOIN projects p ON p.id = r.project_id` +
		whereClause(where) + ` ORDER BY j.id DESC LIMIT ?`
	rows, err := s.query(ctx, q, append(args, f.Limit+1)...)
	if err != nil {
		return lathe.Page[*lathe.JobEntry]{}, fmt.Errorf("list jobs: %w", err)
	}
	defer rows.Close()
	items := []*lathe.JobEntry{}
	for rows.Next() {
		e := &lathe.JobEntry{}
		j, err := scanJob(withExtra{rows, []any{&e.Project, &e.Pipeline, &e.RunNumber}})
		if err != nil {
			return lathe.Page[*lathe.JobEntry]{}, fmt.Errorf("list jobs: %w", err)
		}
		e.Job = j
		items = append(items, e)
	}
	if err := rows.Err(); err != nil {
		return lathe.Page[*lathe.JobEntry]{}, fmt.Errorf("list jobs: %w", err)
	}
	return page(items, f.Limit, func(e *lathe.JobEntry) int64 { return e.ID }), nil
}
